"""The case tables in the embedded file, created on first use (never when services build).

Text search uses a table of our own, SQLite FTS5 with the ``trigram`` tokenizer (Chinese
has no spaces: trigrams find any substring of three characters or more; shorter queries
fall back to ``LIKE``).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from traceability.store.embedded import EmbeddedDatabase
from traceability.store.migrations import Component, LazySchema, Migration

SCHEMA = Component(
    "cases",
    (
        Migration(1, "cases, alerts, entities, evidence, tasks, comments, events, search", (
            """CREATE TABLE IF NOT EXISTS cases_cases (
                id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
                category TEXT NOT NULL DEFAULT '', level TEXT NOT NULL,
                stage TEXT NOT NULL DEFAULT 'new', resolution TEXT, resolution_note TEXT,
                lead_unit TEXT NOT NULL DEFAULT '', assignee TEXT NOT NULL DEFAULT '',
                cooperating TEXT NOT NULL DEFAULT '[]', description TEXT NOT NULL DEFAULT '',
                created_by TEXT NOT NULL, created_at TEXT NOT NULL,
                investigating_at TEXT, measures_at TEXT, closed_at TEXT,
                updated_at TEXT NOT NULL)""",
            "CREATE INDEX IF NOT EXISTS cases_by_stage ON cases_cases (stage, level)",
            """CREATE TABLE IF NOT EXISTS cases_alerts (
                alert_id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, rule TEXT NOT NULL,
                fingerprint TEXT NOT NULL, added_at TEXT NOT NULL, added_by TEXT NOT NULL,
                outcome TEXT)""",
            """CREATE TABLE IF NOT EXISTS cases_entities (
                id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, kind TEXT NOT NULL,
                key TEXT NOT NULL, display TEXT NOT NULL, personal INTEGER NOT NULL,
                added_at TEXT NOT NULL, added_by TEXT NOT NULL, UNIQUE (case_id, kind, key))""",
            "CREATE INDEX IF NOT EXISTS cases_entities_by_key ON cases_entities (kind, key)",
            """CREATE TABLE IF NOT EXISTS cases_evidence (
                id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, kind TEXT NOT NULL,
                ref TEXT NOT NULL, title TEXT NOT NULL, snapshot TEXT,
                sha256 TEXT, size INTEGER, media_type TEXT, file_name TEXT,
                added_at TEXT NOT NULL, added_by TEXT NOT NULL)""",
            """CREATE TABLE IF NOT EXISTS cases_tasks (
                id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, title TEXT NOT NULL,
                owner TEXT NOT NULL, due TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open',
                created_at TEXT NOT NULL, created_by TEXT NOT NULL, done_at TEXT)""",
            """CREATE TABLE IF NOT EXISTS cases_escalations (
                task_id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL,
                recipients TEXT NOT NULL, created_at TEXT NOT NULL,
                email TEXT NOT NULL DEFAULT 'not_sent')""",
            """CREATE TABLE IF NOT EXISTS cases_comments (
                id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, author TEXT NOT NULL,
                body TEXT NOT NULL, mentions TEXT NOT NULL, created_at TEXT NOT NULL)""",
            """CREATE TABLE IF NOT EXISTS cases_notifications (
                id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, recipient TEXT NOT NULL,
                recipient_kind TEXT NOT NULL, reason TEXT NOT NULL, ref TEXT NOT NULL,
                created_at TEXT NOT NULL, email TEXT NOT NULL DEFAULT 'not_sent')""",
            """CREATE TABLE IF NOT EXISTS cases_events (
                id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, time TEXT NOT NULL,
                actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL,
                audit_seq INTEGER)""",
            "CREATE INDEX IF NOT EXISTS cases_events_by_case ON cases_events (case_id, id)",
            """CREATE VIRTUAL TABLE IF NOT EXISTS cases_text USING fts5(
                case_id UNINDEXED, body, tokenize = 'trigram')""",
        )),
    ),
)  # fmt: skip


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class CaseDB:
    """The case tables: opened lazily, migrated on the first query."""

    def __init__(self, path: Path) -> None:
        self.database = EmbeddedDatabase(path, row_factory=sqlite3.Row)
        self.schema = LazySchema(self.database, SCHEMA)

    @property
    def db(self) -> sqlite3.Connection:
        self.schema.ensure()
        return self.database.db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.schema.ensure()
        with self.database.transaction() as conn:
            yield conn

    def close(self) -> None:
        self.database.close()
