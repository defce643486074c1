"""Elasticsearch adapter specifics: selection by settings, unreachable → 503, the durable
write queue, refused items, retries with backoff, and the versioned index behind an alias."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from config import load_settings
from sentiment.db import Database
from sentiment.search import elasticsearch as es_module
from sentiment.search.elasticsearch import (
    ElasticsearchSearchStore,
    SearchIndexError,
    client_from_settings,
)
from sentiment.search.port import Filters, SearchQuery
from sentiment.search.queue import SearchQueue
from sentiment.search.select import open_search_store, open_search_url
from sentiment.search.sqlite import SQLiteSearchStore
from sentiment.text import add_user_words
from tests.test_search_contract import corpus, es_client, make_doc, open_test_es, unique_prefix
from traceability.app.web import close_app, create_app
from traceability.errors import ConfigurationError, StoreUnavailable

pytestmark = pytest.mark.filterwarnings("ignore::elasticsearch.ElasticsearchWarning")


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def unreachable_store(queue: SearchQueue | None, prefix: str = "qtrace-x-") -> Any:
    client = client_from_settings(closed_port_url(), timeout=2)
    return ElasticsearchSearchStore(client, prefix=prefix, queue=queue, refresh=True)


@pytest.fixture
def queue(tmp_path: Path) -> Any:
    db = Database(tmp_path / "qtrace.db")
    q = SearchQueue(db)
    q.ensure_schema()
    yield q
    db.close()


# -- selection -----------------------------------------------------------------------------


def test_adapter_selected_by_settings(tmp_path: Path) -> None:
    db = Database(tmp_path / "qtrace.db")
    try:
        embedded = load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)})
        assert isinstance(open_search_store(embedded, db), SQLiteSearchStore)
        remote = load_settings(
            environ={
                "QTRACE_DATA_DIR": str(tmp_path),
                "QTRACE_SEARCH_URL": "https://search.example:9200",
                "QTRACE_SEARCH_API_KEY": "aWQ6a2V5",
                "QTRACE_SEARCH_VERIFY_TLS": "false",
                "QTRACE_SEARCH_INDEX_PREFIX": "site-",
            }
        )
        store = open_search_store(remote, db)
        assert isinstance(store, ElasticsearchSearchStore)
        assert store.alias == "site-opinions" and store.queue is not None
        store.close()
        bad = load_settings(environ={"QTRACE_SEARCH_URL": "elastic://nope"})
        with pytest.raises(ConfigurationError):
            open_search_store(bad, db)
        with pytest.raises(ConfigurationError):
            open_search_url("ftp://x", embedded)
    finally:
        db.close()


# -- unreachable at start ------------------------------------------------------------------


def test_unreachable_at_start_service_starts_and_search_answers_503(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "QTRACE_DATA_DIR": str(tmp_path),
            "QTRACE_SEARCH_URL": closed_port_url(),
            "QTRACE_SEARCH_TIMEOUT": "2",
        }
    )
    app = create_app(settings)  # no traceback: the service starts
    try:
        service = app.extensions["qtrace"].feature("opinions")
        health = service.search_health()
        assert health["engine"] == "elasticsearch" and health["status"] == "unavailable"
        assert "无法连接" in health["detail"]
        client = app.test_client()
        for path in ("/api/v1/opinions/search?q=奶粉", "/api/v1/opinions/trend?interval=day"):
            response = client.get(path)
            assert response.status_code == 503, response.get_data(as_text=True)
            assert response.headers["Retry-After"] == "30"
            body = response.get_json()
            assert body["code"] == "store_unavailable" and body["store"] == "Elasticsearch"
            assert "Traceback" not in response.get_data(as_text=True)
        assert client.get("/api/v1/health").status_code == 200
        # A crawled document is not lost: it waits in the queue of the embedded file.
        service.search.index([make_doc(1, "奶粉结块", "打开就结块。")])
        assert service.search.queue.count() == (1, 0)
    finally:
        close_app(app)


# -- the durable queue ---------------------------------------------------------------------


def test_writes_wait_in_the_queue_and_replay_in_order(queue: SearchQueue) -> None:
    add_user_words(["奇维牧场"])
    prefix = unique_prefix()
    down = unreachable_store(queue, prefix)
    down.index(corpus())
    down.index([make_doc(5, "奶粉结块（首发）", "奶粉打开就结块。", hours=-1)])
    assert down.reassign_reposts("d1", "d5") == 0  # queued: nothing changed yet
    assert down.delete(["d3"]) == 0
    assert queue.count() == (7, 0)
    with pytest.raises(StoreUnavailable) as raised:
        down.search(SearchQuery("奶粉"))
    assert raised.value.store == "Elasticsearch" and raised.value.retry_after == 30
    assert down.health()["queued"] == 7
    down.close()

    up = ElasticsearchSearchStore(es_client(), prefix=prefix, queue=queue, refresh=True)
    try:
        assert up.flush_queue() is True
        assert queue.count() == (0, 0)
        assert up.count() == 4  # d1, d2, d4, d5 (d3 deleted)
        assert up.get("d1").repost_of == "d5" and up.get("d4").repost_of == "d5"
        page = up.search(SearchQuery("结块"))
        assert [h.doc.doc_id for h in page.hits] == ["d5"] and page.hits[0].reposts == 2
        # The next write drains first, then indexes: order is kept.
        queue.put_delete(["d2"])
        up.index([make_doc(6, "吹风机冒烟", "又冒烟了。", hours=30)])
        assert queue.count() == (0, 0) and up.get("d2") is None and up.count() == 4
        assert up.health()["status"] == "ok"
    finally:
        up.drop()
        up.close()


def test_refused_item_is_reported_with_its_reason_and_kept(queue: SearchQueue) -> None:
    store = open_test_es(queue=queue)
    try:
        huge = make_doc(2, "标题", "正文", source="x" * 40_000)  # an immense keyword term
        with pytest.raises(SearchIndexError) as raised:
            store.index([make_doc(1, "奶粉结块", "打开就结块。"), huge])
        assert "d2" in raised.value.detail
        assert store.count() == 1 and store.get("d1") is not None  # the good one is in
        (parked,) = queue.failed()
        assert parked.doc_id == "d2" and "document_parsing_exception" in parked.failed
        assert queue.count() == (0, 1)
        # Parked writes stay out of line: the next write does not wait for them.
        store.index([make_doc(3, "吹风机", "冒烟")])
        assert store.count() == 2 and queue.count() == (0, 1)
    finally:
        store.drop()
        store.close()


def test_failed_items_are_retried_with_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_bulk(client: Any, actions: Any, **kwargs: Any) -> Any:
        batch = list(actions)
        calls.append([a["_id"] for a in batch])
        for i, action in enumerate(batch):
            status = 429 if len(calls) == 1 and i == 0 else 201
            item = {"_id": action["_id"], "status": status}
            if status == 429:
                item["error"] = {"type": "es_rejected_execution_exception", "reason": "busy"}
            yield status < 300, {"index": item}

    monkeypatch.setattr(es_module.helpers, "streaming_bulk", fake_bulk)
    store = unreachable_store(None)
    store._ready = True
    store.initial_backoff = 0.01
    store.index([make_doc(1, "a", "b"), make_doc(2, "c", "d")])
    assert calls == [["d1", "d2"], ["d1"]]

    def always_busy(client: Any, actions: Any, **kwargs: Any) -> Any:
        for action in actions:
            calls.append([action["_id"]])
            yield False, {"index": {"status": 429, "error": {"type": "busy", "reason": "x"}}}

    monkeypatch.setattr(es_module.helpers, "streaming_bulk", always_busy)
    calls.clear()
    with pytest.raises(StoreUnavailable, match="繁忙"):  # with a queue: queued, not refused
        store.index([make_doc(3, "a", "b")])
    assert len(calls) == store.max_retries + 1
    store.close()


def test_no_queue_means_unavailable_is_raised() -> None:
    store = unreachable_store(None)
    with pytest.raises(StoreUnavailable):
        store.index([make_doc(1, "a", "b")])
    with pytest.raises(StoreUnavailable):
        store.count()
    assert store.ping() is False
    store.close()


# -- schema: idempotent, versioned, alias swap ---------------------------------------------


def test_migrate_is_idempotent_and_an_upgrade_swaps_the_alias(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = open_test_es()
    try:
        again = store.migrate()
        assert again["created"] is False and again["previous"] == [store.index_name(1)]
        store.index(corpus())
        monkeypatch.setattr(es_module, "SCHEMA_VERSION", 2)
        report = store.migrate()
        assert report["index"] == store.index_name(2) and report["copied"] == 4
        assert sorted(store.client.indices.get_alias(name=store.alias)) == [store.index_name(2)]
        assert store.count() == 4
        assert store.search(SearchQuery("结块", Filters(include_reposts=True))).total == 2
        store.index([make_doc(7, "新帖", "升级之后写入")])  # the old index's write block is gone
        assert store.count() == 5
        settings = store.client.indices.get_settings(index=store.index_name(1))
        assert "blocks" not in settings[store.index_name(1)]["settings"]["index"]
    finally:
        store.drop()
        store.close()


def test_template_and_mapping_are_versioned() -> None:
    store = open_test_es()
    try:
        template = store.client.indices.get_index_template(name=store.template)
        (entry,) = template["index_templates"]
        assert entry["index_template"]["version"] == es_module.SCHEMA_VERSION
        mapping = store.client.indices.get_mapping(index=store.alias)
        props = next(iter(mapping.values()))["mappings"]
        assert props["dynamic"] == "strict"
        assert props["properties"]["all_tokens"]["analyzer"] == "whitespace"
    finally:
        store.drop()
        store.close()
