"""The demo's local SMTP sink: aiosmtpd on loopback, every message kept as an .eml file.

``make demo`` starts it and points ``[risk.email]`` at it, so the emails the demo world
raises are really sent over SMTP and can be read: in the console (预警邮件, ``/alerts/emails``,
which shows the outbox the service sent from) and with ``qtrace alerts history``; the raw
messages are in ``<data_dir>/mailsink/``.  Nothing leaves the machine: the sink listens on
127.0.0.1 only and relays nothing.
"""

from __future__ import annotations

import email
import socket
import threading
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.count += 1
            path = self.folder / f"{self.count:06d}.eml"
        path.write_bytes(raw)
        return "250 2.0.0 OK (qtrace demo mail sink)"


class MailSink:
    """A loopback SMTP server that keeps what it receives in ``folder``."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("演示邮件接收器只监听本机回环地址")
        self.folder = folder
        self.host = host
        self.port = port or _free_port(host)
        self.handler = _Handler(folder)
        self.controller: Controller | None = None

    def start(self) -> MailSink:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.handler.count = len(list(self.folder.glob("*.eml")))
        self.controller = Controller(self.handler, hostname=self.host, port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[dict[str, Any]]:
        """Sender, recipients, subject, Message-ID and file of every message received."""
        items = []
        for path in sorted(self.folder.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=default)
            items.append({
                "file": str(path), "from": str(message["From"]), "to": str(message["To"]),
                "subject": str(message["Subject"]), "message_id": str(message["Message-ID"]),
                "date": str(message["Date"]),
            })  # fmt: skip
        return items


def point_at(risk_service: Any, sink: MailSink, base_url: str) -> None:
    """Send the risk feature's alert emails to ``sink`` (plain SMTP on loopback)."""
    settings = risk_service.settings
    settings.email = settings.email.model_copy(
        update={"enabled": True, "host": sink.host, "port": sink.port, "security": "none",
                "username": "", "password": "", "base_url": base_url,
                "group_wait_seconds": 0}
    )  # fmt: skip


def start_for_demo(services: Any, base_url: str) -> MailSink:
    """Start the sink under ``<data_dir>/mailsink`` and point the service at it."""
    sink = MailSink(services.settings.data_dir / "mailsink").start()
    point_at(services.feature("risk"), sink, base_url)
    return sink
