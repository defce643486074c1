"""有序公开: the public statistics page ``/open/stats`` — published figures only, no login.

The endpoint must be PUBLIC in the permission table; until the lead adds it to
``traceability/accounts/permissions.py`` these tests add it with monkeypatch (the
blueprint is registered only when the table lists the endpoint).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from config import load_settings
from tests.test_security_support import add_user, bearer, with_accounts
from tests.test_stats_world import EBP1, phase_one, phase_two
from traceability.accounts import permissions
from traceability.app.web import close_app, create_app
from traceability.services import Services, build_services
from traceability.stats.feature import feature as stats_feature
from traceability.stats.public import ENDPOINT

ON = "[statistics]\npublic_page = true\n"


@pytest.fixture(autouse=True)
def listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The permission-table entry the lead adds: ``"stats_public.page": PUBLIC``."""
    if ENDPOINT not in permissions.PERMISSIONS:
        monkeypatch.setitem(permissions.PERMISSIONS, ENDPOINT, permissions.PUBLIC)  # type: ignore[index]


def _site(tmp_path: Path, statistics: str, *, risk: bool = True) -> tuple[FlaskClient, Services]:
    config = tmp_path / "site.toml"
    config.write_text("[accounts]\nrequired = true\n" + statistics, encoding="utf-8")
    settings = load_settings(
        config,
        environ={
            "QTRACE_DATA_DIR": str(tmp_path / "var"),
            "QTRACE_PRIVACY__HASH_KEY": "stats-test-key-0123456789",
        },
    )
    features = with_accounts()
    if not risk:
        features = tuple(f for f in features if f.name != "risk")
    services = build_services(settings, features=features)
    app = create_app(settings, services)
    app.testing = True
    return app.test_client(), services


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[FlaskClient, Services]]:
    http, services = _site(tmp_path, ON)
    phase_one(services)
    phase_two(services)
    stats = services.feature("statistics")
    stats.compute()
    stats.publish("2026-04", tmp_path / "out", pdf=False)
    stats.publish("2026-05", tmp_path / "out", pdf=False)
    services.feature("risk").add_negative(
        f"Enterprise:{EBP1}", "虚假申报，货值不实", source="公告 2026-7", by="regulator-zhang"
    )
    yield http, services
    close_app(http.application)


def test_anonymous_visitors_see_the_published_release_index_and_negative_list(site) -> None:
    http, services = site
    page = http.get("/open/stats")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "跨境电商统计监测 2026-05" in html  # the latest published month
    release = services.feature("statistics").release("2026-05")
    assert str(release["index"]["composite"]) in html
    assert "<svg" in html and "婴幼儿配方食品" in html  # the release's chart
    assert "负面清单" in html and EBP1 in html and "虚假申报，货值不实" in html
    # ... and nothing else: not who listed it nor its source, no console navigation.
    assert "regulator-zhang" not in html and "公告 2026-7" not in html
    assert 'href="/stats"' not in html and "<script" not in html
    april = http.get("/open/stats?month=2026-04").get_data(as_text=True)
    assert "跨境电商统计监测 2026-04" in april
    assert http.get("/open/stats?month=2026-03").status_code == 404  # not published
    assert http.get("/open/stats?month=2026-3").status_code == 400
    assert http.post("/open/stats").status_code in (403, 405)  # read-only
    # A removed entry is no longer shown.
    services.feature("risk").remove_negative(f"Enterprise:{EBP1}")
    assert "虚假申报" not in http.get("/open/stats").get_data(as_text=True)


def test_published_figures_only_not_live_ones(site) -> None:
    http, services = site
    shown = http.get("/open/stats?month=2026-05").get_data(as_text=True)
    release = services.feature("statistics").release("2026-05")
    assert f"第 {release['version']} 版" in shown
    # A month computed but never published is not offered.
    assert "2026-06" not in shown


def test_the_page_is_404_unless_enabled(tmp_path: Path) -> None:
    http, services = _site(tmp_path, "")
    try:
        add_user(services, "root", "admin")
        assert http.get("/open/stats").status_code == 404
        assert http.get("/open/stats", headers=bearer(services, "root")).status_code == 404
        # The console's statistics still need a login.
        assert http.get("/api/v1/stats/months").status_code == 401
    finally:
        close_app(http.application)


def test_sections_as_configured_and_without_the_risk_feature(tmp_path: Path) -> None:
    http, services = _site(tmp_path, ON + 'public_sections = ["negative_list"]\n', risk=False)
    try:
        phase_one(services)
        stats = services.feature("statistics")
        stats.compute()
        stats.publish("2026-05", tmp_path / "out", pdf=False)
        page = http.get("/open/stats")
        html = page.get_data(as_text=True)
        assert page.status_code == 200, html
        assert "目前没有列入负面清单的主体" in html  # no risk tables: an empty list
        assert "<h2>综合指数</h2>" not in html and "跨境电商统计监测 2026-05" not in html
    finally:
        close_app(http.application)


def test_the_blueprint_waits_for_its_permission_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    assert any(b.name == "stats_public" for b in stats_feature.blueprints())
    monkeypatch.delitem(permissions.PERMISSIONS, ENDPOINT)  # type: ignore[attr-defined]
    assert [b.name for b in stats_feature.blueprints()] == ["stats"]
