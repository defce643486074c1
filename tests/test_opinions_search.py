"""The embedded search store: FTS5 over jieba tokens, filters, sorting, histograms."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sentiment.search.port import (
    CST,
    Filters,
    Mention,
    OpinionDoc,
    SearchQuery,
    SearchQueryError,
    SearchStore,
)
from sentiment.search.snippet import snippet_html
from sentiment.search.sqlite import SQLiteSearchStore
from sentiment.text import add_user_words

T0 = dt.datetime(2026, 11, 20, 9, 30, tzinfo=CST)
PRODUCT = Mention("Product", "06941234567892", "奇维牧场婴儿配方奶粉1段", 0, 4, "奇维牧场")


def _doc(
    n: int,
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


@pytest.fixture
def search(tmp_path: Path) -> SearchStore:
    add_user_words(["奇维牧场"])
    store = SQLiteSearchStore(tmp_path / "qtrace.db")
    store.ensure_schema()
    store.index(
        [
            _doc(1, "奶粉结块", "奇维牧场的奶粉打开就结块，宝宝喝了拉肚子。", hours=0,
                 categories=["food_safety"], mentions=[PRODUCT]),
            _doc(2, "物流很快", "包装完好，奶粉溶解很好，宝宝爱喝。", hours=1, sentiment="positive",
                 source="RSS"),
            _doc(3, "吹风机冒烟", "用了两天吹风机就冒烟了，太吓人。", hours=26,
                 categories=["safety_hazard"]),
            _doc(4, "转帖：奶粉结块", "奇维牧场的奶粉打开就结块，宝宝喝了拉肚子。转自论坛", hours=2,
                 categories=["food_safety"], mentions=[PRODUCT], repost_of="d1"),
        ]
    )  # fmt: skip
    yield store
    store.close()


def test_chinese_words_match_as_jieba_tokens(search: SearchStore) -> None:
    page = search.search(SearchQuery("结块"))
    assert [h.doc.doc_id for h in page.hits] == ["d1"]  # the repost is not a new voice
    # A brand added as a user word is one token: a search for it matches it whole.
    assert [h.doc.doc_id for h in search.search(SearchQuery("奇维牧场")).hits] == ["d1"]
    # Both words must match.
    assert search.search(SearchQuery("奶粉 冒烟")).total == 0
    assert search.search(SearchQuery("吹风机 冒烟")).total == 1


def test_highlighted_snippet_is_escaped(search: SearchStore) -> None:
    hit = search.search(SearchQuery("拉肚子")).hits[0]
    marked = [hit.snippet[a:b] for a, b in hit.highlights]
    assert "拉肚子" in marked
    assert "<mark>拉肚子</mark>" in snippet_html(hit.snippet, hit.highlights)
    assert (
        snippet_html("<script>x</script>", [(8, 9)])
        == "&lt;script&gt;<mark>x</mark>&lt;/script&gt;"
    )


def test_reposts_counted_on_original_and_included_on_request(search: SearchStore) -> None:
    hit = search.search(SearchQuery("结块")).hits[0]
    assert hit.reposts == 1
    page = search.search(SearchQuery("结块", Filters(include_reposts=True)))
    assert sorted(h.doc.doc_id for h in page.hits) == ["d1", "d4"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(source="RSS"), ["d2"]),
        (Filters(sentiment="negative"), ["d3", "d1"]),
        (Filters(category="safety_hazard"), ["d3"]),
        (Filters(entity="Product:06941234567892"), ["d1"]),
        (Filters(since=T0 + dt.timedelta(hours=1), until=T0 + dt.timedelta(hours=2)), ["d2"]),
    ],
)
def test_filters(search: SearchStore, filters: Filters, expected: list[str]) -> None:
    page = search.search(SearchQuery("", filters))
    assert [h.doc.doc_id for h in page.hits] == expected
    assert page.total == len(expected)


def test_sort_by_time_or_relevance(search: SearchStore) -> None:
    by_time = [h.doc.doc_id for h in search.search(SearchQuery("奶粉", sort="time")).hits]
    assert by_time == ["d2", "d1"]
    by_rank = search.search(SearchQuery("奶粉 结块", sort="relevance")).hits
    assert by_rank[0].doc.doc_id == "d1" and by_rank[0].relevance is not None


def test_histogram_hourly_and_daily_in_china_time(search: SearchStore) -> None:
    hours = search.histogram(Filters(), "hour")
    assert hours[0].start == dt.datetime(2026, 11, 20, 9, tzinfo=CST)
    assert (hours[0].negative, hours[0].positive) == (1, 0)
    assert (hours[1].negative, hours[1].positive) == (0, 1)
    assert len(hours) == 27 and sum(b.negative for b in hours) == 2  # empty hours kept
    days = search.histogram(Filters(), "day")
    assert [(b.start.day, b.negative, b.positive) for b in days] == [(20, 1, 1), (21, 1, 0)]


def test_hourly_counts_per_entity_and_category(search: SearchStore) -> None:
    rows = search.hourly_counts(T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=2), "negative")
    got = sorted((r.entity, r.category, r.hour.hour, r.count) for r in rows)
    assert got == [
        ("Product:06941234567892", "*", 9, 1),
        ("Product:06941234567892", "food_safety", 9, 1),
    ]


def test_reindex_replaces_and_round_trips(search: SearchStore) -> None:
    doc = search.get("d1")
    assert doc is not None and doc.mentions == [PRODUCT] and doc.categories == ["food_safety"]
    assert doc.published == T0
    doc.title, doc.text = "更新", "已经换货，问题解决。"
    doc.categories = []
    search.index([doc])
    assert search.search(SearchQuery("结块")).total == 0
    assert search.search(SearchQuery("换货")).total == 1
    assert search.count() == 4


def test_bad_queries_are_refused(search: SearchStore) -> None:
    with pytest.raises(SearchQueryError):
        search.search(SearchQuery("，。！"))
    with pytest.raises(SearchQueryError):
        search.search(SearchQuery("", Filters(entity="no-colon")))
    # FTS5 syntax in user text is quoted, never interpreted.
    assert search.search(SearchQuery('奶粉" OR "吹风机')).total == 0


def test_shares_the_graph_file(tmp_path: Path) -> None:
    from traceability.store.sqlite import SQLiteGraphStore

    graph = SQLiteGraphStore(tmp_path / "qtrace.db")
    graph.ensure_schema()
    store = SQLiteSearchStore(tmp_path / "qtrace.db")
    store.ensure_schema()
    store.index([_doc(9, "标题", "正文内容")])
    assert graph.counts() is not None and store.count() == 1
    tables = {r[0] for r in graph.db.execute("SELECT name FROM sqlite_master")}
    assert {"nodes", "edges", "opinion_docs", "opinion_fts"} <= tables
    graph.close()
    store.close()
