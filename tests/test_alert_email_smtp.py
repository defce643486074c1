"""Alert emails through a real SMTP server (aiosmtpd on loopback), never a mock.

Content, headers and encoding survive a real MIME parser; grouping, dedupe, repeat and
silences run on a controllable clock; acknowledgement links; escalation; the sender's
retries (server down, 4xx, 5xx, a hanging server) and a real ``kill -9`` between the
server's 250 and the commit.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from alerts.notify import outbox
from alerts.service import RiskService
from tests.test_alert_email_support import (
    LOT,
    PRODUCT,
    SMTPServer,
    add_risk,
    later,
    open_services,
    write_config,
)
from traceability.app.cli import main
from traceability.app.web import create_app
from traceability.services import Services

ROOT = Path(__file__).resolve().parent.parent
QUALITY_UNITS = {"samr@units.qtrace.example", "commerce@units.qtrace.example",
                 "miit@units.qtrace.example"}  # fmt: skip


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def world(tmp_path: Path, smtp: SMTPServer) -> Iterator[tuple[Services, RiskService]]:
    services = open_services(tmp_path, write_config(tmp_path, smtp.port))
    yield services, services.feature("risk")
    services.close()


def send(service: RiskService, at: float = 0.0) -> dict[str, int]:
    return outbox.drain(service.notifier, "test", clock=lambda: time.time() + at)


def body(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content())


# -- content, headers, encoding ------------------------------------------------------------


def test_a_sent_alert_survives_a_real_mime_parser(world, smtp) -> None:
    _services, service = world
    add_risk(service, "k1")
    assert service.warn()["alerts"] == 1
    assert service.notify()["new"] == 3  # lead samr, cooperating commerce and miit
    assert send(service)["sent"] == 3
    messages = smtp.messages()
    assert {str(m["To"]) for m in messages} == QUALITY_UNITS
    raw = smtp.handler.received[0]
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0].lower()  # RFC 2047 encoded headers
    message = messages[0]
    assert str(message["Subject"]) == f"【高风险】质量缺陷 · {PRODUCT} 批号 260406D31"
    assert str(message["Message-ID"]).endswith("@alerts.qtrace.test>")
    sent = email.utils.parsedate_to_datetime(str(message["Date"]))
    assert abs((sent - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    assert message.get_content_type() == "multipart/alternative"
    assert "跨境电商质量安全风险预警" in str(message["From"])
    text, html = body(message), body(message, "html")
    for content in (text, html):
        assert "检出阪崎肠杆菌" in content  # the evidence summary
        assert "市市场监督管理局" in content and "市商务局" in content  # responsibility chain
        assert "立即核查并按通报措施" in content  # the rule's recommended action
        assert "http://console.qtrace.test/alerts/ack/" in content
        assert "http://console.qtrace.test/alerts/1" in content
    assert message.get_body(("plain",))["Content-Type"].params["charset"] == "utf-8"
    # Every attempt is recorded, with the message-id and the SMTP result.
    history = service.notifier.history()
    assert len(history) == 3 and {h["result"] for h in history} == {"ok"}
    assert {h["message_id"] for h in history} == set(smtp.ids())


def test_a_burst_of_500_alerts_is_one_email_per_unit(world, smtp) -> None:
    _, service = world
    for i in range(500):
        add_risk(service, f"burst{i}")
    assert service.warn()["alerts"] == 500
    assert service.notify() == {"new": 3}
    send(service)
    messages = smtp.messages()
    assert len(messages) == 3
    assert "等 500 条预警" in str(messages[0]["Subject"])


# -- grouping timers, the persisted notification log, silences ------------------------------


def test_group_wait_interval_and_repeat_with_a_clock_across_restarts(
    tmp_path: Path, smtp: SMTPServer
) -> None:
    config = write_config(tmp_path, smtp.port, group_wait_seconds=30,
                          group_interval_seconds=300, repeat_interval_seconds=3600)  # fmt: skip
    services = open_services(tmp_path, config)
    service: RiskService = services.feature("risk")
    add_risk(service, "a")
    service.warn()
    assert service.notify(later(10)) == {"waiting": 3}  # group_wait not over
    assert service.notify(later(31)) == {"new": 3}
    assert service.notify(later(60)) == {"waiting": 3}  # unchanged: not again
    add_risk(service, "b")
    service.warn()
    assert service.notify(later(120)) == {"waiting": 3}  # changed: waits group_interval
    services.close()
    # A restart: the notification log is in the database.
    services = open_services(tmp_path, config)
    service = services.feature("risk")
    assert service.notify(later(332)) == {"changed": 3}
    assert service.notify(later(1000)) == {"waiting": 3}
    assert service.notify(later(332 + 3601)) == {"repeat": 3}
    send(service)
    messages = [m for m in smtp.messages() if str(m["To"]) == "samr@units.qtrace.example"]
    assert len(messages) == 3
    first, second, third = messages
    # One group, one thread.
    assert str(second["In-Reply-To"]).strip() == str(first["Message-ID"]).strip()
    assert str(first["Message-ID"]) in str(third["References"])
    assert "重复提醒" in str(third["Subject"]) and "等 2 条预警" in str(third["Subject"])
    services.close()


def test_a_silenced_alert_is_stored_and_visible_but_not_sent(world, smtp) -> None:
    _, service = world
    add_risk(service, "s1")
    service.warn()
    silence = service.notifier.add_silence(
        {"rule": "regulator_notice", "unit": "miit"}, "张三", "工信委另行通知", hours=2
    )
    assert silence["active"] and silence["audit"][0]["actor"] == "张三"
    assert service.notify() == {"new": 2}  # samr and commerce, not miit
    assert len(service.alerts(status="open")) == 1  # still stored, still visible
    # It expires on its own.
    assert service.notify(later(2 * 3600 + 1)) == {"new": 1, "repeat": 2}
    send(service)
    assert {str(m["To"]) for m in smtp.messages()} == QUALITY_UNITS
    silence = service.notifier.silence(silence["id"], later(2 * 3600 + 1))
    assert not silence["active"]
    other = service.notifier.add_silence({"level": "high"}, "李四", "演练", hours=1)
    service.notifier.expire_silence(other["id"], "李四")
    assert [a["action"] for a in service.notifier.silence(other["id"])["audit"]] == [
        "create", "expire",
    ]  # fmt: skip


# -- acknowledgement links -------------------------------------------------------------------


def _ack_url(message: EmailMessage) -> str:
    text = body(message)
    start = text.index("http://console.qtrace.test/alerts/ack/")
    return text[start:].split()[0].removeprefix("http://console.qtrace.test")


def test_ack_links_valid_expired_tampered_replayed(world, smtp) -> None:
    services, service = world
    add_risk(service, "ack")
    service.warn()
    service.notify()
    send(service)
    path = _ack_url(smtp.messages()[0])
    app = create_app(services=services)
    try:
        http = app.test_client()
        page = http.get(path)
        assert page.status_code == 200 and "确认签收" in page.get_data(as_text=True)
        assert service.alert(1)["status"] == "open"  # GET alone does not act
        tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
        assert http.get(tampered).status_code == 400
        assert http.post(tampered, json={}).status_code == 400
        done = http.post(path)
        assert done.status_code == 200 and "已签收" in done.get_data(as_text=True)
        alert = service.alert(1)
        assert alert["status"] == "acknowledged" and "邮件签收链接" in alert["acknowledged_by"]
        replay = http.post(path, json={})
        assert replay.status_code == 409 and "已使用" in replay.get_json()["detail"]
        # An expired link: valid signature, past its expiry.
        token = service.notifier.ack_token(1, later(-100 * 3600))
        expired = http.get(f"/alerts/ack/{token}")
        assert expired.status_code == 410 and "已过期" in expired.get_data(as_text=True)
    finally:
        app.extensions.clear()
    # An acknowledged alert stops repeating.
    assert service.notify(later(3 * 3600)) == {}


# -- escalation and resolution ---------------------------------------------------------------


def test_escalation_after_the_deadline_goes_to_duty_and_the_system_lead(world, smtp) -> None:
    _, service = world
    add_risk(service, "late", level="serious")
    service.warn()
    service.notify()
    send(service)
    with service.rdb.transaction() as conn:
        conn.execute("UPDATE risk_alerts SET deadline = ?", ("2020-01-01T00:00:00+00:00",))
    counts = service.review()
    assert counts["escalations"] == 1 and counts["emails"] == 1
    send(service)
    escalated = [m for m in smtp.messages() if "升级" in str(m["Subject"])]
    assert len(escalated) == 1
    to = str(escalated[0]["To"])
    # serious quality: samr and nmpa lead; duty contacts, and the quality system's leads.
    assert "samr-duty@units.qtrace.example" in to and "nmpa-duty@units.qtrace.example" in to
    assert "samr@units.qtrace.example" in to
    assert str(escalated[0]["In-Reply-To"]).endswith("@alerts.qtrace.test>")
    row = service.rdb.db.execute("SELECT sent_at FROM risk_escalations").fetchone()
    assert row[0] is not None
    service.review()  # the same step is not escalated twice
    send(service)
    assert len([m for m in smtp.messages() if "升级" in str(m["Subject"])]) == 1


def test_a_resolved_alert_is_notified_when_the_route_asks(world, smtp) -> None:
    _, service = world
    fp = add_risk(service, "gone")
    service.warn()
    service.notify()
    send(service)
    with service.rdb.transaction() as conn:
        conn.execute("UPDATE risk_risks SET rule = 'deleted_rule' WHERE fingerprint = ?", (fp,))
    assert service.review()["alerts_resolved"] == 1
    send(service)
    resolved = [m for m in smtp.messages() if "已消除" in str(m["Subject"])]
    assert len(resolved) == 1 and str(resolved[0]["To"]) == "samr@units.qtrace.example"


def test_daily_digest_per_unit_once_a_day(tmp_path: Path, smtp: SMTPServer) -> None:
    services = open_services(tmp_path, write_config(tmp_path, smtp.port, digest_at="08:30"))
    service: RiskService = services.feature("risk")
    add_risk(service, "d1")
    service.warn()
    morning = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)  # 08:00 Beijing
    assert service.notifier.digest(morning) == 0
    assert service.notifier.digest(morning + dt.timedelta(minutes=31)) == 3
    assert service.notifier.digest(morning + dt.timedelta(hours=2)) == 0
    send(service)
    digests = [m for m in smtp.messages() if "每日汇总" in str(m["Subject"])]
    assert len(digests) == 3
    # A space where the header folds between two encoded words survives the round trip.
    subjects = {str(m["Subject"]) for m in digests}
    assert "【每日汇总】市市场监督管理局 待办预警 1 条（2026-11-30）" in subjects
    services.close()


# -- the sender: server down, 4xx, 5xx, hang, kill -9 -----------------------------------------


def test_server_down_then_up_every_email_arrives_exactly_once(world, smtp) -> None:
    _, service = world
    for i in range(3):
        add_risk(service, f"down{i}", rule=f"rule_{i}")
    service.warn()
    assert service.notify() == {"new": 9}
    smtp.stop()
    counts = send(service)
    assert counts["retry"] == 1 and counts["sent"] == 0  # stops at an unreachable server
    assert send(service, at=3600)["retry"] == 1
    smtp.start()
    assert send(service)["sent"] == 7  # the two tried are in backoff: not due yet
    assert send(service, at=7200)["sent"] == 2
    assert len(smtp.ids()) == 9 and len(set(smtp.ids())) == 9
    attempts = service.notifier.history(limit=100)
    assert [a["result"] for a in attempts].count("temporary") == 2


def test_a_4xx_then_2xx(world, smtp) -> None:
    _, service = world
    add_risk(service, "busy", category="customs")  # routed to commerce; samr, post cooperate
    service.warn()
    service.notify()
    smtp.handler.replies.append("451 4.3.0 稍后再试 try again later")
    counts = send(service)
    assert counts["retry"] == 1 and counts["sent"] == 2
    pending = service.notifier.messages("pending")
    assert len(pending) == 1 and pending[0]["last_error"].startswith("451")
    assert send(service, at=3600)["sent"] == 1
    assert len(smtp.unique()) == 3 == len(smtp.ids())


def test_a_5xx_fails_with_the_reply_and_tells_the_administrators(world, smtp) -> None:
    _, service = world
    add_risk(service, "bad", category="customs")
    service.warn()
    service.notify()
    smtp.handler.replies.append("554 5.7.1 拒收 rejected by policy")
    counts = send(service)
    assert counts["failed"] == 1 and counts["sent"] == 3  # two units and the admins' alert
    failed = service.notifier.messages("failed")
    assert len(failed) == 1 and "554 5.7.1" in failed[0]["last_error"]
    admin = [m for m in smtp.messages() if str(m["To"]) == "admin@ops.qtrace.test"]
    assert len(admin) == 1 and "邮件发送失败" in str(admin[0]["Subject"])
    assert "554 5.7.1" in body(admin[0])


def test_a_hanging_server_times_out_and_the_retry_is_deduplicated(
    tmp_path: Path, smtp: SMTPServer
) -> None:
    services = open_services(tmp_path, write_config(tmp_path, smtp.port, timeout_seconds=0.5))
    service: RiskService = services.feature("risk")
    add_risk(service, "hang", category="credit")  # ndrc leads; samr, tax, commerce cooperate
    service.warn()
    service.notify()
    smtp.handler.hang = 2.0
    began = time.monotonic()
    counts = send(service)
    assert counts["retry"] == 1 and time.monotonic() - began < 2.0
    assert "超时" in service.notifier.history()[0]["reply"]
    assert service.notifier.history()[0]["result"] == "temporary"
    time.sleep(2.2)  # the hung session completes on the server side
    smtp.handler.hang = 0
    assert send(service, at=3600)["sent"] == 4
    assert len(smtp.unique()) == 4  # what the units see: each message once
    services.close()


CHILD = """
import pathlib, sys, time
from alerts.notify import outbox
from config.settings import load_settings
from traceability.services import build_services

marker = pathlib.Path(sys.argv[1])

def hold(row):
    marker.write_text(row["message_id"])
    time.sleep(120)

outbox.AFTER_ACCEPT = hold
services = build_services(load_settings(sys.argv[2], environ={"QTRACE_DATA_DIR": sys.argv[3]}))
services.feature("risk").send_pending(holder="child")
"""


def test_kill_9_between_the_250_and_the_commit_resends_the_same_message_id(
    tmp_path: Path, smtp: SMTPServer
) -> None:
    config = write_config(tmp_path, smtp.port, timeout_seconds=1, sender_lease_seconds=3)
    services = open_services(tmp_path, config)
    service: RiskService = services.feature("risk")
    add_risk(service, "crash", category="collection")  # no route: samr leads, commerce helps
    service.warn()
    assert service.notify() == {"new": 2}
    marker = tmp_path / "accepted"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(marker), str(config), str(tmp_path / "data")],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            assert child.poll() is None, "the sender exited early"
            time.sleep(0.05)
        accepted = marker.read_text()
        assert smtp.ids() == [accepted]  # the server said 250 …
        os.kill(child.pid, signal.SIGKILL)  # … and the sender dies before its commit
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert service.notifier.messages("sent") == []
    lease = service.rdb.lease(outbox.LEASE)
    assert lease is not None and lease["holder"] == "child"
    time.sleep(max(0.0, lease["expires_at"] - time.time()) + 0.1)
    assert send(service)["sent"] == 2
    ids = smtp.ids()
    assert ids.count(accepted) == 2 and len(set(ids)) == 2  # same id again, no new one
    assert {m["message_id"] for m in service.notifier.messages("sent")} == set(ids)
    services.close()


# -- history: command and API ------------------------------------------------------------------


def test_history_in_the_command_line_and_the_api(tmp_path: Path, world, smtp) -> None:
    services, service = world
    add_risk(service, "h")
    service.warn()
    config = tmp_path / "qtrace.toml"
    env = {"QTRACE_DATA_DIR": str(tmp_path / "data"), "QTRACE_CONFIG": str(config)}
    runner = CliRunner()
    result = runner.invoke(main, ["alerts", "notify"], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["alerts", "send-pending"], env=env)
    assert result.exit_code == 0 and json.loads(result.output)["sent"] == 3, result.output
    result = runner.invoke(main, ["alerts", "history", "--json"], env=env)
    assert result.exit_code == 0, result.output
    history: dict[str, Any] = json.loads(result.output)
    assert len(history["attempts"]) == 3 and history["pending"] == []
    result = runner.invoke(main, ["alerts", "history"], env=env)
    assert result.exit_code == 0 and "250" in result.output
    app = create_app(services=services)
    try:
        http = app.test_client()
        data = http.get("/api/v1/alert-emails?alert=1").get_json()
        assert len(data["attempts"]) == 3 and data["attempts"][0]["code"] == 250
        page = http.get("/alerts/1").get_data(as_text=True)
        message_id = data["attempts"][0]["message_id"].strip("<>")
        assert "邮件通知记录" in page and message_id in page
        listing = http.get("/alerts/emails").get_data(as_text=True)
        assert PRODUCT in listing
        html = http.get("/alerts/emails/1")
        assert html.mimetype == "text/html" and "签收此预警" in html.get_data(as_text=True)
        assert "sandbox" in html.headers["Content-Security-Policy"]
        created = http.post("/api/v1/silences", json={"matchers": {"rule": "x"},
                            "comment": "测试", "hours": 1, "by": "王五"})  # fmt: skip
        assert created.status_code == 201
        assert http.get("/api/v1/silences?active=1").get_json()["silences"][0]["id"] == 1
        assert http.delete("/api/v1/silences/1").status_code == 204
    finally:
        app.extensions.clear()
    assert LOT.endswith("260406D31")


def test_the_worker_runs_the_notifier_and_the_sender(world) -> None:
    services, _ = world
    from alerts.scheduler import risk_jobs

    jobs = {job.id: job for job in risk_jobs(services)}
    assert {"risk.notify", "risk.send"} <= set(jobs)
    assert jobs["risk.send"].run() == {"sent": 0, "retry": 0, "failed": 0, "lease_busy": 0}
