"""Issue #8, found by trying the console as a new user would.

* the opinions page has the console's own header, navigation and footer;
* the trace picture fits its column: its viewBox is the drawing's exact extent, and no
  label runs out of its box;
* an opinion's text is the post, not the site's navigation and footer;
* an entity named several times in one post is linked once on the page.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import pytest

from config import load_settings
from sentiment.crawl.extract import extract
from sentiment.search.port import CST, Mention, OpinionDoc
from tests.world_builder import build_small_world
from traceability.app.web import close_app, create_app
from traceability.app.web.picture import BOX_H, BOX_W, MARGIN, TITLE_UNITS, _clip, _units, lay_out

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=CST)
PRODUCT = Mention("Product", "06941234567892", "奇维牧场婴儿配方奶粉1段", 0, 4, "奇维牧场")
BRAND = Mention("Brand", "奇维牧场", "奇维牧场", 20, 24, "奇维牧场")


@pytest.fixture
def app(tmp_path: Path):
    app = create_app(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)}))
    yield app
    close_app(app)


@pytest.fixture
def world_app(app, hasher):
    world = build_small_world(hasher)
    for batch in world.batches:
        app.extensions["qtrace"].store.upsert(batch.nodes, batch.edges)
    app.config["world"] = world
    return app


def _chrome(html: str) -> tuple[str, str]:
    """The page's header (without which item is current) and footer."""
    header = re.search(r"<header.*?</header>", html, re.S)
    footer = re.search(r"<footer.*?</footer>", html, re.S)
    assert header and footer
    return header.group().replace(' aria-current="page"', ""), footer.group()


# -- 1. the opinions page is a console page ---------------------------------------------


def test_opinions_page_has_the_console_header_nav_and_footer(app) -> None:
    http = app.test_client()
    opinions = http.get("/opinions").get_data(as_text=True)
    for other in ("/", "/recall", "/findings"):
        assert _chrome(opinions) == _chrome(http.get(other).get_data(as_text=True)), other
    assert opinions.count("<header") == 1 and opinions.count("<nav") == 1
    assert '<a href="/opinions" aria-current="page">网络舆情</a>' in opinions
    assert "/static/console.css" in opinions and "<style>" not in opinions
    assert "<title>网络舆情监控</title>" in opinions


def test_opinions_page_error_is_shown_once(app) -> None:
    response = app.test_client().get("/opinions", query_string={"since": "yesterday"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert html.count('role="alert"') == 1 and "参数 since" in html


# -- 4. one link per entity per item -----------------------------------------------------


def test_each_entity_is_linked_once_per_item(app) -> None:
    service = app.extensions["qtrace"].feature("opinions")
    text = "奇维牧场奶粉结块，奇维牧场客服不理，奇维牧场太差了"
    spans = [(PRODUCT, 0), (BRAND, 0), (PRODUCT, 9), (BRAND, 9), (PRODUCT, 18)]
    mentions = [replace(m, start=start, end=start + 4) for m, start in spans]
    service.search.index([
        OpinionDoc(
            "d1", "http://x.test/1", "http://x.test/1", "论坛", "奶粉结块", text, T0, T0,
            "negative", 0.1, ["food_safety"], [], mentions,
        )
    ])  # fmt: skip
    http = app.test_client()
    api = http.get("/api/v1/opinions/search", query_string={"q": "结块"}).get_json()
    assert len(api["results"][0]["entities"]) == 5  # the API keeps every span
    html = http.get("/opinions", query_string={"q": "结块"}).get_data(as_text=True)
    item = html[html.index('<li class="opinion') :]
    links = re.findall(r'<a class="entity" href="([^"]+)">([^<]+)</a>', item)
    assert links == [
        ("/opinions?entity=Product:06941234567892", PRODUCT.name),
        ("/opinions?entity=Brand:%E5%A5%87%E7%BB%B4%E7%89%A7%E5%9C%BA", BRAND.name),
    ]


# -- 2. the trace picture fits ------------------------------------------------------------


def _result(columns: int, names: list[str]) -> dict:
    nodes = []
    for column in range(columns):
        for row, name in enumerate(names):
            nodes.append({
                "id": f"Enterprise:{column}-{row}", "label": "Enterprise", "key": f"{column}-{row}",
                "labelZh": "企业", "props": {"name": name}, "depth": column, "column": column,
            })  # fmt: skip
    edges = [
        {"from": f"Enterprise:{c}-0", "to": f"Enterprise:{c + 1}-0", "typeZh": "供货"}
        for c in range(columns - 1)
    ]
    return {"root": {"id": "Enterprise:0-0"}, "nodes": nodes, "edges": edges}


@pytest.mark.parametrize("columns", [1, 3, 7])
def test_picture_extent_is_the_drawing(columns: int) -> None:
    picture = lay_out(
        _result(columns, ["郑州汇通国际电子商务有限公司", "Alpenwiese Milchwerk GmbH"])
    )
    assert picture.width == max(b.x for b in picture.boxes) + BOX_W + MARGIN
    assert picture.height == max(b.y for b in picture.boxes) + BOX_H + MARGIN
    assert all(line.x2 <= picture.width and line.y2 <= picture.height for line in picture.lines)


def test_labels_fit_their_boxes() -> None:
    picture = lay_out(_result(2, ["郑州航空港区宏达进出口贸易有限公司", "W" * 40, "短名"]))
    for box in picture.boxes:
        assert sum(_units(c) for c in box.title) <= TITLE_UNITS
    titles = {b.title for b in picture.boxes}
    assert "企业 短名" in titles  # short text is not clipped
    assert _clip("郑州航空港区宏达进出口贸易有限公司", 12) == "郑州航空港…"
    assert _clip("Alpenwiese Milchwerk", 12) == "Alpenwiese…"


def test_trace_page_scales_the_picture_to_its_column(world_app) -> None:
    app = world_app
    world = app.config["world"]
    html = app.test_client().get(f"/?kind=order&key={world.orders['O1']}&direction=back")
    html = html.get_data(as_text=True)
    svg = re.search(r'<svg id="chain"[^>]*>', html)
    assert svg
    width, height = re.search(r'width="(\d+)" height="(\d+)"', svg.group()).groups()
    assert f'viewBox="0 0 {width} {height}"' in svg.group()
    assert f'<div class="picture" style="--picture-w: {width}px">' in html
    css = app.test_client().get("/static/console.css").get_data(as_text=True)
    rule = re.search(r"\.picture svg#chain \{([^}]*)\}", css)
    assert rule and "width: 100%" in rule.group(1) and "height: auto" in rule.group(1)
    assert re.search(r"\.layout \{[^}]*flex-wrap: wrap", css)


# -- 3. extraction drops the site's navigation ------------------------------------------

POST = "宝宝喝了奇维牧场奶粉拉肚子，打开发现奶粉结块。\n联系客服一直没有回复。"
NAV_WORDS = ("首页", "投诉与评价", "仅代表个人观点", "|", "发布于")


def demo_page(title: str, body: str, published: dt.datetime) -> str:
    """A post as the demo forum (traceability/demo/opinions.py) publishes it."""
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n"))
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{title} - 跨境好物社区</title>"
        f'<meta property="article:published_time" content="{published.isoformat()}"></head>'
        '<body><nav><a href="/">首页</a> | <a href="/board/">投诉与评价</a></nav>'
        f"<article><h1>{title}</h1>"
        f'<p class="time">发布于 {published:%Y-%m-%d %H:%M}</p>{paragraphs}</article>'
        "<footer>跨境好物社区 · 用户发帖仅代表个人观点</footer></body></html>"
    )


def test_demo_forum_post_is_extracted_without_navigation() -> None:
    published = dt.datetime(2026, 11, 20, 9, 30, tzinfo=CST)
    extracted = extract(demo_page("奶粉结块求助", POST, published), "http://x.test/post/1.html")
    assert extracted is not None
    for line in POST.split("\n"):
        assert line in extracted.text
    for word in NAV_WORDS:
        assert word not in extracted.text, word
    assert extracted.title == "奶粉结块求助"
    assert extracted.published == published


@pytest.mark.parametrize(
    "chrome",
    [
        '<div class="nav"><a href="/">首页</a> | <a href="/b">投诉与评价</a></div>',
        '<div role="navigation"><a href="/">首页</a> | <a href="/b">投诉与评价</a></div>',
        '<header><a href="/">首页</a> | <a href="/b">投诉与评价</a></header>',
        '<ul id="breadcrumb"><li><a href="/">首页</a></li><li>投诉与评价</li></ul>',
    ],
)
def test_chrome_without_a_nav_element_is_dropped(chrome: str) -> None:
    html = (
        "<html><head><title>求助</title></head><body>"
        f"{chrome}<div class='post'><p>{POST}</p></div>"
        "<div class='site-footer'>跨境好物社区 · 用户发帖仅代表个人观点</div></body></html>"
    )
    extracted = extract(html, "http://x.test/post/2.html")
    assert extracted is not None and "联系客服一直没有回复" in extracted.text
    for word in NAV_WORDS:
        assert word not in extracted.text, word


def test_article_header_and_text_named_like_navigation_are_kept() -> None:
    html = (
        "<html><body><nav><a href='/'>首页</a></nav><article>"
        "<header><h1>奶粉结块求助</h1><time datetime='2026-11-20T09:30:00+08:00'>"
        "2026-11-20 09:30</time></header>"
        f"<div class='menu-post'><p>{POST}</p></div></article></body></html>"
    )
    extracted = extract(html, "http://x.test/post/3.html")
    assert extracted is not None
    assert "奶粉结块求助" in extracted.text and "联系客服一直没有回复" in extracted.text
    assert "首页" not in extracted.text


def test_a_page_that_is_all_chrome_falls_back_to_its_text() -> None:
    html = f"<html><body><aside><p>{POST}</p></aside></body></html>"  # a sidebar-only page
    extracted = extract(html, "http://x.test/post/4.html")
    assert extracted is not None and "联系客服一直没有回复" in extracted.text
    assert extract("<html><body><nav></nav></body></html>", "http://x.test/5") is None


def test_dateline_is_dropped_from_the_text_but_still_dates_the_post() -> None:
    html = (
        "<html><head><title>奶粉结块求助</title></head><body><article><h1>奶粉结块求助</h1>"
        f"<p class='time'>发布于 2026-11-20 09:30</p><p>{POST}</p></article></body></html>"
    )
    extracted = extract(html, "http://x.test/post/6.html")
    assert extracted is not None and "发布于" not in extracted.text
    assert "联系客服一直没有回复" in extracted.text
    # as before the dateline was dropped: htmldate reads the day from the visible text
    assert extracted.published == dt.datetime(2026, 11, 20, tzinfo=CST)
