"""The risk feature (风险防控): collect, assess, warn, review — on a scheduler.

``build`` only constructs the service (no I/O: the tables are created on first use), so
every ``qtrace`` command and every test that builds services pays nothing for it.  The
risk overview (风险总览) is the console's front page.  The alert-email pages and API are
always registered; email itself is off until ``[risk.email] enabled`` (alerts/README.md).
"""

from __future__ import annotations

from alerts.cli import commands
from alerts.config import RiskSettings
from alerts.notify.web import email_bp, email_openapi_paths
from alerts.scheduler import risk_jobs
from alerts.service import RiskService
from alerts.web import bp, openapi_paths, overview_page
from traceability.features import Feature, NavItem
from traceability.services import Services


def build(services: Services) -> RiskService:
    settings = services.settings.section("risk", RiskSettings)
    return RiskService(
        settings, services.settings.embedded_db_path, services.store, services.settings.data_dir
    )


feature = Feature(
    name="risk",
    title="风险预警",
    settings=RiskSettings,
    build=build,
    commands=commands,
    blueprints=lambda: [bp, email_bp],
    openapi_paths=lambda: {**openapi_paths(), **email_openapi_paths()},
    nav=(NavItem("/risks", "风险总览", 5),),
    jobs=risk_jobs,
    home=overview_page,
)
