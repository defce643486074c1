"""The search store contract: every adapter (embedded FTS5, Elasticsearch) gives the same answers.

The Elasticsearch runs need a real server (``bash scripts/services.sh start es`` then
``source ~/.cache/qtrace-services/run/env.sh``); without ``QTRACE_TEST_ES_URL`` they skip,
and under ``CI=true`` they fail.  Every test gets its own indices under a prefix unique to
the session, and deletes them afterwards.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch, TransportError

from sentiment.search.elasticsearch import ElasticsearchSearchStore, client_from_settings
from sentiment.search.port import (
    CST,
    Filters,
    Mention,
    OpinionDoc,
    SearchQuery,
    SearchQueryError,
)
from sentiment.search.queue import SearchQueue
from sentiment.search.snippet import snippet_html
from sentiment.search.sqlite import SQLiteSearchStore
from sentiment.text import add_user_words
from tests.conftest import require_or_skip

pytestmark = pytest.mark.filterwarnings("ignore::elasticsearch.ElasticsearchWarning")

T0 = dt.datetime(2026, 11, 20, 9, 30, tzinfo=CST)
PRODUCT = Mention("Product", "06941234567892", "奇维牧场婴儿配方奶粉1段", 0, 4, "奇维牧场")

# -- Elasticsearch test server -------------------------------------------------------------

ES_ENV = "QTRACE_TEST_ES_URL"
SESSION_PREFIX = f"qtrace-test-{os.getpid()}-{uuid.uuid4().hex[:8]}-"
_numbers = itertools.count()
_es_unreachable: list[str] = []  # remembered, so a down server costs one timeout per run
_es_clients: list[Elasticsearch] = []


def es_url() -> str:
    url = os.environ.get(ES_ENV, "")
    require_or_skip(
        bool(url),
        f"未设置 {ES_ENV}：先运行 bash scripts/services.sh start es 并 source 其 env.sh "
        "(Elasticsearch test server not configured)",
    )
    return url


def es_client() -> Elasticsearch:
    """A client of the test Elasticsearch, or a skip (a failure under CI=true)."""
    url = es_url()
    require_or_skip(not _es_unreachable, "; ".join(_es_unreachable[:1]))
    client = client_from_settings(url, timeout=30)
    try:
        client.cluster.health(wait_for_status="yellow", timeout="20s")
    except (TransportError, ApiError) as exc:
        client.close()
        _es_unreachable.append(f"Elasticsearch {url} 不可达 (unreachable): {exc}")
        require_or_skip(False, _es_unreachable[0])
    _es_clients.append(client)
    return client


def unique_prefix() -> str:
    return f"{SESSION_PREFIX}{next(_numbers)}-"


def open_test_es(queue: SearchQueue | None = None, **options: Any) -> ElasticsearchSearchStore:
    """A fresh, empty Elasticsearch store under a prefix no other test or run uses."""
    options.setdefault("refresh", True)  # not "wait_for": a test need not wait a second
    store = ElasticsearchSearchStore(es_client(), prefix=unique_prefix(), queue=queue, **options)
    store.ensure_schema()
    return store


@pytest.fixture(scope="session", autouse=True)
def _delete_session_indices() -> Iterator[None]:
    yield
    for client in _es_clients[:1]:
        try:
            client.indices.delete(index=f"{SESSION_PREFIX}*", ignore_unavailable=True)
            client.indices.delete_index_template(name=f"{SESSION_PREFIX}*")
        except (TransportError, ApiError):
            pass
    for client in _es_clients:
        client.close()


# -- the corpus ----------------------------------------------------------------------------


def make_doc(
    n: int | str,
    title: str,
    text: str,
    *,
    hours: float = 0,
    sentiment: str = "negative",
    source: str = "论坛",
    categories: list[str] | None = None,
    mentions: list[Mention] | None = None,
    repost_of: str | None = None,
) -> OpinionDoc:
    return OpinionDoc(
        doc_id=f"d{n}", url=f"http://x.test/{n}", canonical_url=f"http://x.test/{n}",
        source=source, title=title, text=text, published=T0 + dt.timedelta(hours=hours),
        fetched=T0 + dt.timedelta(hours=hours, minutes=5), sentiment=sentiment,  # type: ignore[arg-type]
        score=0.1 if sentiment == "negative" else 0.9, categories=categories or [],
        mentions=mentions or [], repost_of=repost_of,
    )  # fmt: skip


def corpus() -> list[OpinionDoc]:
    return [
        make_doc(1, "奶粉结块", "奇维牧场的奶粉打开就结块，宝宝喝了拉肚子。", hours=0,
                 categories=["food_safety"], mentions=[PRODUCT]),
        make_doc(2, "物流很快", "包装完好，奶粉溶解很好，宝宝爱喝。", hours=1, sentiment="positive",
                 source="RSS"),
        make_doc(3, "吹风机冒烟", "用了两天吹风机就冒烟了，太吓人。", hours=26,
                 categories=["safety_hazard"]),
        make_doc(4, "转帖：奶粉结块", "奇维牧场的奶粉打开就结块，宝宝喝了拉肚子。转自论坛", hours=2,
                 categories=["food_safety"], mentions=[PRODUCT], repost_of="d1"),
    ]  # fmt: skip


def _sqlite(tmp_path: Path) -> Any:
    store = SQLiteSearchStore(tmp_path / "qtrace.db")
    store.ensure_schema()
    return store


def _elasticsearch(tmp_path: Path) -> Any:
    return open_test_es()


# Each adapter of the search store port; every test here runs against each of them.
SEARCH_FACTORIES: dict[str, Callable[[Path], Any]] = {
    "sqlite": _sqlite,
    "elasticsearch": _elasticsearch,
}


def _close(store: Any) -> None:
    if isinstance(store, ElasticsearchSearchStore):
        store.drop()
    store.close()


@pytest.fixture(params=sorted(SEARCH_FACTORIES))
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    add_user_words(["奇维牧场"])
    store = SEARCH_FACTORIES[request.param](tmp_path)
    yield store
    _close(store)


@pytest.fixture
def search(empty_store: Any) -> Any:
    empty_store.index(corpus())
    return empty_store


def ids(page: Any) -> list[str]:
    return [h.doc.doc_id for h in page.hits]


# -- indexing ------------------------------------------------------------------------------


def test_index_and_get_round_trip(search: Any) -> None:
    assert search.count() == 4
    doc = search.get("d1")
    assert doc == corpus()[0]
    assert doc.published == T0 and doc.mentions == [PRODUCT]
    assert search.get("nope") is None


def test_reindex_is_idempotent_and_replaces(search: Any) -> None:
    search.index(corpus())  # the same IDs again: nothing doubles
    assert search.count() == 4
    assert search.search(SearchQuery("结块", Filters(include_reposts=True))).total == 2
    doc = search.get("d1")
    doc.title, doc.text = "更新", "已经换货，问题解决。"
    doc.categories = []
    search.index([doc])
    assert search.search(SearchQuery("结块")).total == 0
    assert search.search(SearchQuery("换货")).total == 1
    assert search.search(SearchQuery("", Filters(category="food_safety"))).total == 0
    assert search.count() == 4


def test_delete(search: Any) -> None:
    assert search.delete(["d3", "missing"]) == 1
    assert search.get("d3") is None
    assert search.count() == 3
    assert search.search(SearchQuery("吹风机")).total == 0
    assert search.delete([]) == 0


def test_reassign_reposts(search: Any) -> None:
    search.index([make_doc(5, "奶粉结块（首发）", "奶粉打开就结块。", hours=-1)])
    assert search.reassign_reposts("d1", "d5") == 2  # d1 and its repost d4
    assert search.get("d1").repost_of == "d5" and search.get("d4").repost_of == "d5"
    page = search.search(SearchQuery("结块"))
    assert ids(page) == ["d5"] and page.hits[0].reposts == 2


# -- search --------------------------------------------------------------------------------


def test_chinese_words_match_as_jieba_tokens(search: Any) -> None:
    page = search.search(SearchQuery("结块"))
    assert ids(page) == ["d1"]  # the repost is not a new voice
    assert ids(search.search(SearchQuery("奇维牧场"))) == ["d1"]  # a user word is one token
    assert search.search(SearchQuery("奶粉 冒烟")).total == 0  # every word must match
    assert search.search(SearchQuery("吹风机 冒烟")).total == 1
    assert search.search(SearchQuery("奶")).total == 0  # a token, not a substring


def test_highlighted_snippet(search: Any) -> None:
    hit = search.search(SearchQuery("拉肚子")).hits[0]
    marked = [hit.snippet[a:b] for a, b in hit.highlights]
    assert "拉肚子" in marked
    assert hit.snippet.startswith("奶粉结块：")
    assert "<mark>拉肚子</mark>" in snippet_html(hit.snippet, hit.highlights)
    plain = search.search(SearchQuery("", Filters(source="RSS"))).hits[0]
    assert plain.highlights == [] and plain.relevance is None


def test_reposts_counted_on_original_and_included_on_request(search: Any) -> None:
    assert search.search(SearchQuery("结块")).hits[0].reposts == 1
    page = search.search(SearchQuery("结块", Filters(include_reposts=True)))
    assert sorted(ids(page)) == ["d1", "d4"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(), ["d3", "d2", "d1"]),
        (Filters(source="RSS"), ["d2"]),
        (Filters(sentiment="negative"), ["d3", "d1"]),
        (Filters(sentiment="positive"), ["d2"]),
        (Filters(category="safety_hazard"), ["d3"]),
        (Filters(entity="Product:06941234567892"), ["d1"]),
        (Filters(entity="Product:06941234567892", include_reposts=True), ["d4", "d1"]),
        (Filters(since=T0 + dt.timedelta(hours=1), until=T0 + dt.timedelta(hours=2)), ["d2"]),
        (Filters(since=T0 + dt.timedelta(hours=2)), ["d3"]),
        (Filters(until=T0 + dt.timedelta(hours=1)), ["d1"]),
        (Filters(include_reposts=True), ["d3", "d4", "d2", "d1"]),
        (Filters(source="RSS", sentiment="negative"), []),
        (Filters(entity="Brand:nobody"), []),
    ],
)
def test_filters(search: Any, filters: Filters, expected: list[str]) -> None:
    page = search.search(SearchQuery("", filters))
    assert ids(page) == expected
    assert page.total == len(expected)


def test_text_and_filters_together(search: Any) -> None:
    assert ids(search.search(SearchQuery("奶粉", Filters(sentiment="positive")))) == ["d2"]
    assert ids(search.search(SearchQuery("奶粉", Filters(source="论坛")))) == ["d1"]


def test_sort_by_time_or_relevance(search: Any) -> None:
    assert ids(search.search(SearchQuery("奶粉", sort="time"))) == ["d2", "d1"]
    by_rank = search.search(SearchQuery("奶粉 结块", sort="relevance")).hits
    assert by_rank[0].doc.doc_id == "d1" and by_rank[0].relevance is not None
    by_title = search.search(SearchQuery("结块", Filters(include_reposts=True), sort="relevance"))
    assert by_title.hits[0].relevance >= by_title.hits[1].relevance


def test_pages(search: Any) -> None:
    first = search.search(SearchQuery("", Filters(include_reposts=True), offset=0, limit=2))
    second = search.search(SearchQuery("", Filters(include_reposts=True), offset=2, limit=2))
    assert first.total == second.total == 4
    assert ids(first) + ids(second) == ["d3", "d4", "d2", "d1"]


# -- aggregations --------------------------------------------------------------------------


def test_histogram_hourly_and_daily_in_china_time(search: Any) -> None:
    hours = search.histogram(Filters(), "hour")
    assert hours[0].start == dt.datetime(2026, 11, 20, 9, tzinfo=CST)
    assert (hours[0].negative, hours[0].positive) == (1, 0)
    assert (hours[1].negative, hours[1].positive) == (0, 1)
    assert len(hours) == 27 and sum(b.negative for b in hours) == 2  # empty hours kept
    days = search.histogram(Filters(), "day")
    assert [(b.start.day, b.negative, b.positive) for b in days] == [(20, 1, 1), (21, 1, 0)]


def test_histogram_with_filters_and_bounds(search: Any) -> None:
    since = dt.datetime(2026, 11, 19, 0, tzinfo=CST)
    until = dt.datetime(2026, 11, 22, 0, tzinfo=CST)
    days = search.histogram(Filters(since=since, until=until, include_reposts=True), "day")
    assert [(b.start.day, b.negative, b.positive) for b in days] == [
        (19, 0, 0), (20, 2, 1), (21, 1, 0), (22, 0, 0),
    ]  # fmt: skip
    assert search.histogram(Filters(source="nobody"), "day") == []
    only = search.histogram(Filters(category="safety_hazard"), "hour")
    assert [(b.start.hour, b.negative) for b in only] == [(11, 1)]
    with pytest.raises(SearchQueryError):
        search.histogram(Filters(since=since, until=since + dt.timedelta(days=400)), "hour")


def test_hourly_counts_per_entity_and_category(search: Any) -> None:
    rows = search.hourly_counts(T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=2), "negative")
    got = sorted((r.entity, r.category, r.hour, r.count) for r in rows)
    hour = dt.datetime(2026, 11, 20, 9, tzinfo=CST)
    assert got == [
        ("Product:06941234567892", "*", hour, 1),
        ("Product:06941234567892", "food_safety", hour, 1),
    ]
    assert search.hourly_counts(T0, T0 + dt.timedelta(days=2), "positive") == []


# -- bad and hostile queries ---------------------------------------------------------------


def test_bad_queries_are_refused(search: Any) -> None:
    with pytest.raises(SearchQueryError):
        search.search(SearchQuery("，。！"))
    with pytest.raises(SearchQueryError):
        search.search(SearchQuery("", Filters(entity="no-colon")))
    with pytest.raises(SearchQueryError):
        search.histogram(Filters(entity="Product:"), "day")


@pytest.mark.parametrize(
    "text",
    [
        '奶粉" OR "吹风机',
        "奶粉 OR 吹风机",
        "吹风机 || 奶粉",
        "奶粉 AND NOT 结块",
        "source:RSS 奶粉",
        "sentiment:positive OR 结块",
        "repost_of:d1",
        "奶粉~ 吹风*",
        "(奶粉) [1 TO 9] {a TO b}",
        "/.*/",
        "奶粉^100 \\ ! + - && ?",
        '{"match_all": {}}',
        "_exists_:repost_of",
        "*",
    ],
)
def test_query_syntax_is_plain_text(search: Any, text: str) -> None:
    """Lucene/Elasticsearch/FTS5 syntax never widens the match nor the user's filters."""
    try:
        page = search.search(SearchQuery(text, Filters(source="论坛")))
    except SearchQueryError:
        return  # nothing searchable left: a 400, never a 500
    assert page.total <= 1
    assert all(h.doc.source == "论坛" and h.doc.repost_of is None for h in page.hits)
    assert "d3" not in ids(page) or "吹风机" in text


def test_same_answers_from_both_adapters(tmp_path: Path) -> None:
    """The same corpus and queries through both stores give equal pages and buckets."""
    add_user_words(["奇维牧场"])
    embedded = _sqlite(tmp_path)
    remote = open_test_es()
    try:
        for store in (embedded, remote):
            store.index(corpus())
        for query in (
            SearchQuery("奶粉"),
            SearchQuery("宝宝", Filters(include_reposts=True)),
            SearchQuery("", Filters(sentiment="negative", include_reposts=True)),
        ):
            a, b = embedded.search(query), remote.search(query)
            assert a.total == b.total
            assert [(h.doc, h.snippet, h.highlights, h.reposts) for h in a.hits] == [
                (h.doc, h.snippet, h.highlights, h.reposts) for h in b.hits
            ]
        for interval in ("hour", "day"):
            assert embedded.histogram(Filters(), interval) == remote.histogram(Filters(), interval)
    finally:
        embedded.close()
        _close(remote)
