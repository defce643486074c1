"""The statistics feature (统计监测体系): monthly statistics, the composite index, releases.

``build`` only records the settings: the method file and the ``stats_`` tables are opened on
first use, so building services on a fresh data directory never fails or writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from traceability.features import Feature, NavItem
from traceability.services import Services
from traceability.stats.cli import stats_group
from traceability.stats.config import StatsSettings
from traceability.stats.public import public_blueprints
from traceability.stats.service import StatsService
from traceability.stats.web import bp, openapi_paths


def build(services: Services) -> StatsService:
    options = services.settings.section("statistics", StatsSettings)
    return StatsService(services.settings, options, services.store)


@dataclass
class ComputeJob:
    """The scheduled incremental compute (``qtrace worker``, leader only)."""

    service: Any
    seconds: float
    id: str = "stats.compute"

    def run(self) -> Any:
        return self.service.compute()


def _jobs(services: Services) -> list[ComputeJob]:
    service = services.feature("statistics")
    return [ComputeJob(service, service.options.compute_seconds)]


feature = Feature(
    name="statistics",
    title="统计监测",
    settings=StatsSettings,
    build=build,
    commands=lambda: [stats_group],
    blueprints=lambda: [bp, *public_blueprints()],
    openapi_paths=openapi_paths,
    nav=(NavItem("/stats", "统计监测", 45),),
    jobs=_jobs,
)
