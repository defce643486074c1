"""The durable write queue of a remote search store: a table in the embedded SQLite file.

While Elasticsearch cannot be reached, the writes meant for it (documents to index, reposts
to reassign, documents to delete) wait here, in order, and are replayed when it is back:
nothing crawled is lost.  Replays are idempotent (document IDs are stable), so a write that
reached Elasticsearch just before the connection dropped may safely be applied twice.

A write Elasticsearch refuses for good (a mapping conflict, say) stays in the table with
its reason (``failed``), where ``qtrace search queue`` shows it; it is never dropped.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sentiment.db import Database
from sentiment.search.port import Mention, OpinionDoc
from sentiment.search.sqlite import from_db_time, to_db_time
from traceability.store.migrations import Component, Migration, migrate

Op = Literal["index", "reassign", "delete"]

_DDL = [
    "CREATE TABLE IF NOT EXISTS search_queue ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT NOT NULL, doc_id TEXT NOT NULL,"
    " payload TEXT NOT NULL, queued TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " failed TEXT)",
    "CREATE INDEX IF NOT EXISTS search_queue_pending ON search_queue (failed, seq)",
]

SCHEMA = Component(
    "search_queue", (Migration(1, "writes waiting for the search store", tuple(_DDL)),)
)


def doc_to_dict(doc: OpinionDoc) -> dict[str, Any]:
    """The document as plain JSON (UTC times to the second, as the embedded store keeps)."""
    return {
        "doc_id": doc.doc_id,
        "url": doc.url,
        "canonical_url": doc.canonical_url,
        "source": doc.source,
        "title": doc.title,
        "text": doc.text,
        "published": to_db_time(doc.published) + "Z",
        "fetched": to_db_time(doc.fetched) + "Z",
        "sentiment": doc.sentiment,
        "score": doc.score,
        "categories": sorted(set(doc.categories)),
        "rules": sorted(set(doc.rules)),
        "mentions": [
            {
                "label": m.label,
                "key": m.key,
                "name": m.name,
                "start": m.start,
                "end": m.end,
                "surface": m.surface,
            }
            for m in sorted(doc.mentions, key=lambda m: m.start)
        ],
        "repost_of": doc.repost_of,
        "simhash": f"{doc.simhash:016x}",
        "encoding": doc.encoding,
    }


def doc_from_dict(data: dict[str, Any]) -> OpinionDoc:
    return OpinionDoc(
        doc_id=data["doc_id"],
        url=data["url"],
        canonical_url=data["canonical_url"],
        source=data["source"],
        title=data["title"],
        text=data["text"],
        published=from_db_time(data["published"].removesuffix("Z")),
        fetched=from_db_time(data["fetched"].removesuffix("Z")),
        sentiment=data["sentiment"],
        score=float(data["score"]),
        categories=list(data.get("categories") or []),
        rules=list(data.get("rules") or []),
        mentions=[Mention(**m) for m in data.get("mentions") or []],
        repost_of=data.get("repost_of"),
        simhash=int(data.get("simhash") or "0", 16),
        encoding=data.get("encoding") or "utf-8",
    )


@dataclass(frozen=True, slots=True)
class QueuedWrite:
    seq: int
    op: Op
    doc_id: str
    payload: dict[str, Any]
    attempts: int
    failed: str | None = None


class SearchQueue:
    """Pending writes for a remote search store, oldest first."""

    def __init__(self, path: str | Path | Database) -> None:
        self.db = path if isinstance(path, Database) else Database(path)

    def ensure_schema(self) -> None:
        migrate(self.db, SCHEMA)

    def put_index(self, docs: Sequence[OpinionDoc]) -> None:
        self._put([("index", d.doc_id, doc_to_dict(d)) for d in docs])

    def put_reassign(self, old_original: str, new_original: str) -> None:
        self._put([("reassign", old_original, {"new": new_original})])

    def put_delete(self, doc_ids: Sequence[str]) -> None:
        self._put([("delete", doc_id, {}) for doc_id in doc_ids])

    def put_failed(self, refused: Sequence[tuple[OpinionDoc, str]]) -> None:
        """Keep documents the store refused for good, with the reason, out of the line."""
        self._put(
            [("index", d.doc_id, doc_to_dict(d)) for d, _ in refused], [r for _, r in refused]
        )

    def _put(
        self, rows: list[tuple[str, str, dict[str, Any]]], failed: list[str] | None = None
    ) -> None:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        reasons: list[str | None] = list(failed) if failed else [None] * len(rows)
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO search_queue (op, doc_id, payload, queued, failed) VALUES (?,?,?,?,?)",
                [
                    (op, key, json.dumps(p, ensure_ascii=False), now, reason)
                    for (op, key, p), reason in zip(rows, reasons, strict=True)
                ],
            )

    def pending(self, limit: int = 500) -> list[QueuedWrite]:
        rows = self.db.conn.execute(
            "SELECT seq, op, doc_id, payload, attempts, failed FROM search_queue"
            " WHERE failed IS NULL ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [QueuedWrite(s, o, d, json.loads(p), a, f) for s, o, d, p, a, f in rows]

    def failed(self) -> list[QueuedWrite]:
        rows = self.db.conn.execute(
            "SELECT seq, op, doc_id, payload, attempts, failed FROM search_queue"
            " WHERE failed IS NOT NULL ORDER BY seq"
        ).fetchall()
        return [QueuedWrite(s, o, d, json.loads(p), a, f) for s, o, d, p, a, f in rows]

    def has_pending(self) -> bool:
        row = self.db.conn.execute(
            "SELECT 1 FROM search_queue WHERE failed IS NULL LIMIT 1"
        ).fetchone()
        return row is not None

    def count(self) -> tuple[int, int]:
        """(pending, failed)."""
        row = self.db.conn.execute(
            "SELECT count(*) - count(failed), count(failed) FROM search_queue"
        ).fetchone()
        return int(row[0]), int(row[1])

    def done(self, seqs: Sequence[int]) -> None:
        with self.db.transaction() as conn:
            conn.executemany("DELETE FROM search_queue WHERE seq = ?", [(s,) for s in seqs])

    def attempted(self, seqs: Sequence[int]) -> None:
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE search_queue SET attempts = attempts + 1 WHERE seq = ?",
                [(s,) for s in seqs],
            )

    def fail(self, reasons: dict[int, str]) -> None:
        """Park writes refused for good, with their reasons (kept, shown, retried on demand)."""
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE search_queue SET failed = ?, attempts = attempts + 1 WHERE seq = ?",
                [(reason, seq) for seq, reason in reasons.items()],
            )

    def retry_failed(self) -> int:
        """Put parked writes back in line (after the cause was fixed)."""
        with self.db.transaction() as conn:
            return conn.execute(
                "UPDATE search_queue SET failed = NULL WHERE failed IS NOT NULL"
            ).rowcount
