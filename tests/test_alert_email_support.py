"""Helpers of the alert-email tests: a real SMTP server (aiosmtpd on loopback) and a world.

The server records every message it accepts (raw bytes) and can be told to answer a
temporary (4xx) or permanent (5xx) reply, to hang in DATA, or be stopped and started again
on the same port.  ``unique()`` deduplicates by Message-ID: what a unit sees.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import socket
import threading
from collections import deque
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from alerts.db import dumps, iso, now_utc
from alerts.service import RiskService, fingerprint
from config.settings import load_settings
from traceability.services import Services, build_services
from traceability.store.port import Node

GTIN = "09468744603986"
LOT = f"{GTIN}:260406D31"
PRODUCT = "奇维牧场婴儿配方奶粉1段"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Handler:
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.replies: deque[str] = deque()
        self.hang = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.replies:
            return self.replies.popleft()
        if self.hang:
            await asyncio.sleep(self.hang)
        with self.lock:
            self.received.append(bytes(envelope.original_content or envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK queued"


class SMTPServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.handler = Handler()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            raw = list(self.handler.received)
        return [email.message_from_bytes(r, policy=default) for r in raw]  # type: ignore[misc]

    def ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages()]

    def unique(self) -> dict[str, EmailMessage]:
        """What the units see: one message per Message-ID."""
        return {str(m["Message-ID"]): m for m in self.messages()}


def write_config(tmp_path: Path, port: int, **email: Any) -> Path:
    values = {
        "enabled": True, "host": "127.0.0.1", "port": port, "domain": "alerts.qtrace.test",
        "base_url": "http://console.qtrace.test", "sender": "qtrace@alerts.qtrace.test",
        "group_wait_seconds": 0, "group_interval_seconds": 300,
        "repeat_interval_seconds": 3600, "timeout_seconds": 3, "backoff_seconds": 1,
        "admins": ["admin@ops.qtrace.test"], "digest_at": "",
    }  # fmt: skip
    values.update(email)
    lines = ["[risk.email]"]
    for key, value in values.items():
        lines.append(f"{key} = {dumps(value)}")
    path = tmp_path / "qtrace.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def open_services(tmp_path: Path, config: Path) -> Services:
    services = build_services(
        load_settings(config, environ={"QTRACE_DATA_DIR": str(tmp_path / "data")})
    )
    services.store.upsert([Node("Product", GTIN, {"name": PRODUCT})], [])
    return services


def add_risk(
    service: RiskService, key: str, *, rule: str = "regulator_notice",
    category: str = "quality", level: str = "high", entity: str = f"Batch:{LOT}",
    explanation: str = "市场监管总局通报：该批次婴儿配方奶粉检出阪崎肠杆菌",
) -> str:  # fmt: skip
    fp = fingerprint(rule, key)
    stamp = iso(now_utc())
    with service.rdb.transaction() as conn:
        conn.execute(
            "INSERT INTO risk_risks (fingerprint, rule, key, level, category, owner, severity,"
            " likelihood, entities, evidence, explanation, status, first_seen, last_seen,"
            " changed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (fp, rule, key, level, category, "samr", 3, "possible", dumps([entity]), "[]",
             explanation, "open", stamp, stamp, stamp),
        )  # fmt: skip
    return fp


def later(seconds: float) -> dt.datetime:
    return now_utc() + dt.timedelta(seconds=seconds)
