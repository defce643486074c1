"""The embedded search store: SQLite FTS5 in the graph's file, indexed as jieba tokens.

FTS5's tokenizers cannot cut Chinese into words (``unicode61`` would take a whole sentence
as one token, ``trigram`` matches character soup), so documents are cut by jieba and
stored as space-separated tokens; queries are cut the same way and every token must
match.  Documents, entity mentions and tags (categories, watch rules) live in plain tables
beside the FTS table and are joined to it by rowid.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentiment import text as textmod
from sentiment.db import Database
from sentiment.search.buckets import fill_buckets
from sentiment.search.port import (
    CST,
    Bucket,
    Filters,
    HourlyCount,
    Interval,
    Mention,
    OpinionDoc,
    SearchHit,
    SearchPage,
    SearchQuery,
    SearchQueryError,
    Sentiment,
)
from sentiment.search.snippet import make_snippet
from traceability.store.migrations import Component, Migration, migrate

_DDL = [
    "CREATE TABLE IF NOT EXISTS opinion_docs ("
    " id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, url TEXT NOT NULL,"
    " canonical_url TEXT NOT NULL, source TEXT NOT NULL, title TEXT NOT NULL,"
    " body TEXT NOT NULL, published TEXT NOT NULL, fetched TEXT NOT NULL,"
    " sentiment TEXT NOT NULL, score REAL NOT NULL, repost_of TEXT,"
    " simhash TEXT NOT NULL, encoding TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS opinion_docs_published ON opinion_docs (published)",
    "CREATE INDEX IF NOT EXISTS opinion_docs_source ON opinion_docs (source, published)",
    "CREATE INDEX IF NOT EXISTS opinion_docs_repost ON opinion_docs (repost_of)",
    "CREATE TABLE IF NOT EXISTS opinion_mentions ("
    " doc INTEGER NOT NULL REFERENCES opinion_docs(id) ON DELETE CASCADE,"
    " label TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,"
    " start INTEGER NOT NULL, end INTEGER NOT NULL, surface TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS opinion_mentions_entity ON opinion_mentions (label, key, doc)",
    "CREATE INDEX IF NOT EXISTS opinion_mentions_doc ON opinion_mentions (doc)",
    "CREATE TABLE IF NOT EXISTS opinion_tags ("
    " doc INTEGER NOT NULL REFERENCES opinion_docs(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (doc, kind, value)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS opinion_tags_value ON opinion_tags (kind, value, doc)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS opinion_fts USING fts5("
    " title, body, tokenize = 'unicode61 remove_diacritics 0')",
]

SCHEMA = Component("opinions_search", (Migration(1, "documents and the FTS5 index", tuple(_DDL)),))

_TIME = "%Y-%m-%dT%H:%M:%S"
_BUCKET_FORMAT = {"hour": "%Y-%m-%dT%H:00:00", "day": "%Y-%m-%dT00:00:00"}


def to_db_time(moment: dt.datetime) -> str:
    """UTC text that sorts by time; naive datetimes are refused rather than guessed."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: opinion times must carry a timezone")
    return moment.astimezone(dt.UTC).strftime(_TIME)


def from_db_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, _TIME).replace(tzinfo=dt.UTC)


def fts_query(text: str) -> tuple[str, list[str]]:
    """The FTS5 MATCH string (every jieba token, quoted) and the terms to highlight."""
    tokens = textmod.index_tokens(text).split()
    if not tokens:
        raise SearchQueryError(f"检索词 {text!r} 中没有可检索的字词")
    match = " AND ".join('"' + tok.replace('"', '""') + '"' for tok in tokens)
    return match, tokens


class SQLiteSearchStore:
    """The embedded adapter of :class:`sentiment.search.port.SearchStore`."""

    def __init__(self, path: str | Path | Database) -> None:
        self.db = path if isinstance(path, Database) else Database(path)

    def ensure_schema(self) -> None:
        migrate(self.db, SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- writes --------------------------------------------------------------------------

    def index(self, docs: Sequence[OpinionDoc]) -> None:
        rows = [
            (doc, textmod.index_tokens(doc.title), textmod.index_tokens(doc.text)) for doc in docs
        ]
        with self.db.transaction() as conn:
            for doc, title_tokens, body_tokens in rows:
                old = conn.execute(
                    "SELECT id FROM opinion_docs WHERE doc_id = ?", (doc.doc_id,)
                ).fetchone()
                if old is not None:
                    conn.execute("DELETE FROM opinion_fts WHERE rowid = ?", old)
                    conn.execute("DELETE FROM opinion_docs WHERE id = ?", old)
                cur = conn.execute(
                    "INSERT INTO opinion_docs (doc_id, url, canonical_url, source, title, body,"
                    " published, fetched, sentiment, score, repost_of, simhash, encoding)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        doc.doc_id, doc.url, doc.canonical_url, doc.source, doc.title, doc.text,
                        to_db_time(doc.published), to_db_time(doc.fetched), doc.sentiment,
                        doc.score, doc.repost_of, f"{doc.simhash:016x}", doc.encoding,
                    ),
                )  # fmt: skip
                rowid = cur.lastrowid
                conn.execute(
                    "INSERT INTO opinion_fts (rowid, title, body) VALUES (?, ?, ?)",
                    (rowid, title_tokens, body_tokens),
                )
                conn.executemany(
                    "INSERT INTO opinion_mentions VALUES (?,?,?,?,?,?,?)",
                    [
                        (rowid, m.label, m.key, m.name, m.start, m.end, m.surface)
                        for m in doc.mentions
                    ],
                )
                tags = {("category", c) for c in doc.categories} | {("rule", r) for r in doc.rules}
                conn.executemany(
                    "INSERT INTO opinion_tags VALUES (?,?,?)",
                    [(rowid, k, v) for k, v in sorted(tags)],
                )

    def delete(self, doc_ids: Sequence[str]) -> int:
        """Remove documents by ID (absent ones are ignored); returns how many existed."""
        removed = 0
        with self.db.transaction() as conn:
            for doc_id in doc_ids:
                row = conn.execute(
                    "SELECT id FROM opinion_docs WHERE doc_id = ?", (doc_id,)
                ).fetchone()
                if row is not None:
                    conn.execute("DELETE FROM opinion_fts WHERE rowid = ?", row)
                    conn.execute("DELETE FROM opinion_docs WHERE id = ?", row)
                    removed += 1
        return removed

    def reassign_reposts(self, old_original: str, new_original: str) -> int:
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE opinion_docs SET repost_of = ?"
                " WHERE (doc_id = ? OR repost_of = ?) AND doc_id != ?",
                (new_original, old_original, old_original, new_original),
            )
            return cur.rowcount

    # -- reads ---------------------------------------------------------------------------

    def count(self) -> int:
        return self.db.conn.execute("SELECT count(*) FROM opinion_docs").fetchone()[0]

    def get(self, doc_id: str) -> OpinionDoc | None:
        row = self.db.conn.execute(
            f"SELECT {_DOC_COLUMNS} FROM opinion_docs d WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        return self._docs([row])[0] if row else None

    def search(self, query: SearchQuery) -> SearchPage:
        where, params = _where(query.filters)
        terms: list[str] = []
        if query.text.strip():
            match, terms = fts_query(query.text)
            base = (
                "FROM opinion_fts f JOIN opinion_docs d ON d.id = f.rowid WHERE opinion_fts MATCH ?"
            )
            params = [match, *params]
            rank = "bm25(opinion_fts, 3.0, 1.0)"
        else:
            base = "FROM opinion_docs d WHERE 1"
            rank = "NULL"
        if where:
            base += " AND " + " AND ".join(where)
        conn = self.db.conn
        total = conn.execute(f"SELECT count(*) {base}", params).fetchone()[0]
        order = (
            "rank, d.published DESC"
            if query.sort == "relevance" and terms
            else "d.published DESC, d.id DESC"
        )
        rows = conn.execute(
            f"SELECT {_DOC_COLUMNS}, {rank} AS rank {base} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, query.limit, query.offset],
        ).fetchall()
        docs = self._docs([r[:-1] for r in rows])
        reposts = self._repost_counts([d.doc_id for d in docs])
        hits = []
        for doc, row in zip(docs, rows, strict=True):
            snippet, spans = make_snippet(doc.title + "：" + doc.text if terms else doc.text, terms)
            relevance = -row[-1] if row[-1] is not None else None
            hits.append(SearchHit(doc, snippet, spans, relevance, reposts.get(doc.doc_id, 0)))
        return SearchPage(total, hits)

    def histogram(self, filters: Filters, interval: Interval) -> list[Bucket]:
        where, params = _where(filters)
        fmt = _BUCKET_FORMAT[interval]
        rows = self.db.conn.execute(
            f"SELECT strftime('{fmt}', d.published, '+8 hours') AS b, d.sentiment, count(*)"
            f" FROM opinion_docs d WHERE {' AND '.join(where) or '1'} GROUP BY b, d.sentiment",
            params,
        ).fetchall()
        counts: dict[dt.datetime, dict[str, int]] = {}
        for bucket, label, n in rows:
            start = dt.datetime.strptime(bucket, _TIME).replace(tzinfo=CST)
            counts.setdefault(start, {})[label] = n
        return fill_buckets(counts, filters, interval)

    def hourly_counts(
        self, since: dt.datetime, until: dt.datetime, sentiment: Sentiment
    ) -> list[HourlyCount]:
        hour = f"strftime('{_BUCKET_FORMAT['hour']}', d.published, '+8 hours')"
        where = (
            " WHERE d.sentiment = ? AND d.published >= ? AND d.published < ?"
            " AND d.repost_of IS NULL"
        )
        params = [sentiment, to_db_time(since), to_db_time(until)]
        mentions = "FROM opinion_docs d JOIN opinion_mentions m ON m.doc = d.id"
        conn = self.db.conn
        rows = conn.execute(
            f"SELECT m.label || ':' || m.key, '*', {hour} AS h, count(DISTINCT d.id)"
            f" {mentions}{where} GROUP BY 1, h",
            params,
        ).fetchall()
        rows += conn.execute(
            f"SELECT m.label || ':' || m.key, t.value, {hour} AS h, count(DISTINCT d.id)"
            f" {mentions} JOIN opinion_tags t ON t.doc = d.id AND t.kind = 'category'"
            f"{where} GROUP BY 1, 2, h",
            params,
        ).fetchall()
        return [
            HourlyCount(entity, category, dt.datetime.strptime(h, _TIME).replace(tzinfo=CST), n)
            for entity, category, h, n in rows
        ]

    # -- helpers -------------------------------------------------------------------------

    def _docs(self, rows: Sequence[tuple[Any, ...]]) -> list[OpinionDoc]:
        if not rows:
            return []
        ids = [r[0] for r in rows]
        conn = self.db.conn
        mentions: dict[int, list[Mention]] = {}
        for doc, *fields in conn.execute(
            "SELECT doc, label, key, name, start, end, surface FROM opinion_mentions"
            " WHERE doc IN (SELECT value FROM json_each(?)) ORDER BY doc, start",
            (json.dumps(ids),),
        ):
            mentions.setdefault(doc, []).append(Mention(*fields))
        tags: dict[int, dict[str, list[str]]] = {}
        for doc, kind, value in conn.execute(
            "SELECT doc, kind, value FROM opinion_tags"
            " WHERE doc IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        ):
            tags.setdefault(doc, {}).setdefault(kind, []).append(value)
        docs = []
        for row in rows:
            (rowid, doc_id, url, canonical, source, title, body, published, fetched,
             sentiment, score, repost_of, simhash, encoding) = row  # fmt: skip
            doc_tags = tags.get(rowid, {})
            docs.append(
                OpinionDoc(
                    doc_id, url, canonical, source, title, body, from_db_time(published),
                    from_db_time(fetched), sentiment, score, sorted(doc_tags.get("category", [])),
                    sorted(doc_tags.get("rule", [])), mentions.get(rowid, []), repost_of,
                    int(simhash, 16), encoding,
                )
            )  # fmt: skip
        return docs

    def _repost_counts(self, doc_ids: list[str]) -> dict[str, int]:
        if not doc_ids:
            return {}
        rows = self.db.conn.execute(
            "SELECT repost_of, count(*) FROM opinion_docs"
            " WHERE repost_of IN (SELECT value FROM json_each(?)) GROUP BY repost_of",
            (json.dumps(doc_ids),),
        ).fetchall()
        return dict(rows)


_DOC_COLUMNS = (
    "d.id, d.doc_id, d.url, d.canonical_url, d.source, d.title, d.body, d.published,"
    " d.fetched, d.sentiment, d.score, d.repost_of, d.simhash, d.encoding"
)


def _where(filters: Filters) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if filters.source:
        where.append("d.source = ?")
        params.append(filters.source)
    if filters.sentiment:
        where.append("d.sentiment = ?")
        params.append(filters.sentiment)
    if filters.since:
        where.append("d.published >= ?")
        params.append(to_db_time(filters.since))
    if filters.until:
        where.append("d.published < ?")
        params.append(to_db_time(filters.until))
    if not filters.include_reposts:
        where.append("d.repost_of IS NULL")
    if filters.entity:
        label, sep, key = filters.entity.partition(":")
        if not sep or not key:
            raise SearchQueryError(
                f"实体应写作 标签:业务键，例如 Product:06901234567892，收到 {filters.entity!r}"
            )
        where.append("d.id IN (SELECT doc FROM opinion_mentions WHERE label = ? AND key = ?)")
        params += [label, key]
    if filters.category:
        where.append("d.id IN (SELECT doc FROM opinion_tags WHERE kind = 'category' AND value = ?)")
        params.append(filters.category)
    return where, params
