"""The statistics feature (统计监测体系): monthly statistics, the composite index, releases.

``build`` only records the settings: the method file and the ``stats_`` tables are opened on
first use, so building services on a fresh data directory never fails or writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from traceability.features import Feature, NavItem
from traceability.services import Services
from traceability.stats.config import StatsSettings


def build(services: Services) -> object:
    from traceability.stats.service import StatsService

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


def _commands() -> list[object]:
    from traceability.stats.cli import stats_group

    return [stats_group]


def _blueprints() -> list[object]:
    from traceability.stats.web import bp

    return [bp]


def _openapi() -> dict[str, object]:
    from traceability.stats.web import openapi_paths

    return openapi_paths()


feature = Feature(
    name="statistics",
    title="统计监测",
    settings=StatsSettings,
    build=build,
    commands=_commands,  # type: ignore[arg-type]
    blueprints=_blueprints,  # type: ignore[arg-type]
    openapi_paths=_openapi,
    nav=(NavItem("/stats", "统计监测", 45),),
    jobs=_jobs,
)
