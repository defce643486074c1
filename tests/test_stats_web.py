"""``/api/v1/stats/…`` and the ``/stats`` console page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_stats_world import make_services, phase_one, phase_two
from traceability.app.web import create_app


@pytest.fixture
def client(tmp_path: Path):
    services = make_services(tmp_path)
    app = create_app(services=services)
    yield app.test_client(), services
    services.close()


def test_empty_page_and_api(client) -> None:
    http, _ = client
    page = http.get("/stats")
    assert page.status_code == 200
    assert "尚无统计" in page.get_data(as_text=True)
    assert http.get("/api/v1/stats/months").get_json() == {"months": []}
    missing = http.get("/api/v1/stats/2026-05")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")
    assert http.get("/api/v1/stats/2026-5").status_code == 400


def test_api_and_page_after_compute(client) -> None:
    http, services = client
    phase_one(services)
    phase_two(services)
    services.feature("statistics").compute()
    months = http.get("/api/v1/stats/months").get_json()["months"]
    assert [m["month"] for m in months] == ["2026-04", "2026-05"]
    may = http.get("/api/v1/stats/2026-05?by=category").get_json()
    assert may["totals"]["inventories"] == 3
    assert may["rows"][0]["value"] == "INFANT_FORMULA"
    assert http.get("/api/v1/stats/2026-05?by=colour").status_code == 400
    quarter = http.get("/api/v1/stats/period/2026-Q2").get_json()
    assert quarter["totals"]["inventories"] == 7
    index = http.get("/api/v1/stats/2026-05/index").get_json()
    reweighted = http.get("/api/v1/stats/2026-05/index?weight=scale=3").get_json()
    assert index["composite"] != reweighted["composite"]
    assert reweighted["sub_indices"]["scale"]["weight"] == 3.0
    assert http.get("/api/v1/stats/2026-05/index?weight=scale").status_code == 400
    revisions = http.get("/api/v1/stats/2026-05/revisions").get_json()["revisions"]
    assert revisions == []
    assert http.get("/api/v1/stats/2026-05/releases").get_json() == {"releases": []}

    page = http.get("/stats?month=2026-04&by=category")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and "婴幼儿配方食品" in html
    assert 'href="/stats" aria-current="page"' in html  # the console nav, from base.html
    assert http.get("/stats?month=2026-13").status_code == 400


def test_openapi_lists_the_stats_paths(client) -> None:
    http, _ = client
    paths = http.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/stats/months",
        "/api/v1/stats/{month}",
        "/api/v1/stats/{month}/index",
        "/api/v1/stats/{month}/revisions",
        "/api/v1/stats/{month}/releases",
        "/api/v1/stats/period/{period}",
    ):
        assert "get" in paths[path], path
