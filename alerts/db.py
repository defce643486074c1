"""The risk tables in the embedded SQLite file (prefix ``risk_``), leases and watermarks.

Every table is created idempotently (``CREATE … IF NOT EXISTS``) when the feature's
service first touches the database, never at build time, so building services costs
nothing and cannot fail on a fresh data dir.

Times are stored as ISO 8601 UTC strings (``…+00:00``), which sort as text; lease expiry
is stored as epoch seconds so that two processes on one host compare it directly.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from traceability.store.embedded import EmbeddedDatabase
from traceability.store.migrations import Component, LazySchema, Migration

DDL = (
    # Normalised inputs of the rules, one row per fact collected (dedupe = source identity).
    "CREATE TABLE IF NOT EXISTS risk_signals ("
    " id INTEGER PRIMARY KEY, kind TEXT NOT NULL, dedupe TEXT NOT NULL UNIQUE,"
    " time TEXT NOT NULL, entity TEXT, entities TEXT NOT NULL DEFAULT '[]',"
    " attrs TEXT NOT NULL DEFAULT '{}', collected_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS risk_signals_by_kind ON risk_signals (kind, time)",
    # One row per (rule, key): the fingerprint is stable across runs.
    "CREATE TABLE IF NOT EXISTS risk_risks ("
    " fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, key TEXT NOT NULL,"
    " level TEXT NOT NULL, category TEXT NOT NULL, owner TEXT NOT NULL,"
    " severity INTEGER NOT NULL, likelihood TEXT NOT NULL, entities TEXT NOT NULL,"
    " evidence TEXT NOT NULL, explanation TEXT NOT NULL, metrics TEXT NOT NULL DEFAULT '{}',"
    " propagation TEXT, status TEXT NOT NULL, status_reason TEXT,"
    " first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, changed_at TEXT NOT NULL,"
    " resolved_at TEXT)",
    "CREATE INDEX IF NOT EXISTS risk_risks_by_status ON risk_risks (status, level)",
    "CREATE TABLE IF NOT EXISTS risk_risk_entities ("
    " entity TEXT NOT NULL, fingerprint TEXT NOT NULL, PRIMARY KEY (entity, fingerprint))"
    " WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS risk_alerts ("
    " id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL, rule TEXT NOT NULL,"
    " level TEXT NOT NULL, lead TEXT NOT NULL, cooperate TEXT NOT NULL,"
    " decision TEXT NOT NULL, status TEXT NOT NULL, outcome TEXT,"
    " created_at TEXT NOT NULL, deadline TEXT NOT NULL, acknowledged_at TEXT,"
    " acknowledged_by TEXT, closed_at TEXT, note TEXT,"
    " UNIQUE (fingerprint, level))",
    "CREATE INDEX IF NOT EXISTS risk_alerts_by_status ON risk_alerts (status, deadline)",
    "CREATE TABLE IF NOT EXISTS risk_escalations ("
    " id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL, step INTEGER NOT NULL,"
    " level TEXT NOT NULL, units TEXT NOT NULL, reason TEXT NOT NULL,"
    " created_at TEXT NOT NULL, sent_at TEXT, UNIQUE (alert_id, step))",
    "CREATE TABLE IF NOT EXISTS risk_runs ("
    " id INTEGER PRIMARY KEY, mechanism TEXT NOT NULL, status TEXT NOT NULL,"
    " holder TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,"
    " duration_ms INTEGER, window_from TEXT, window_to TEXT,"
    " counts TEXT NOT NULL DEFAULT '{}', errors TEXT NOT NULL DEFAULT '[]')",
    "CREATE TABLE IF NOT EXISTS risk_watermarks ("
    " name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS risk_leases ("
    " name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL,"
    " acquired_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS risk_credit_grades ("
    " id INTEGER PRIMARY KEY, enterprise TEXT NOT NULL, name TEXT, grade TEXT NOT NULL,"
    " score REAL NOT NULL, inspection_ratio REAL NOT NULL, factors TEXT NOT NULL,"
    " graded_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS risk_credit_by_enterprise ON risk_credit_grades (enterprise, id)",
    "CREATE TABLE IF NOT EXISTS risk_negative_list ("
    " entity TEXT PRIMARY KEY, reason TEXT NOT NULL, source TEXT NOT NULL DEFAULT '',"
    " added_by TEXT NOT NULL DEFAULT '', added_at TEXT NOT NULL, removed_at TEXT)",
    "CREATE TABLE IF NOT EXISTS risk_notices ("
    " id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE, issuer TEXT NOT NULL,"
    " title TEXT NOT NULL, entities TEXT NOT NULL, measure TEXT NOT NULL DEFAULT '',"
    " severity INTEGER NOT NULL DEFAULT 3, published TEXT NOT NULL, created_at TEXT NOT NULL,"
    " withdrawn_at TEXT)",
    # -- alert emails (alerts/notify) ------------------------------------------------------
    # The outbox: one fully rendered message per row, its Message-ID fixed at enqueue time
    # so that a crash after the server's 250 re-sends the same message, never a new one.
    "CREATE TABLE IF NOT EXISTS risk_mail_outbox ("
    " id INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
    " group_key TEXT NOT NULL, alert_ids TEXT NOT NULL DEFAULT '[]', ref TEXT,"
    " sender TEXT NOT NULL, recipients TEXT NOT NULL, subject TEXT NOT NULL,"
    " raw BLOB NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
    " attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,"
    " created_at TEXT NOT NULL, sent_at TEXT, last_error TEXT)",
    "CREATE INDEX IF NOT EXISTS risk_mail_outbox_due ON risk_mail_outbox (status, next_attempt)",
    # Every attempt: recipients, group, time, SMTP result and reply, message-id.
    "CREATE TABLE IF NOT EXISTS risk_mail_attempts ("
    " id INTEGER PRIMARY KEY, outbox_id INTEGER NOT NULL, message_id TEXT NOT NULL,"
    " kind TEXT NOT NULL, group_key TEXT NOT NULL, alert_ids TEXT NOT NULL,"
    " recipients TEXT NOT NULL, subject TEXT NOT NULL, time TEXT NOT NULL,"
    " result TEXT NOT NULL, code INTEGER, reply TEXT)",
    "CREATE INDEX IF NOT EXISTS risk_mail_attempts_by_outbox ON risk_mail_attempts (outbox_id)",
    # The notification log (Alertmanager's nflog): per group, what was last sent and when.
    "CREATE TABLE IF NOT EXISTS risk_notify_log ("
    " group_key TEXT PRIMARY KEY, unit TEXT NOT NULL, content TEXT NOT NULL,"
    " alert_ids TEXT NOT NULL, thread_id TEXT NOT NULL, last_message_id TEXT NOT NULL,"
    " sent_at TEXT NOT NULL, first_sent_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS risk_silences ("
    " id INTEGER PRIMARY KEY, matchers TEXT NOT NULL, created_by TEXT NOT NULL,"
    " comment TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL,"
    " created_at TEXT NOT NULL, expired_at TEXT, expired_by TEXT)",
    "CREATE TABLE IF NOT EXISTS risk_silence_audit ("
    " id INTEGER PRIMARY KEY, silence_id INTEGER NOT NULL, action TEXT NOT NULL,"
    " actor TEXT NOT NULL, time TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '')",
    # Acknowledgement links used (a link acts once), and the link-signing key.
    "CREATE TABLE IF NOT EXISTS risk_ack_links_used ("
    " nonce TEXT PRIMARY KEY, alert_id INTEGER NOT NULL, used_at TEXT NOT NULL,"
    " used_by TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS risk_mail_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

SCHEMA = Component(
    "risk", (Migration(1, "signals, risks, alerts, runs, leases, credit, email", DDL),)
)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    # Microseconds when there are any: a run's stamps must order runs within one second.
    return moment.astimezone(dt.UTC).isoformat()


def parse_time(value: str | None) -> dt.datetime | None:
    """An ISO 8601 time to aware UTC; naive ones are taken as Beijing time (+08:00)."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return moment.astimezone(dt.UTC)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class RiskDB:
    """The risk tables; schema created once per process on first use."""

    def __init__(self, path: Path) -> None:
        self.database = EmbeddedDatabase(path, row_factory=sqlite3.Row)
        self.schema = LazySchema(self.database, SCHEMA)

    @property
    def db(self) -> sqlite3.Connection:
        self.schema.ensure()
        return self.database.db

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        self.schema.ensure()
        return self.database.transaction()

    def has_table(self, name: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    # -- watermarks ----------------------------------------------------------------------

    def watermark(self, name: str, default: str = "") -> str:
        row = self.db.execute(
            "SELECT value FROM risk_watermarks WHERE name = ?", (name,)
        ).fetchone()
        return row[0] if row else default

    @staticmethod
    def set_watermark(conn: sqlite3.Connection, name: str, value: str) -> None:
        conn.execute(
            "INSERT INTO risk_watermarks VALUES (?,?,?) ON CONFLICT (name) DO UPDATE"
            " SET value = excluded.value, updated_at = excluded.updated_at",
            (name, value, iso(now_utc())),
        )

    # -- leases --------------------------------------------------------------------------

    def acquire(self, name: str, holder: str, ttl: float) -> bool:
        """Take or renew the lease ``name`` for ``ttl`` seconds; False if someone else has it."""
        now = time.time()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO risk_leases VALUES (?,?,?,?) ON CONFLICT (name) DO UPDATE"
                " SET holder = excluded.holder, expires_at = excluded.expires_at,"
                " acquired_at = CASE WHEN risk_leases.holder = excluded.holder"
                "   THEN risk_leases.acquired_at ELSE excluded.acquired_at END"
                " WHERE risk_leases.holder = excluded.holder OR risk_leases.expires_at < ?",
                (name, holder, now + ttl, iso(now_utc()), now),
            )
            row = conn.execute("SELECT holder FROM risk_leases WHERE name = ?", (name,)).fetchone()
        return row is not None and row[0] == holder

    def release(self, name: str, holder: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM risk_leases WHERE name = ? AND holder = ?", (name, holder))

    def lease(self, name: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM risk_leases WHERE name = ?", (name,)).fetchone()
        return dict(row) if row else None

    def close(self) -> None:
        self.database.close()
