"""``[risk.email]``: the SMTP client, the service's mail identity and the grouping timers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EmailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Off (the default until an SMTP server is configured): alerts are still created and
    # routed, nothing is enqueued.
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    # "none" (plain, e.g. a local sink), "starttls" (587), "tls" (implicit TLS, 465).
    security: Literal["none", "starttls", "tls"] = "none"
    username: str = ""
    password: str = ""
    verify_tls: bool = True
    timeout_seconds: float = Field(30, gt=0)
    sender: str = "qtrace@qtrace.invalid"
    sender_name: str = "跨境电商质量安全风险预警"
    # The right-hand side of every Message-ID.
    domain: str = "qtrace.invalid"
    # Links in emails (acknowledgement, console): the console as the recipient reaches it.
    base_url: str = "http://127.0.0.1:8000"
    # HMAC key of acknowledgement links; empty = a random key kept in the database.
    ack_secret: str = ""
    ack_ttl_hours: float = Field(72, gt=0)
    # Grouping (Alertmanager): labels, first wait, wait between updates, repeat.
    group_by: list[str] = Field(default_factory=lambda: ["rule", "category"])
    group_wait_seconds: float = Field(30, ge=0)
    group_interval_seconds: float = Field(300, ge=0)
    repeat_interval_seconds: float = Field(4 * 3600, ge=0)
    # Levels that are emailed at all.
    levels: list[str] = Field(default_factory=lambda: ["serious", "high", "medium", "low"])
    send_resolved: bool = True
    # Alerts listed in one email (the subject and intro count all; the rest: the console).
    max_listed: int = Field(50, ge=1)
    # The sender: batch size, retries, backoff with jitter.
    batch: int = Field(200, ge=1)
    max_attempts: int = Field(12, ge=1)
    backoff_seconds: float = Field(30, ge=0)
    backoff_max_seconds: float = Field(3600, ge=0)
    send_seconds: float = Field(30, gt=0)
    # The sender's lease (renewed before every message): longer than one SMTP session
    # can take; a sender that died is replaced after it.
    sender_lease_seconds: float = Field(120, gt=0)
    # Administrators told about permanent failures.
    admins: list[str] = Field(default_factory=list)
    # Daily digest per unit at this local (Beijing) time, "HH:MM"; empty = off.
    digest_at: str = "08:30"
