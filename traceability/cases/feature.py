"""The cases feature (案件): risk cases that public security opens, works, searches, exports.

``build`` only constructs the service: the tables are created on first use, so building
services does no I/O.  The overdue-task escalation runs as a worker job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from traceability.cases.cli import commands
from traceability.cases.service import CaseService
from traceability.cases.settings import CasesSettings
from traceability.cases.web import bp, openapi_paths
from traceability.features import Feature, Job, NavItem
from traceability.services import Services


def build(services: Services) -> CaseService:
    return CaseService(services.settings.section("cases", CasesSettings), services)


@dataclass(frozen=True)
class EscalationJob:
    service: CaseService
    id: str = "cases.escalate"

    @property
    def seconds(self) -> float:
        return self.service.settings.escalation_minutes * 60

    def run(self) -> Any:
        return self.service.escalate()


def jobs(services: Services) -> Iterable[Job]:
    return [EscalationJob(services.feature("cases"))]


feature = Feature(
    name="cases",
    title="案件",
    settings=CasesSettings,
    build=build,
    commands=commands,
    blueprints=lambda: [bp],
    openapi_paths=openapi_paths,
    nav=(NavItem("/cases", "案件", 7), NavItem("/cases/network", "关系网络查案", 8)),
    jobs=jobs,
)
