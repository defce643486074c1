"""Crawl state and signals, kept in the graph's SQLite file so they survive restarts.

* ``opinion_pages``: every URL fetched — ETag, Last-Modified, status, the document it
  became (canonical-URL deduplication and conditional GET both read it);
* ``opinion_sources``: per source, the last run and how many runs in a row found nothing
  new (the collection-health signal);
* ``opinion_runs``: one row per source run, for the record;
* ``opinion_fingerprints``: SimHash bands of stored documents (near-duplicate reposts);
* ``opinion_signals``: spike and collection-health signals for the risk engine.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sentiment.analysis import simhash as sh
from sentiment.db import Database
from sentiment.search.sqlite import from_db_time, to_db_time
from traceability.store.migrations import Component, Migration, migrate

_DDL = [
    "CREATE TABLE IF NOT EXISTS opinion_pages ("
    " url TEXT PRIMARY KEY, source TEXT NOT NULL, canonical_url TEXT, etag TEXT,"
    " last_modified TEXT, status INTEGER, error TEXT, fetched_at TEXT NOT NULL, doc_id TEXT)",
    "CREATE INDEX IF NOT EXISTS opinion_pages_canonical ON opinion_pages (canonical_url)",
    "CREATE TABLE IF NOT EXISTS opinion_sources ("
    " name TEXT PRIMARY KEY, last_started TEXT, last_finished TEXT, last_status TEXT,"
    " empty_runs INTEGER NOT NULL DEFAULT 0, docs INTEGER NOT NULL DEFAULT 0,"
    " last_new_at TEXT)",
    "CREATE TABLE IF NOT EXISTS opinion_runs ("
    " id INTEGER PRIMARY KEY, source TEXT NOT NULL, started TEXT NOT NULL,"
    " finished TEXT NOT NULL, stats TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS opinion_fingerprints ("
    " band INTEGER NOT NULL, doc_id TEXT NOT NULL, simhash TEXT NOT NULL,"
    " published TEXT NOT NULL, PRIMARY KEY (band, doc_id)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS opinion_signals ("
    " id INTEGER PRIMARY KEY, dedupe_key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
    " entity TEXT, entity_name TEXT, category TEXT, source TEXT, detected_at TEXT NOT NULL,"
    " since TEXT, count INTEGER, baseline REAL, score REAL, message TEXT NOT NULL,"
    " evidence TEXT NOT NULL DEFAULT '[]')",
    "CREATE INDEX IF NOT EXISTS opinion_signals_time ON opinion_signals (detected_at)",
]

SCHEMA = Component(
    "opinions_state", (Migration(1, "pages, sources, runs, fingerprints, signals", tuple(_DDL)),)
)


@dataclass(slots=True)
class PageState:
    url: str
    canonical_url: str | None
    etag: str | None
    last_modified: str | None
    status: int | None
    doc_id: str | None


@dataclass(slots=True)
class SourceState:
    name: str
    last_started: dt.datetime | None
    last_finished: dt.datetime | None
    last_status: str | None
    empty_runs: int
    docs: int


@dataclass(slots=True)
class Signal:
    kind: str  # "spike" | "silent_source"
    dedupe_key: str
    detected_at: dt.datetime
    message: str
    entity: str | None = None
    entity_name: str | None = None
    category: str | None = None
    source: str | None = None
    since: dt.datetime | None = None
    count: int | None = None
    baseline: float | None = None
    score: float | None = None
    evidence: list[str] = field(default_factory=list)
    id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "entity": self.entity,
            "entityName": self.entity_name,
            "category": self.category,
            "source": self.source,
            "detectedAt": self.detected_at.isoformat(),
            "since": self.since.isoformat() if self.since else None,
            "count": self.count,
            "baseline": self.baseline,
            "score": self.score,
            "message": self.message,
            "evidence": self.evidence,
        }


class CrawlState:
    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure_schema(self) -> None:
        migrate(self.db, SCHEMA)

    # -- pages ---------------------------------------------------------------------------

    def page(self, url: str) -> PageState | None:
        row = self.db.conn.execute(
            "SELECT url, canonical_url, etag, last_modified, status, doc_id"
            " FROM opinion_pages WHERE url = ?",
            (url,),
        ).fetchone()
        return PageState(*row) if row else None

    def doc_for_canonical(self, canonical_url: str) -> str | None:
        row = self.db.conn.execute(
            "SELECT doc_id FROM opinion_pages WHERE canonical_url = ? AND doc_id IS NOT NULL",
            (canonical_url,),
        ).fetchone()
        return row[0] if row else None

    def record_page(
        self,
        url: str,
        source: str,
        now: dt.datetime,
        *,
        status: int | None,
        canonical_url: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        error: str | None = None,
        doc_id: str | None = None,
    ) -> None:
        """Upsert; a 304 or an error keeps the validators and document already known."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO opinion_pages (url, source, canonical_url, etag, last_modified,"
                " status, error, fetched_at, doc_id) VALUES (?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(url) DO UPDATE SET source = excluded.source,"
                " canonical_url = coalesce(excluded.canonical_url, canonical_url),"
                " etag = coalesce(excluded.etag, etag),"
                " last_modified = coalesce(excluded.last_modified, last_modified),"
                " status = excluded.status, error = excluded.error,"
                " fetched_at = excluded.fetched_at, doc_id = coalesce(excluded.doc_id, doc_id)",
                (url, source, canonical_url, etag, last_modified, status, error,
                 to_db_time(now), doc_id),
            )  # fmt: skip

    # -- sources -------------------------------------------------------------------------

    def source(self, name: str) -> SourceState | None:
        row = self.db.conn.execute(
            "SELECT name, last_started, last_finished, last_status, empty_runs, docs"
            " FROM opinion_sources WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return SourceState(
            row[0],
            from_db_time(row[1]) if row[1] else None,
            from_db_time(row[2]) if row[2] else None,
            row[3],
            row[4],
            row[5],
        )

    def finish_run(
        self, name: str, started: dt.datetime, finished: dt.datetime, stats: dict[str, Any]
    ) -> SourceState:
        new_docs = int(stats.get("new_docs", 0))
        status = "error" if stats.get("source_error") else "ok"
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO opinion_runs (source, started, finished, stats) VALUES (?,?,?,?)",
                (name, to_db_time(started), to_db_time(finished),
                 json.dumps(stats, ensure_ascii=False, sort_keys=True)),
            )  # fmt: skip
            conn.execute(
                "INSERT INTO opinion_sources (name, last_started, last_finished, last_status,"
                " empty_runs, docs, last_new_at) VALUES (?,?,?,?,?,?,?)"
                " ON CONFLICT(name) DO UPDATE SET last_started = excluded.last_started,"
                " last_finished = excluded.last_finished, last_status = excluded.last_status,"
                " empty_runs = CASE WHEN ? > 0 THEN 0 ELSE empty_runs + 1 END,"
                " docs = docs + excluded.docs,"
                " last_new_at = coalesce(excluded.last_new_at, last_new_at)",
                (name, to_db_time(started), to_db_time(finished), status,
                 0 if new_docs else 1, new_docs, to_db_time(finished) if new_docs else None,
                 new_docs),
            )  # fmt: skip
        state = self.source(name)
        assert state is not None
        return state

    def last_new_at(self, name: str) -> str | None:
        row = self.db.conn.execute(
            "SELECT last_new_at FROM opinion_sources WHERE name = ?", (name,)
        ).fetchone()
        return row[0] if row else None

    def sources(self) -> list[SourceState]:
        names = [
            r[0] for r in self.db.conn.execute("SELECT name FROM opinion_sources ORDER BY name")
        ]
        return [s for n in names if (s := self.source(n))]

    # -- near duplicates -----------------------------------------------------------------

    def near_duplicate(self, fingerprint: int, max_bits: int) -> str | None:
        """The earliest stored original within ``max_bits`` of the fingerprint, if any."""
        found = self.near_original(fingerprint, max_bits)
        return found[0] if found else None

    def near_original(self, fingerprint: int, max_bits: int) -> tuple[str, dt.datetime] | None:
        """(document, published) of the earliest original within ``max_bits``, if any.

        Only originals have fingerprints here: a repost is marked and never indexed.
        """
        if max_bits < 0:
            return None
        rows = self.db.conn.execute(
            "SELECT DISTINCT doc_id, simhash, published FROM opinion_fingerprints"
            " WHERE band IN (SELECT value FROM json_each(?)) ORDER BY published, doc_id",
            (json.dumps(sh.bands(fingerprint)),),
        ).fetchall()
        for doc_id, other, published in rows:
            if sh.distance(fingerprint, int(other, 16)) <= max_bits:
                return doc_id, from_db_time(published)
        return None

    def remove_fingerprint(self, doc_id: str) -> None:
        """Forget a document's fingerprint (it turned out to be a repost)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM opinion_fingerprints WHERE doc_id = ?", (doc_id,))

    def add_fingerprint(self, doc_id: str, fingerprint: int, published: dt.datetime) -> None:
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO opinion_fingerprints VALUES (?,?,?,?)",
                [(band, doc_id, f"{fingerprint:016x}", to_db_time(published))
                 for band in sh.bands(fingerprint)],
            )  # fmt: skip

    # -- signals -------------------------------------------------------------------------

    def add_signal(self, signal: Signal) -> bool:
        """Store a signal unless one with the same dedupe key exists; True when new."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO opinion_signals (dedupe_key, kind, entity, entity_name,"
                " category, source, detected_at, since, count, baseline, score, message,"
                " evidence) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (signal.dedupe_key, signal.kind, signal.entity, signal.entity_name,
                 signal.category, signal.source, to_db_time(signal.detected_at),
                 to_db_time(signal.since) if signal.since else None, signal.count,
                 signal.baseline, signal.score, signal.message,
                 json.dumps(signal.evidence)),
            )  # fmt: skip
            if cur.rowcount:
                signal.id = cur.lastrowid
            return bool(cur.rowcount)

    def signals(self, kind: str | None = None, limit: int = 100) -> list[Signal]:
        sql = (
            "SELECT id, dedupe_key, kind, entity, entity_name, category, source, detected_at,"
            " since, count, baseline, score, message, evidence FROM opinion_signals"
        )
        params: list[Any] = []
        if kind:
            sql += " WHERE kind = ?"
            params.append(kind)
        sql += " ORDER BY detected_at DESC, id DESC LIMIT ?"
        params.append(limit)
        out = []
        for row in self.db.conn.execute(sql, params):
            (id_, key, kind_, entity, name, category, source, detected, since, count,
             baseline, score, message, evidence) = row  # fmt: skip
            out.append(
                Signal(kind_, key, from_db_time(detected), message, entity, name, category,
                       source, from_db_time(since) if since else None, count, baseline, score,
                       json.loads(evidence), id_)
            )  # fmt: skip
        return out
