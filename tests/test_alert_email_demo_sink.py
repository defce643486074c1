"""The demo's local SMTP sink: the service really sends to it, and the mail can be read."""

from __future__ import annotations

from pathlib import Path

from alerts.service import RiskService
from tests.test_alert_email_support import PRODUCT, add_risk, open_services
from traceability.app.web import create_app
from traceability.demo.mailsink import start_for_demo


def test_the_demo_sink_receives_what_the_service_sends(tmp_path: Path) -> None:
    config = tmp_path / "qtrace.toml"
    config.write_text('[risk.email]\nenabled = false\ndigest_at = ""\n', encoding="utf-8")
    services = open_services(tmp_path, config)
    sink = start_for_demo(services, "http://127.0.0.1:8000")
    try:
        service: RiskService = services.feature("risk")
        assert service.settings.email.enabled and service.settings.email.port == sink.port
        add_risk(service, "demo")
        service.warn()
        assert service.notify() == {"new": 3}
        assert service.send_pending()["sent"] == 3
        received = sink.messages()
        assert len(received) == 3 and all(PRODUCT in m["subject"] for m in received)
        assert (tmp_path / "data" / "mailsink").is_dir()
        app = create_app(services=services)  # the email pages appear once email is on
        page = app.test_client().get("/alerts/emails").get_data(as_text=True)
        assert PRODUCT in page and "samr@units.qtrace.example" in page
    finally:
        sink.stop()
        services.close()
