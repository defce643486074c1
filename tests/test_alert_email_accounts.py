"""The alert-email endpoints with sign-in required, under the permission entries proposed
for ``traceability/accounts/permissions.py`` (``PROPOSED`` below, set for the test only):
the acknowledgement link is public (its signed token is the capability), the rest needs
a role."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.service import RiskService
from tests.test_alert_email_support import SMTPServer, add_risk, write_config
from tests.test_security_support import add_user, bearer, with_accounts
from traceability.accounts import permissions
from traceability.app.web import create_app
from traceability.services import build_services

READERS = permissions.READERS
DECIDERS = permissions.DECIDERS
PROPOSED = {
    "alert_email.email_history": READERS,
    "alert_email.list_silences": READERS,
    "alert_email.add_silence": DECIDERS,
    "alert_email.expire_silence": DECIDERS,
    "alert_email.alert_page": READERS,
    "alert_email.email_page": READERS,
    "alert_email.email_body": READERS,
    "alert_email.ack_link_page": permissions.PUBLIC,
    "alert_email.ack_link_confirm": permissions.PUBLIC,
}


def test_the_ack_link_is_public_and_everything_else_needs_a_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for endpoint, roles in PROPOSED.items():
        monkeypatch.setitem(permissions.PERMISSIONS, endpoint, roles)  # type: ignore[arg-type]
    smtp = SMTPServer()
    smtp.start()
    config = write_config(tmp_path, smtp.port)
    config.write_text(config.read_text() + "\n[accounts]\nrequired = true\n", encoding="utf-8")
    from config.settings import load_settings

    settings = load_settings(config, environ={"QTRACE_DATA_DIR": str(tmp_path / "data")})
    services = build_services(settings, features=with_accounts())
    try:
        app = create_app(settings, services)
        app.testing = True
        service: RiskService = services.feature("risk")
        add_risk(service, "acct")
        service.warn()
        token = service.notifier.ack_token(1)
        http = app.test_client()
        page = http.get(f"/alerts/ack/{token}")  # anonymous: the recipient of the email
        assert page.status_code == 200 and "确认签收" in page.get_data(as_text=True)
        assert http.get("/alerts/emails").status_code in (303, 401)
        assert http.get("/api/v1/alert-emails").status_code == 401
        done = http.post(f"/alerts/ack/{token}", json={})
        assert done.status_code == 200 and done.get_json()["status"] == "acknowledged"
        add_user(services, "reader", "auditor")
        auth = bearer(services, "reader")
        assert http.get("/api/v1/alert-emails", headers=auth).status_code == 200
        refused = http.post("/api/v1/silences", json={"matchers": {"rule": "x"}}, headers=auth)
        assert refused.status_code == 403
    finally:
        services.close()
        smtp.stop()
