"""The EPCIS event store: SQLite tables in the same file as the embedded graph.

Events are keyed by their CBV 2.0 hash ID, so capturing the same event twice (or once as
XML and once as JSON) stores it once.  The normalised event is kept as JSON; the fields the
SimpleEventQuery filters on are copied into indexed columns, and every identifier an event
names (EPCs, classes, parents, business transactions) into side tables with one row per
identifier, so that ``MATCH_*`` and ``EQ_bizTransaction_*`` are index lookups.  Identifiers
are indexed in their canonical GS1 Digital Link form too, so a query by EPC URN finds an
event that used a Digital Link and the other way round.

An error declaration has the same hash ID as the event it declares in error (the hash
leaves ``errorDeclaration`` out): capturing it marks the stored event as declared in
error instead of adding a second event.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from traceability.epcis import digital_link
from traceability.epcis.model import Event
from traceability.store.embedded import EmbeddedDatabase
from traceability.store.migrations import Component, Migration, migrate

DDL = (
    "CREATE TABLE IF NOT EXISTS epcis_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS epcis_events ("
    " id INTEGER PRIMARY KEY, hash_id TEXT NOT NULL UNIQUE, event_id TEXT,"
    " event_type TEXT NOT NULL, event_time INTEGER NOT NULL, record_time INTEGER NOT NULL,"
    " action TEXT, biz_step TEXT, disposition TEXT, read_point TEXT, biz_location TEXT,"
    " error_declared INTEGER NOT NULL DEFAULT 0,"
    " body TEXT NOT NULL, namespaces TEXT NOT NULL DEFAULT '{}')",
    "CREATE INDEX IF NOT EXISTS epcis_events_by_event_id ON epcis_events (event_id)",
    "CREATE INDEX IF NOT EXISTS epcis_events_by_time ON epcis_events (event_time, id)",
    "CREATE INDEX IF NOT EXISTS epcis_events_by_record ON epcis_events (record_time, id)",
    "CREATE INDEX IF NOT EXISTS epcis_events_by_type ON epcis_events (event_type, id)",
    "CREATE INDEX IF NOT EXISTS epcis_events_by_step ON epcis_events (biz_step, id)",
    "CREATE INDEX IF NOT EXISTS epcis_events_by_disposition ON epcis_events (disposition, id)",
    "CREATE INDEX IF NOT EXISTS epcis_events_by_read_point ON epcis_events (read_point, id)",
    "CREATE INDEX IF NOT EXISTS epcis_events_by_location ON epcis_events (biz_location, id)",
    # role: epc | parent | child | input | output | class | childClass | inputClass | outputClass
    "CREATE TABLE IF NOT EXISTS epcis_event_ids ("
    " value TEXT NOT NULL, role TEXT NOT NULL, event INTEGER NOT NULL,"
    " PRIMARY KEY (value, role, event)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS epcis_biz_transactions ("
    " type TEXT NOT NULL, value TEXT NOT NULL, event INTEGER NOT NULL,"
    " PRIMARY KEY (type, value, event)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS epcis_capture_jobs ("
    " id TEXT PRIMARY KEY, created_at TEXT NOT NULL, finished_at TEXT,"
    " running INTEGER NOT NULL, success INTEGER, error_behaviour TEXT NOT NULL,"
    " captured INTEGER NOT NULL DEFAULT 0, duplicates INTEGER NOT NULL DEFAULT 0,"
    " errors TEXT NOT NULL DEFAULT '[]')",
)

SCHEMA = Component("epcis", (Migration(1, "events, identifiers, capture jobs", DDL),))

_ID_FIELDS = (
    ("epcList", "epc"), ("childEPCs", "child"), ("inputEPCList", "input"),
    ("outputEPCList", "output"),
)  # fmt: skip
_CLASS_FIELDS = (
    ("quantityList", "class"), ("childQuantityList", "childClass"),
    ("inputQuantityList", "inputClass"), ("outputQuantityList", "outputClass"),
)  # fmt: skip


def epoch_ms(value: str) -> int:
    """An ISO 8601 timestamp with offset to UTC milliseconds since the epoch."""
    moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def iso_ms(millis: int) -> str:
    moment = dt.datetime.fromtimestamp(millis / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


def identifier(value: str) -> str:
    """The form identifiers are indexed and matched in (canonical Digital Link if GS1)."""
    return digital_link.canonical(value) or value


@dataclass(slots=True)
class Stored:
    """One event as written: its hash ID and normalised body."""

    hash_id: str
    event: Event
    record_time: int


@dataclass(slots=True)
class WriteResult:
    new: list[str]
    duplicates: list[str]
    declared: list[str]  # previously stored events now declared in error


def _identifiers(body: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for field, role in _ID_FIELDS:
        for value in body.get(field) or ():
            if isinstance(value, str):
                yield identifier(value), role
    parent = body.get("parentID")
    if isinstance(parent, str):
        yield identifier(parent), "parent"
    for field, role in _CLASS_FIELDS:
        for element in body.get(field) or ():
            if isinstance(element, dict) and isinstance(element.get("epcClass"), str):
                yield identifier(element["epcClass"]), role


def _transactions(body: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for item in body.get("bizTransactionList") or ():
        if isinstance(item, dict) and isinstance(item.get("bizTransaction"), str):
            yield str(item.get("type") or ""), item["bizTransaction"]


def _place(body: dict[str, Any], field: str) -> str | None:
    place = body.get(field)
    if isinstance(place, dict) and isinstance(place.get("id"), str):
        return identifier(place["id"])
    return None


class EventStore:
    """EPCIS events in the embedded SQLite file (traceability.store.embedded), beside the graph."""

    def __init__(self, path: str | Path) -> None:
        self.database = EmbeddedDatabase(path)
        self.path = self.database.path
        self.ensure_schema()

    @property
    def db(self) -> sqlite3.Connection:
        return self.database.db

    def close(self) -> None:
        self.database.close()

    def ensure_schema(self) -> None:
        migrate(self.database, SCHEMA)

    # -- writes --------------------------------------------------------------------------

    def write(self, records: Sequence[Stored]) -> WriteResult:
        """Store events atomically; known hash IDs are duplicates, declarations update."""
        result = WriteResult([], [], [])
        if not records:
            return result
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            known = self._known([r.hash_id for r in records])
            rows: list[tuple[Any, ...]] = []
            ids: list[tuple[str, str, int]] = []
            transactions: list[tuple[str, str, int]] = []
            next_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM epcis_events").fetchone()[0]
            seen: set[str] = set()
            for record in records:
                body = record.event.body
                declared = bool(body.get("errorDeclaration"))
                existing = known.get(record.hash_id)
                if existing is not None or record.hash_id in seen:
                    if declared and existing is not None and not existing[1]:
                        db.execute(
                            "UPDATE epcis_events SET error_declared = 1, body = ? WHERE id = ?",
                            (self._merge_declaration(existing[0], body), existing[0]),
                        )
                        result.declared.append(record.hash_id)
                    else:
                        result.duplicates.append(record.hash_id)
                    continue
                seen.add(record.hash_id)
                row_id = next_id
                next_id += 1
                rows.append((
                    row_id, record.hash_id, body.get("eventID"), body.get("type"),
                    epoch_ms(body["eventTime"]), record.record_time, body.get("action"),
                    body.get("bizStep"), body.get("disposition"), _place(body, "readPoint"),
                    _place(body, "bizLocation"), int(declared),
                    orjson.dumps(body).decode(), orjson.dumps(record.event.namespaces).decode(),
                ))  # fmt: skip
                ids.extend({(value, role, row_id) for value, role in _identifiers(body)})
                transactions.extend({(t, v, row_id) for t, v in _transactions(body)})
                result.new.append(record.hash_id)
            db.executemany(
                "INSERT INTO epcis_events (id, hash_id, event_id, event_type, event_time,"
                " record_time, action, biz_step, disposition, read_point, biz_location,"
                " error_declared, body, namespaces) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            db.executemany("INSERT OR IGNORE INTO epcis_event_ids VALUES (?,?,?)", ids)
            db.executemany(
                "INSERT OR IGNORE INTO epcis_biz_transactions VALUES (?,?,?)", transactions
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return result

    def _known(self, hash_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        rows = self.db.execute(
            "SELECT e.hash_id, e.id, e.error_declared FROM json_each(?) j"
            " JOIN epcis_events e ON e.hash_id = j.value",
            (orjson.dumps(list(hash_ids)).decode(),),
        ).fetchall()
        return {h: (i, d) for h, i, d in rows}

    def _merge_declaration(self, row_id: int, declared: dict[str, Any]) -> str:
        (text,) = self.db.execute(
            "SELECT body FROM epcis_events WHERE id = ?", (row_id,)
        ).fetchone()
        body = orjson.loads(text)
        body["errorDeclaration"] = declared["errorDeclaration"]
        return orjson.dumps(body).decode()

    # -- reads ---------------------------------------------------------------------------

    def contains(self, hash_id: str) -> bool:
        row = self.db.execute("SELECT 1 FROM epcis_events WHERE hash_id = ?", (hash_id,)).fetchone()
        return row is not None

    def get(self, event_id: str) -> dict[str, Any] | None:
        """An event by hash ID or by the eventID it was captured with."""
        row = self.db.execute(
            "SELECT body, namespaces FROM epcis_events WHERE hash_id = ?1"
            " UNION ALL SELECT body, namespaces FROM epcis_events WHERE event_id = ?1 LIMIT 1",
            (event_id,),
        ).fetchone()
        return present(row[0], row[1]) if row else None

    def select(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, params).fetchall()

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM epcis_events").fetchone()[0])

    def all_events(self) -> Iterable[dict[str, Any]]:
        for body, namespaces in self.db.execute(
            "SELECT body, namespaces FROM epcis_events ORDER BY id"
        ):
            yield present(body, namespaces)

    # -- capture jobs --------------------------------------------------------------------

    def create_job(self, job_id: str, behaviour: str) -> None:
        self.db.execute(
            "INSERT INTO epcis_capture_jobs (id, created_at, running, error_behaviour)"
            " VALUES (?, ?, 1, ?)",
            (job_id, iso_ms(now_ms()), behaviour),
        )

    def finish_job(
        self, job_id: str, success: bool, captured: int, duplicates: int, errors: list[Any]
    ) -> None:
        self.db.execute(
            "UPDATE epcis_capture_jobs SET running = 0, success = ?, finished_at = ?,"
            " captured = ?, duplicates = ?, errors = ? WHERE id = ?",
            (int(success), iso_ms(now_ms()), captured, duplicates,
             orjson.dumps(errors).decode(), job_id),
        )  # fmt: skip

    def job(self, job_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT id, created_at, finished_at, running, success, error_behaviour, captured,"
            " duplicates, errors FROM epcis_capture_jobs WHERE id = ?",
            (job_id,),
        ).fetchone()
        if row is None:
            return None
        job_id, created, finished, running, success, behaviour, captured, dups, errors = row
        out: dict[str, Any] = {
            "captureID": job_id,
            "createdAt": created,
            "running": bool(running),
            "success": None if success is None else bool(success),
            "captureErrorBehaviour": behaviour,
            "eventsCaptured": captured,
            "eventsAlreadyKnown": dups,
            "errors": orjson.loads(errors),
        }
        if finished:
            out["finishedAt"] = finished
        return out


def now_ms() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp() * 1000)


def present(body_text: str, namespaces_text: str) -> dict[str, Any]:
    """A stored event as served: with its own ``@context`` when it uses extensions."""
    body = orjson.loads(body_text)
    namespaces = orjson.loads(namespaces_text)
    if namespaces:
        body = {"@context": [namespaces], **body}
    return body
