"""Helpers for the case tests: a generated world with accounts, risk and the case feature.

(No tests here: the tests are in the other ``tests/test_cases_*.py`` files.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Flask

from tests.test_security_support import add_user, bearer, make_settings
from traceability.app.web import create_app
from traceability.cases.feature import feature as cases_feature
from traceability.cases.service import CaseService
from traceability.demo.generator.files import write_world
from traceability.features import Feature, installed_features
from traceability.formats.ceb.xml import read_message
from traceability.ingest.ingestor import collect_files
from traceability.services import Services, build_services

SEED = 20261129
ROLES = ("public_security", "regulator", "unit", "auditor", "admin", "submitter")


def case_features() -> tuple[Feature, ...]:
    """The installed features with this one, once (before and after the entry point is
    registered in pyproject.toml)."""
    return (*(f for f in installed_features() if f.name != "cases"), cases_feature)


class Site:
    def __init__(self, root: Path, orders: int = 60, **accounts: Any) -> None:
        self.root = root
        self.manifest = write_world(orders, SEED, root / "world")
        settings = make_settings(root, **accounts)
        self.services = build_services(settings, features=case_features())
        self.app = create_app(settings, self.services)
        self.app.testing = True
        report = self.services.ingestor().ingest_paths(collect_files([root / "world"]))
        assert report.ok
        (latest,) = self.services.ledger.db.execute(
            "SELECT max(time) FROM compliance_documents WHERE kind = 'order'"
        ).fetchone()
        self.as_of = dt.datetime.fromisoformat(latest) + dt.timedelta(days=1)
        self.risk.run("all", as_of=self.as_of)
        units = {
            "public_security": "police",
            "unit": "samr",
            "regulator": "fraud",
            "submitter": "91410000000000001X",
        }
        for role in ROLES:
            add_user(self.services, role, role, units.get(role))
        self.tokens = {role: bearer(self.services, role) for role in ROLES}

    @property
    def risk(self) -> Any:
        return self.services.feature("risk")

    @property
    def cases(self) -> CaseService:
        service: CaseService = self.services.feature("cases")
        return service

    @property
    def flask(self) -> Flask:
        return self.app

    def call(self, role: str, method: str, path: str, **kwargs: Any) -> Any:
        client = self.app.test_client()
        return client.open(path, method=method, headers=self.tokens[role], **kwargs)

    def order_head(self, order_key: str) -> dict[str, str]:
        """The CEB311 head of an order (the cleartext the archive keeps)."""
        ebp, no = order_key.split(":", 1)
        for path in sorted((self.root / "world" / "ceb" / "CEB311").glob("*.xml")):
            for record in read_message(path.read_bytes()).records:
                if record.head.get("ebpCode") == ebp and record.head.get("orderNo") == no:
                    return dict(record.head)
        raise LookupError(order_key)

    def audit(self, action: str) -> list[dict[str, Any]]:
        store = self.services.feature("accounts").store
        return [e for e in store.audit_entries(10_000) if e["action"] == action]

    def close(self) -> None:
        self.services.close()


def services_of(site: Site) -> Services:
    return site.services
