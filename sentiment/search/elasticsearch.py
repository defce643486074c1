"""The Elasticsearch search store: the same documents, tokens and answers as the embedded one.

Chinese text is indexed as the jieba tokens the embedded adapter stores
(:func:`sentiment.text.index_tokens`), in fields analysed by the built-in ``whitespace``
analyzer, so both stores match the same documents for the same query; filters are
``keyword`` fields, times are ``date`` fields (UTC, to the second).  Queries are built from
those tokens with ``match``/``term`` clauses only, never ``query_string``: Lucene syntax
in a user's text is plain text.

Layout (``prefix`` defaults to ``qtrace-``)::

    {prefix}opinions          alias every read and write goes through
    {prefix}opinions-v{N}     the index of schema version N (mapping in an index template)

``ensure_schema`` (``qtrace search migrate``) creates the template, the index and the alias
idempotently; when :data:`SCHEMA_VERSION` grows it builds the new index, copies the
documents and swaps the alias in one atomic call, so searches never stop.

While Elasticsearch is unreachable, writes wait in :class:`sentiment.search.queue.SearchQueue`
(a table in the embedded SQLite file) and are replayed, in order, before the next write.
Reads raise :class:`traceability.errors.StoreUnavailable` (HTTP 503 with Retry-After).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
    NotFoundError,
    TransportError,
    helpers,
)

from sentiment import text as textmod
from sentiment.search.buckets import check_span, fill_buckets
from sentiment.search.port import (
    CST,
    Bucket,
    Filters,
    HourlyCount,
    Interval,
    OpinionDoc,
    SearchHit,
    SearchPage,
    SearchQuery,
    SearchQueryError,
    Sentiment,
)
from sentiment.search.queue import QueuedWrite, SearchQueue, doc_from_dict, doc_to_dict
from sentiment.search.snippet import make_snippet
from sentiment.search.sqlite import fts_query, to_db_time
from traceability.errors import QtraceError, StoreUnavailable

log = logging.getLogger(__name__)

STORE = "Elasticsearch"
SCHEMA_VERSION = 1
MAX_RESULT_WINDOW = 10_000
_RETRYABLE = {429, 500, 502, 503, 504}
_CALENDAR = {"hour": "1h", "day": "1d"}
_TOKEN_FIELDS = ("title_tokens", "body_tokens")

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "auto_expand_replicas": "0-1",  # a single node is green, a cluster keeps a replica
    "max_result_window": MAX_RESULT_WINDOW,
}

# ``dynamic: strict``: a field the adapter does not know is a bug, not a new column.
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"qtrace_schema": SCHEMA_VERSION},
    "_source": {"excludes": list(_TOKEN_FIELDS)},  # recomputed from title and text
    "properties": {
        "doc_id": {"type": "keyword"},
        "url": {"type": "keyword", "index": False, "doc_values": False},
        "canonical_url": {"type": "keyword"},
        "source": {"type": "keyword"},
        "title": {"type": "text", "index": False},
        "text": {"type": "text", "index": False},
        # jieba tokens, space-separated and lower-cased, as the embedded FTS5 table holds.
        "title_tokens": {"type": "text", "analyzer": "whitespace", "copy_to": "all_tokens"},
        "body_tokens": {"type": "text", "analyzer": "whitespace", "copy_to": "all_tokens"},
        "all_tokens": {"type": "text", "analyzer": "whitespace"},
        "published": {"type": "date"},
        "fetched": {"type": "date"},
        "sentiment": {"type": "keyword"},
        "score": {"type": "float"},
        "categories": {"type": "keyword"},
        "rules": {"type": "keyword"},
        "entities": {"type": "keyword"},  # "Label:key" of every mention, for the filter
        "mentions": {"type": "object", "enabled": False},
        "repost_of": {"type": "keyword"},
        "simhash": {"type": "keyword", "index": False},
        "encoding": {"type": "keyword", "index": False},
    },
}


class SearchIndexError(QtraceError):
    """Elasticsearch refused some documents for good; each is kept in the queue with why."""

    status = 500
    code = "search_index_failed"
    title = "检索索引写入失败"


def _source(doc: OpinionDoc) -> dict[str, Any]:
    body = doc_to_dict(doc)
    body["title_tokens"] = textmod.index_tokens(doc.title)
    body["body_tokens"] = textmod.index_tokens(doc.text)
    body["entities"] = sorted({m.entity for m in doc.mentions})
    return body


def _doc(source: dict[str, Any]) -> OpinionDoc:
    return doc_from_dict({k: v for k, v in source.items() if k != "entities"})


def _es_time(moment: dt.datetime) -> str:
    return to_db_time(moment) + "Z"


def _reason(item: dict[str, Any]) -> str:
    error = item.get("error")
    if isinstance(error, dict):
        text = f"{error.get('type')}: {error.get('reason')}"
    else:
        text = str(error or item.get("result") or item.get("status"))
    return text if len(text) <= 300 else text[:300] + "…"


def filter_clauses(filters: Filters) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``filter`` and ``must_not`` clauses of the filters (same checks as the embedded)."""
    clauses: list[dict[str, Any]] = []
    must_not: list[dict[str, Any]] = []
    if filters.source:
        clauses.append({"term": {"source": filters.source}})
    if filters.sentiment:
        clauses.append({"term": {"sentiment": filters.sentiment}})
    if filters.since or filters.until:
        bounds: dict[str, str] = {}
        if filters.since:
            bounds["gte"] = _es_time(filters.since)
        if filters.until:
            bounds["lt"] = _es_time(filters.until)
        clauses.append({"range": {"published": bounds}})
    if not filters.include_reposts:
        must_not.append({"exists": {"field": "repost_of"}})
    if filters.entity:
        _label, sep, key = filters.entity.partition(":")
        if not sep or not key:
            raise SearchQueryError(
                f"实体应写作 标签:业务键，例如 Product:06901234567892，收到 {filters.entity!r}"
            )
        clauses.append({"term": {"entities": filters.entity}})
    if filters.category:
        clauses.append({"term": {"categories": filters.category}})
    return clauses, must_not


def client_from_settings(
    url: str,
    *,
    api_key: str = "",
    username: str = "",
    password: str = "",
    verify_tls: bool = True,
    ca_file: str = "",
    timeout: float = 10.0,
) -> Elasticsearch:
    """An Elasticsearch client for ``url`` (no connection is made until the first request)."""
    options: dict[str, Any] = {
        "request_timeout": timeout,
        "max_retries": 1,
        "retry_on_timeout": False,
    }
    if api_key:
        options["api_key"] = api_key
    elif username:
        options["basic_auth"] = (username, password)
    if url.startswith("https://"):
        options["verify_certs"] = verify_tls
        if ca_file:
            options["ca_certs"] = ca_file
        if not verify_tls:
            options["ssl_show_warn"] = False
    return Elasticsearch(url, **options)


class ElasticsearchSearchStore:
    """The Elasticsearch adapter of :class:`sentiment.search.port.SearchStore`."""

    def __init__(
        self,
        client: Elasticsearch,
        *,
        prefix: str = "qtrace-",
        queue: SearchQueue | None = None,
        refresh: bool | str = "wait_for",
        batch_size: int = 500,
        max_retries: int = 3,
        initial_backoff: float = 0.5,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.alias = f"{prefix}opinions"
        self.template = f"{prefix}opinions"
        self.queue = queue
        self.refresh = refresh
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self._ready = False
        self.last_error: str | None = None

    def index_name(self, version: int | None = None) -> str:
        return f"{self.alias}-v{SCHEMA_VERSION if version is None else version}"

    # -- errors --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Unreachable, overloaded, blocked or refusing credentials: a 503 naming the store."""
        try:
            yield
        except (AuthenticationException, AuthorizationException) as exc:
            self.last_error = f"Elasticsearch 拒绝了凭据或权限 (HTTP {exc.meta.status})：{exc}"
            raise StoreUnavailable(self.last_error, store=STORE) from None
        except NotFoundError as exc:
            if "index_not_found_exception" not in str(exc):
                raise
            self._ready = False
            self.last_error = (
                f"Elasticsearch 中没有检索索引 {self.alias}（先运行 qtrace search migrate）"
            )
            raise StoreUnavailable(self.last_error, store=STORE) from None
        except ApiError as exc:
            status = exc.meta.status
            blocked = "cluster_block_exception" in str(exc)
            if status in _RETRYABLE or blocked:
                self.last_error = f"Elasticsearch 暂时无法处理请求 (HTTP {status})：{exc}"
                raise StoreUnavailable(self.last_error, store=STORE) from None
            raise
        except TransportError as exc:  # connection refused, timeout, TLS …
            self.last_error = f"无法连接 Elasticsearch {self._where()}：{exc}"
            raise StoreUnavailable(self.last_error, store=STORE) from None

    def _where(self) -> str:
        try:
            return ", ".join(str(n.base_url) for n in self.client.transport.node_pool.all())
        except Exception:  # only a label for a message
            return ""

    def _ensure_ready(self) -> None:
        if not self._ready:
            self.ensure_schema()

    # -- schema --------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """The port's schema step: :meth:`migrate` without re-putting a current template."""
        self.migrate()

    def migrate(self, *, template: bool = False) -> dict[str, Any]:
        """Template, versioned index and alias; an older version is copied and swapped.

        When the alias already points at this version's index nothing is written (a service
        starting with a read/write-only API key needs no template privilege), unless
        ``template`` (``qtrace search migrate``) asks to put the template again.
        """
        target = self.index_name()
        report: dict[str, Any] = {"alias": self.alias, "index": target, "version": SCHEMA_VERSION}
        with self._guard():
            current = self._alias_indices()
            report["previous"] = current or None
            if target in current and not template:
                report["created"] = False
                self._ready = True
                self.last_error = None
                return report
            self.client.indices.put_index_template(
                name=self.template,
                index_patterns=[f"{self.alias}-v*"],
                template={"settings": SETTINGS, "mappings": MAPPINGS},
                priority=200,
                version=SCHEMA_VERSION,
                meta={"description": "qtrace opinion search", "schema_version": SCHEMA_VERSION},
            )
            report["created"] = self._create_index(target)
            if not current:
                self.client.indices.update_aliases(
                    actions=[{"add": {"index": target, "alias": self.alias}}]
                )
            elif target not in current:
                report["copied"] = self._upgrade(current, target)
        self._ready = True
        self.last_error = None
        return report

    def _alias_indices(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []

    def _create_index(self, name: str) -> bool:
        if self.client.indices.exists(index=name):
            return False
        try:
            self.client.indices.create(index=name, wait_for_active_shards="1")
        except BadRequestError as exc:
            if "resource_already_exists_exception" in str(exc):
                return False
            raise
        return True

    def _upgrade(self, old: list[str], new: str) -> int:
        """Copy every document into the new index and swap the alias atomically.

        Writes to the old index are blocked while copying: they fail with a cluster block,
        which the adapter treats as "unavailable", so they wait in the queue meanwhile.
        """
        self.client.indices.put_settings(index=",".join(old), settings={"index.blocks.write": True})
        try:
            self.client.indices.refresh(index=",".join(old))
            actions = (
                {"_op_type": "index", "_index": new, "_id": hit["_id"], "_source": _source(
                    _doc(hit["_source"])
                )}
                for hit in helpers.scan(self.client, index=",".join(old), size=self.batch_size)
            )  # fmt: skip
            copied, errors = helpers.bulk(
                self.client, actions, chunk_size=self.batch_size, raise_on_error=False
            )
            if isinstance(errors, list) and errors:
                raise SearchIndexError(
                    f"升级索引时 {len(errors)} 篇文档写入 {new} 失败，别名未切换：{errors[:3]}"
                )
            self.client.indices.refresh(index=new)
            self.client.indices.update_aliases(
                actions=[
                    *({"remove": {"index": i, "alias": self.alias}} for i in old),
                    {"add": {"index": new, "alias": self.alias, "is_write_index": True}},
                ]
            )
        finally:
            self.client.indices.put_settings(
                index=",".join(old), settings={"index.blocks.write": None}
            )
        return copied

    def drop(self) -> None:
        """Delete the alias's indices and the template (tests and ``reindex --replace``)."""
        with self._guard():
            self.client.indices.delete(index=f"{self.alias}-v*", ignore_unavailable=True)
            with contextlib.suppress(NotFoundError):
                self.client.indices.delete_index_template(name=self.template)
        self._ready = False

    def ping(self) -> bool:
        """Reachable, and the alias answers (needs only read privilege on it)."""
        try:
            self._ensure_ready()
            with self._guard():
                self.client.count(index=self.alias)
        except StoreUnavailable:
            return False
        return True

    def health(self) -> dict[str, Any]:
        """For the health endpoint: reachable or not, why, and what waits in the queue."""
        up = self.ping()
        pending, failed = self.queue.count() if self.queue else (0, 0)
        return {
            "engine": "elasticsearch",
            "status": "ok" if up else "unavailable",
            "detail": None if up else self.last_error,
            "alias": self.alias,
            "schemaVersion": SCHEMA_VERSION,
            "queued": pending,
            "failed": failed,
        }

    def close(self) -> None:
        self.client.close()

    # -- writes --------------------------------------------------------------------------

    def index(self, docs: Sequence[OpinionDoc]) -> None:
        if not docs:
            return
        sources = [_source(doc) for doc in docs]  # a naive datetime fails here, not queued
        if self.queue is not None and self.queue.has_pending() and not self.flush_queue():
            self.queue.put_index(docs)
            return
        actions = [
            {"_op_type": "index", "_index": self.alias, "_id": doc.doc_id, "_source": source}
            for doc, source in zip(docs, sources, strict=True)
        ]
        try:
            self._ensure_ready()
            failures = self._bulk(actions)
        except StoreUnavailable:
            if self.queue is None:
                raise
            log.warning("Elasticsearch unavailable: %d documents queued", len(docs))
            self.queue.put_index(docs)
            return
        if failures:
            self._refused(failures, docs)

    def _refused(self, failures: dict[int, str], docs: Sequence[OpinionDoc]) -> None:
        lines = [f"{docs[i].doc_id}: {reason}" for i, reason in sorted(failures.items())]
        if self.queue is not None:
            self.queue.put_failed([(docs[i], reason) for i, reason in sorted(failures.items())])
        for line in lines:
            log.error("Elasticsearch refused a document: %s", line)
        raise SearchIndexError(
            f"Elasticsearch 拒绝了 {len(lines)} 篇文档（已保留在待写队列中）：" + "；".join(lines)
        )

    def _bulk(self, actions: list[dict[str, Any]]) -> dict[int, str]:
        """Send in batches; retry what failed for a passing reason with backoff.

        Returns the position and reason of every action refused for good.  A lost connection,
        or items still overloaded after the retries, raise :class:`StoreUnavailable` (the
        caller queues them all; re-sending is idempotent).
        """
        todo = list(range(len(actions)))
        refused: dict[int, str] = {}
        delay = self.initial_backoff
        for attempt in range(self.max_retries + 1):
            again: list[int] = []
            with self._guard():
                results = helpers.streaming_bulk(
                    self.client,
                    (actions[i] for i in todo),
                    chunk_size=self.batch_size,
                    max_retries=0,
                    raise_on_error=False,
                    raise_on_exception=True,
                    refresh=self.refresh,
                    require_alias=True,
                )
                for i, (ok, result) in zip(todo, results, strict=True):
                    if ok:
                        continue
                    item = next(iter(result.values()))
                    status = int(item.get("status", 0))
                    if actions[i]["_op_type"] == "delete" and status == 404:
                        continue
                    if "index_not_found_exception" in str(item.get("error")):
                        self._ready = False  # the alias vanished: recreate it, then resend
                        raise StoreUnavailable(
                            f"Elasticsearch 中没有检索索引 {self.alias}", store=STORE
                        )
                    if status in _RETRYABLE:
                        again.append(i)
                    else:
                        refused[i] = _reason(item)
            if not again:
                break
            if attempt == self.max_retries:
                # Overloaded or shutting down, not a bad document: the caller queues the lot.
                self.last_error = (
                    f"Elasticsearch 繁忙：{len(again)} 项重试 {self.max_retries} 次仍失败"
                )
                raise StoreUnavailable(self.last_error, store=STORE)
            log.warning("Elasticsearch: retrying %d items in %.1f s", len(again), delay)
            time.sleep(delay)
            delay *= 2
            todo = again
        return refused

    def reassign_reposts(self, old_original: str, new_original: str) -> int:
        try:
            if self.queue is not None and self.queue.has_pending() and not self.flush_queue():
                raise StoreUnavailable("queue not drained", store=STORE)
            self._ensure_ready()
            return self._reassign(old_original, new_original)
        except StoreUnavailable:
            if self.queue is None:
                raise
            self.queue.put_reassign(old_original, new_original)
            return 0

    def _reassign(self, old_original: str, new_original: str) -> int:
        with self._guard():
            self.client.indices.refresh(index=self.alias)
            query = {
                "bool": {
                    "should": [
                        {"ids": {"values": [old_original]}},
                        {"term": {"repost_of": old_original}},
                    ],
                    "minimum_should_match": 1,
                    "must_not": [{"ids": {"values": [new_original]}}],
                }
            }
            ids = [
                hit["_id"]
                for hit in helpers.scan(
                    self.client, index=self.alias, query={"query": query}, _source=False
                )
            ]
        actions = [
            {
                "_op_type": "update",
                "_index": self.alias,
                "_id": i,
                "doc": {"repost_of": new_original},
            }
            for i in ids
        ]
        refused = self._bulk(actions)
        if refused:
            raise SearchIndexError(
                "转帖关系未能全部更新：" + "；".join(f"{ids[i]}: {r}" for i, r in refused.items())
            )
        return len(ids)

    def delete(self, doc_ids: Sequence[str]) -> int:
        """Remove documents by ID (absent ones are ignored); returns how many existed."""
        if not doc_ids:
            return 0
        try:
            if self.queue is not None and self.queue.has_pending() and not self.flush_queue():
                raise StoreUnavailable("queue not drained", store=STORE)
            self._ensure_ready()
            return self._delete(doc_ids)
        except StoreUnavailable:
            if self.queue is None:
                raise
            self.queue.put_delete(doc_ids)
            return 0

    def _delete(self, doc_ids: Sequence[str]) -> int:
        with self._guard():
            found = self.client.mget(index=self.alias, ids=list(doc_ids), source=False)
        existing = sum(1 for d in found["docs"] if d.get("found"))
        actions = [{"_op_type": "delete", "_index": self.alias, "_id": i} for i in doc_ids]
        refused = self._bulk(actions)
        if refused:
            raise SearchIndexError(
                "文档未能全部删除：" + "；".join(f"{doc_ids[i]}: {r}" for i, r in refused.items())
            )
        return existing

    def flush_queue(self) -> bool:
        """Replay queued writes in order; True when nothing is left pending."""
        if self.queue is None:
            return True
        try:
            self._ensure_ready()
            while batch := self.queue.pending(self.batch_size):
                self._replay(batch)
        except StoreUnavailable:
            return False
        return True

    def _replay(self, batch: list[QueuedWrite]) -> None:
        run: list[QueuedWrite] = []
        for write in batch:
            if write.op == "reassign":
                self._replay_run(run)
                run = []
                self._reassign(write.doc_id, write.payload["new"])
                self.queue.done([write.seq])  # type: ignore[union-attr]
            else:
                run.append(write)
        self._replay_run(run)

    def _replay_run(self, run: list[QueuedWrite]) -> None:
        if not run:
            return
        queue = self.queue
        assert queue is not None
        actions = [
            {"_op_type": "delete", "_index": self.alias, "_id": w.doc_id}
            if w.op == "delete"
            else {
                "_op_type": "index",
                "_index": self.alias,
                "_id": w.doc_id,
                "_source": _source(doc_from_dict(w.payload)),
            }
            for w in run
        ]
        queue.attempted([w.seq for w in run])
        refused = self._bulk(actions)
        if refused:
            queue.fail({run[i].seq: reason for i, reason in refused.items()})
            for i, reason in refused.items():
                log.error(
                    "Elasticsearch refused queued %s of %s: %s", run[i].op, run[i].doc_id, reason
                )
        queue.done([w.seq for i, w in enumerate(run) if i not in refused])

    # -- reads ---------------------------------------------------------------------------

    def _search(self, **body: Any) -> dict[str, Any]:
        self._ensure_ready()
        with self._guard():
            try:
                return dict(self.client.search(index=self.alias, **body))
            except BadRequestError as exc:
                raise SearchQueryError(f"检索条件无法执行：{exc.message}") from None

    def count(self) -> int:
        self._ensure_ready()
        with self._guard():
            return int(self.client.count(index=self.alias)["count"])

    def get(self, doc_id: str) -> OpinionDoc | None:
        self._ensure_ready()
        with self._guard():
            try:
                found = self.client.get(index=self.alias, id=doc_id)
            except NotFoundError:
                return None
        return _doc(found["_source"])

    def iter_docs(self, batch_size: int = 1000) -> Iterator[OpinionDoc]:
        """Every document, in no particular order (scroll), for ``qtrace search reindex``."""
        self._ensure_ready()
        with self._guard():
            for hit in helpers.scan(self.client, index=self.alias, size=batch_size):
                yield _doc(hit["_source"])

    def search(self, query: SearchQuery) -> SearchPage:
        if query.offset < 0 or query.limit < 0:
            raise SearchQueryError("分页参数不能为负数")
        if query.offset + query.limit > MAX_RESULT_WINDOW:
            raise SearchQueryError(f"翻页过深：最多查看前 {MAX_RESULT_WINDOW} 条结果")
        clauses, must_not = filter_clauses(query.filters)
        terms: list[str] = []
        should: list[dict[str, Any]] = []
        if query.text.strip():
            _, terms = fts_query(query.text)
            joined = " ".join(terms)
            clauses.append({"match": {"all_tokens": {"query": joined, "operator": "and"}}})
            should = [
                {"match": {"title_tokens": {"query": joined, "boost": 3.0}}},
                {"match": {"body_tokens": {"query": joined}}},
            ]
        bool_query: dict[str, Any] = {"filter": clauses, "must_not": must_not}
        if should:
            bool_query["should"] = should
        tiebreak = [{"published": "desc"}, {"doc_id": "desc"}]
        sort = ["_score", *tiebreak] if query.sort == "relevance" and terms else tiebreak
        resp = self._search(
            query={"bool": bool_query},
            sort=sort,
            from_=query.offset,
            size=query.limit,
            track_total_hits=True,
            track_scores=bool(terms),
        )
        raw = resp["hits"]["hits"]
        docs = [_doc(h["_source"]) for h in raw]
        reposts = self._repost_counts([d.doc_id for d in docs])
        hits = []
        for doc, h in zip(docs, raw, strict=True):
            snippet, spans = make_snippet(doc.title + "：" + doc.text if terms else doc.text, terms)
            relevance = float(h["_score"]) if terms and h.get("_score") is not None else None
            hits.append(SearchHit(doc, snippet, spans, relevance, reposts.get(doc.doc_id, 0)))
        return SearchPage(int(resp["hits"]["total"]["value"]), hits)

    def _repost_counts(self, doc_ids: list[str]) -> dict[str, int]:
        if not doc_ids:
            return {}
        resp = self._search(
            size=0,
            query={"terms": {"repost_of": doc_ids}},
            aggs={"r": {"terms": {"field": "repost_of", "size": len(doc_ids)}}},
        )
        return {b["key"]: int(b["doc_count"]) for b in resp["aggregations"]["r"]["buckets"]}

    def histogram(self, filters: Filters, interval: Interval) -> list[Bucket]:
        clauses, must_not = filter_clauses(filters)
        check_span(filters, interval)
        resp = self._search(
            size=0,
            query={"bool": {"filter": clauses, "must_not": must_not}},
            aggs={
                "b": {
                    "date_histogram": {
                        "field": "published",
                        "calendar_interval": _CALENDAR[interval],
                        "time_zone": "+08:00",
                        "min_doc_count": 1,
                    },
                    "aggs": {"s": {"terms": {"field": "sentiment", "size": 10}}},
                },
            },
        )
        counts: dict[dt.datetime, dict[str, int]] = {}
        for b in resp["aggregations"]["b"]["buckets"]:
            start = dt.datetime.fromtimestamp(b["key"] / 1000, CST)
            counts[start] = {s["key"]: int(s["doc_count"]) for s in b["s"]["buckets"]}
        return fill_buckets(counts, filters, interval)

    def hourly_counts(
        self, since: dt.datetime, until: dt.datetime, sentiment: Sentiment
    ) -> list[HourlyCount]:
        query = {
            "bool": {
                "filter": [
                    {"term": {"sentiment": sentiment}},
                    {"range": {"published": {"gte": _es_time(since), "lt": _es_time(until)}}},
                ],
                "must_not": [{"exists": {"field": "repost_of"}}],
            }
        }
        hour = {
            "date_histogram": {
                "field": "published",
                "calendar_interval": "1h",
                "time_zone": "+08:00",
            }
        }
        out: list[HourlyCount] = []
        for sources in (
            [{"e": {"terms": {"field": "entities"}}}, {"h": hour}],
            [
                {"e": {"terms": {"field": "entities"}}},
                {"c": {"terms": {"field": "categories"}}},
                {"h": hour},
            ],
        ):
            for key, n in self._composite(query, sources):
                start = dt.datetime.fromtimestamp(key["h"] / 1000, CST)
                out.append(HourlyCount(key["e"], key.get("c", "*"), start, n))
        return out

    def _composite(
        self, query: dict[str, Any], sources: list[dict[str, Any]]
    ) -> Iterable[tuple[dict[str, Any], int]]:
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {"size": 1000, "sources": sources}
            if after:
                composite["after"] = after
            resp = self._search(size=0, query=query, aggs={"c": {"composite": composite}})
            agg = resp["aggregations"]["c"]
            for b in agg["buckets"]:
                yield b["key"], int(b["doc_count"])
            after = agg.get("after_key")
            if not after or not agg["buckets"]:
                return
