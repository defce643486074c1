"""The opinions blueprint: API, problem+json errors, escaped page with an SVG trend."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from config import load_settings
from sentiment import web
from sentiment.search.port import CST, Mention, OpinionDoc
from sentiment.state import Signal
from traceability.app.web import close_app, create_app

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=CST)
ENTITY = Mention("Product", "06941234567892", "奇维牧场婴儿配方奶粉1段", 0, 4, "奇维牧场")


@pytest.fixture
def client(tmp_path: Path):
    app = create_app(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)}))
    service = app.extensions["qtrace"].feature("opinions")
    docs = []
    for i in range(5):
        docs.append(OpinionDoc(
            f"d{i}", f"http://x.test/{i}", f"http://x.test/{i}", "论坛", f"奶粉结块{i}",
            "宝宝喝了拉肚子 <script>alert('x')</script> 奶粉结块", T0 + dt.timedelta(hours=i),
            T0, "negative", 0.1, ["food_safety"], [], [ENTITY],
        ))  # fmt: skip
    service.search.index(docs)
    service.state.add_signal(
        Signal("spike", "k", T0, "商品「奇维牧场」负面提及激增 <b>", entity=ENTITY.entity)
    )
    yield app.test_client()
    close_app(app)


def test_search_api(client) -> None:
    body = client.get(
        "/api/v1/opinions/search", query_string={"q": "结块", "entity": ENTITY.entity}
    ).get_json()
    assert body["total"] == 5
    first = body["results"][0]
    assert first["title"] == "奶粉结块4" and first["entities"][0]["entity"] == ENTITY.entity
    assert "<mark>结块</mark>" in first["snippetHtml"] and "<script>" not in first["snippetHtml"]


def test_trend_api_hourly(client) -> None:
    body = client.get(
        "/api/v1/opinions/trend", query_string={"entity": ENTITY.entity, "interval": "hour"}
    ).get_json()
    assert [b["negative"] for b in body["buckets"]] == [1, 1, 1, 1, 1]
    assert body["buckets"][0]["start"] == "2026-11-20T09:00:00+08:00"


def test_signals_api(client) -> None:
    signals = client.get("/api/v1/opinions/signals").get_json()["signals"]
    assert signals[0]["kind"] == "spike" and signals[0]["entity"] == ENTITY.entity


@pytest.mark.parametrize(
    "query", [{"sort": "random"}, {"since": "yesterday"}, {"q": "，。"}, {"entity": "x"}]
)
def test_bad_parameters_are_problem_json(client, query: dict[str, str]) -> None:
    response = client.get("/api/v1/opinions/search", query_string=query)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "参数错误"


def test_page_escapes_scraped_text_and_draws_svg(client) -> None:
    response = client.get(
        "/opinions", query_string={"q": "结块", "entity": ENTITY.entity, "interval": "hour"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<svg" in html and html.count('fill="#c0392b"') == 5
    assert "&lt;b&gt;" in html  # a signal message is text, never markup
    assert "http://" not in html.split("<body>")[0] or "cdn" not in html.lower()


def test_openapi_paths_cover_the_routes() -> None:
    assert set(web.openapi_paths()) == {"/opinions/search", "/opinions/trend", "/opinions/signals"}
