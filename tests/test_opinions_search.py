"""The embedded search store: FTS5 over jieba tokens, filters, sorting, histograms."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sentiment.search.port import (
    CST,
    Mention,
    OpinionDoc,
    SearchQuery,
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


def test_highlighted_snippet_is_escaped(search: SearchStore) -> None:
    hit = search.search(SearchQuery("拉肚子")).hits[0]
    marked = [hit.snippet[a:b] for a, b in hit.highlights]
    assert "拉肚子" in marked
    assert "<mark>拉肚子</mark>" in snippet_html(hit.snippet, hit.highlights)
    assert (
        snippet_html("<script>x</script>", [(8, 9)])
        == "&lt;script&gt;<mark>x</mark>&lt;/script&gt;"
    )


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
