"""An overdue task is escalated once, by one email that a real SMTP server receives."""

from __future__ import annotations

import datetime as dt
import email
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from config.settings import load_settings
from tests.test_cases_support import case_features
from traceability.cases.access import Viewer
from traceability.services import Services, build_services

pytestmark = pytest.mark.integration  # a real SMTP server (aiosmtpd on loopback)


class Sink:
    """An SMTP server on loopback that keeps every message it accepts."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.received: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 2.0.0 OK queued"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raw = [data for _, data in self.received]
        return [email.message_from_bytes(r, policy=default) for r in raw]  # type: ignore[misc]


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[dict[str, Any]]:
    server = Sink()
    server.controller.start()
    config = tmp_path / "qtrace.toml"
    config.write_text(
        f'[risk.email]\nenabled = true\nhost = "127.0.0.1"\nport = {server.port}\n'
        "timeout_seconds = 5\n",
        encoding="utf-8",
    )
    settings = load_settings(config, environ={"QTRACE_DATA_DIR": str(tmp_path / "data")})
    services: Services = build_services(settings, features=case_features())
    try:
        yield {"server": server, "services": services}
    finally:
        services.close()
        server.controller.stop()


def test_an_overdue_task_sends_exactly_one_escalation_email(mail) -> None:
    services, server = mail["services"], mail["server"]
    cases = services.feature("cases")
    risk = services.feature("risk")
    officer = Viewer("zhang", "public_security", "police")
    case = cases.open(officer, {"title": "逾期升级邮件测试", "lead_unit": "police"})
    due = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    cases.add_task(officer, case["ref"], {"title": "调取物流轨迹", "owner": "samr", "due": due})
    assert cases.escalate() == {"escalated": 1, "emails": 1}
    assert cases.escalate() == {"escalated": 0, "emails": 0}  # once per task
    risk.send_pending()
    risk.send_pending()  # draining again sends nothing twice
    messages = server.messages()
    assert len(messages) == 1
    message = messages[0]
    assert "案件任务逾期" in str(message["Subject"]) and case["ref"] in str(message["Subject"])
    recipients = set(server.received[0][0])
    units = risk.units()
    assert recipients == set(units["samr"].email) | set(units["police"].email)
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "调取物流轨迹" in body
    shown = cases.show(officer, case["ref"])
    assert shown["tasks"][0]["escalated_at"]


def test_a_unit_mentioned_in_a_comment_is_emailed(mail) -> None:
    services, server = mail["services"], mail["server"]
    cases = services.feature("cases")
    officer = Viewer("zhang", "public_security", "police")
    case = cases.open(officer, {"title": "提及通知测试", "lead_unit": "police"})
    comment = cases.comment(officer, case["ref"], "请 @samr 协助核查该批次")
    assert comment["mentions"] == [{"name": "samr", "kind": "unit"}]
    services.feature("risk").send_pending()
    (message,) = server.messages()
    assert "案件意见提及" in str(message["Subject"])
    assert set(server.received[0][0]) == set(services.feature("risk").units()["samr"].email)
    assert [n["email"] for n in cases.notifications("samr")] == ["queued"]
