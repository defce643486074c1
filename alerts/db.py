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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from traceability.store.embedded import EmbeddedDatabase

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
        self._ready = False
        self._lock = threading.Lock()

    @property
    def db(self) -> sqlite3.Connection:
        conn = self.database.db
        if not self._ready:
            with self._lock:
                if not self._ready:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        for statement in DDL:
                            conn.execute(statement)
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                    self._ready = True
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

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
