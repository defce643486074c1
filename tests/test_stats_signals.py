"""Monitoring signals (``stats_signals``) on the hand-built world, worked out on paper.

With every minimum at 1 (the world is small), after phase 1 (see test_stats_world):

- platform EBP2 declared 400 in one parcel in April (CA2) and 250 + 120 in two parcels in
  May (CM3, CM7): 185 a parcel, −53.75 % → ``value_shift``;
- platform EBP1: 200 a parcel in April, (200 + 400 + 150 + 100) / 4 = 212.5 in May: +6 %,
  below the 30 % threshold.

After phase 2 (revisions): EBP1 150 a parcel in April (CA1 200, CM4 150, CM6 100) against
300 in May (CM1 200, CM2 300 + 100 returned) → +100 %; EBP2 120 (CM7, all returned;
CM3 cancelled) against 400 → −70 % (the same signal, changed); infant formula's return
rate 0 in April (CA1, CM6) and 1/2 in May (CM2 of CM1, CM2) → ``return_jump``.  The
release rate rose (3/4 → 3/3): no ``release_rate_drop``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from config import load_settings
from tests.test_stats_world import EBP1, EBP2, phase_one, phase_two
from traceability.app.cli import main
from traceability.services import Services, build_services
from traceability.stats.signals import DDL, SignalSettings, detect, evaluate, read

SMALL = "[statistics.signals]\nmin_inventories = 1\nmin_parcels = 1\n"


def _services(tmp_path: Path, text: str = SMALL) -> Services:
    config = tmp_path / "site.toml"
    config.write_text(text, encoding="utf-8")
    return build_services(
        load_settings(
            config,
            environ={
                "QTRACE_DATA_DIR": str(tmp_path / "var"),
                "QTRACE_PRIVACY__HASH_KEY": "stats-test-key-0123456789",
            },
        )
    )


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = _services(tmp_path)
    yield built
    built.close()


def _active(stats) -> dict[str, dict]:
    return {s["dedupe"]: s for s in stats.signals() if s["active"]}


def test_signals_follow_the_figures_and_their_revisions(services: Services) -> None:
    stats = services.feature("statistics")
    phase_one(services)
    report = stats.compute()
    assert report.signals == {"new": 1, "changed": 0, "withdrawn": 0}
    (only,) = stats.signals()
    assert only["dedupe"] == f"stats:value_shift:2026-05:{EBP2}"
    assert only["type"] == "value_shift" and only["month"] == "2026-05"
    assert only["entity"] == f"Enterprise:{EBP2}" and only["entities"] == [f"Enterprise:{EBP2}"]
    attrs = only["attrs"]
    assert (attrs["previous"], attrs["current"], attrs["change"]) == (400.0, 185.0, -0.5375)
    assert attrs["previous_month"] == "2026-04" and attrs["active"] is True
    assert only["time"] == "2026-05-31T16:00:00+00:00"  # the end of May, China time
    seen = only["seq"]

    phase_two(services)
    report = stats.compute()
    assert report.signals == {"new": 2, "changed": 1, "withdrawn": 0}
    active = _active(stats)
    assert set(active) == {
        f"stats:value_shift:2026-05:{EBP1}",
        f"stats:value_shift:2026-05:{EBP2}",
        "stats:return_jump:2026-05:INFANT_FORMULA",
    }
    assert active[f"stats:value_shift:2026-05:{EBP1}"]["attrs"]["change"] == 1.0
    assert active[f"stats:value_shift:2026-05:{EBP2}"]["attrs"]["current"] == 120.0
    jump = active["stats:return_jump:2026-05:INFANT_FORMULA"]
    assert jump["entity"] is None and jump["attrs"]["category"] == "INFANT_FORMULA"
    assert (jump["attrs"]["previous"], jump["attrs"]["current"]) == (0.0, 0.5)
    assert "婴幼儿配方食品 退货率 50.0%" in jump["attrs"]["explanation"]
    # A reader that saw ``seen`` gets the three changed rows, the changed one among them.
    assert {s["dedupe"] for s in stats.signals(after=seen)} == set(active)

    # Nothing changed: nothing is written again.
    assert stats.compute().signals == {"new": 0, "changed": 0, "withdrawn": 0}
    last = max(s["seq"] for s in stats.signals())
    # A stricter threshold withdraws the value signals; they stay, inactive, for readers.
    stats.options.signals.value_shift = 2.0
    assert stats.compute().signals == {"new": 0, "changed": 0, "withdrawn": 2}
    withdrawn = stats.signals(after=last)
    assert {s["attrs"]["platform"] for s in withdrawn} == {EBP1, EBP2}
    assert all(not s["active"] and s["attrs"]["active"] is False for s in withdrawn)
    assert set(_active(stats)) == {"stats:return_jump:2026-05:INFANT_FORMULA"}


def test_the_console_page_lists_the_month_s_signals(services: Services) -> None:
    from traceability.app.web import create_app

    phase_one(services)
    phase_two(services)
    services.feature("statistics").compute()
    http = create_app(services=services).test_client()
    html = http.get("/stats?month=2026-05").get_data(as_text=True)
    assert "监测信号" in html and "婴幼儿配方食品 退货率 50.0%" in html
    assert "监测信号" not in http.get("/stats?month=2026-04").get_data(as_text=True)


def test_an_unsettled_month_waits(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    stats = services.feature("statistics")
    monkeypatch.setattr(stats, "today", lambda: dt.date(2026, 6, 7))  # May ended 6 days ago
    phase_one(services)
    phase_two(services)
    assert stats.compute().signals == {"new": 0, "changed": 0, "withdrawn": 0}
    assert stats.signals() == []
    monkeypatch.setattr(stats, "today", lambda: dt.date(2026, 6, 8))  # settle_days = 7
    assert stats.compute().signals["new"] == 3


def test_default_minimums_keep_a_small_month_quiet(tmp_path: Path) -> None:
    services = _services(tmp_path, "")
    try:
        phase_one(services)
        phase_two(services)
        stats = services.feature("statistics")
        stats.compute()
        assert stats.signals() == []  # 30 inventories / parcels needed in both months
    finally:
        services.close()


def _month(db: sqlite3.Connection, month: str, dimension: str, value: str, **measures) -> None:
    db.execute(
        "INSERT INTO stats_monthly VALUES (?,?,?,?,?)",
        (month, dimension, value, value, json.dumps(measures)),
    )


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE TABLE stats_monthly (month TEXT, dimension TEXT, value TEXT, label TEXT,"
        " measures TEXT)"
    )
    for statement in DDL:
        connection.execute(statement)
    yield connection
    connection.close()


def test_release_rate_drop_and_the_thresholds(db: sqlite3.Connection) -> None:
    rules = SignalSettings()
    _month(db, "2025-12", "total", "all", inventories=100, released=95)
    _month(db, "2026-01", "total", "all", inventories=100, released=85)  # −10 points
    _month(db, "2026-02", "total", "all", inventories=100, released=76)  # −9 points
    _month(db, "2026-03", "total", "all", inventories=29, released=0)  # too few
    (found,) = detect(db, "2026-01", rules)  # across the year: December before January
    assert (found.type, found.subject, found.entity) == ("release_rate_drop", "all", None)
    assert (found.attrs["previous"], found.attrs["current"]) == (0.95, 0.85)
    assert found.attrs["previous_month"] == "2025-12"
    assert detect(db, "2026-02", rules) == []
    assert detect(db, "2026-03", rules) == []
    assert detect(db, "2025-12", rules) == []  # no month before it
    assert detect(db, "2026-02", SignalSettings(release_rate_drop=0.09)) != []


def test_return_jump_needs_both_the_rise_and_the_ratio(db: sqlite3.Connection) -> None:
    rules = SignalSettings()
    for code, before, after in (("DAIRY", 4, 10), ("HONEY", 10, 16), ("WINE", 0, 5)):
        _month(db, "2026-04", "category", code, inventories=100, returned=before)
        _month(db, "2026-05", "category", code, inventories=100, returned=after)
    _month(db, "2026-05", "category", "NEW", inventories=100, returned=50)  # no April
    found = {f.subject: f for f in detect(db, "2026-05", rules)}
    # DAIRY 4 % → 10 %: +6 points and 2.5×; HONEY +6 points but 1.6×; WINE from zero.
    assert set(found) == {"DAIRY", "WINE"}
    assert found["DAIRY"].type == "return_jump"


def test_value_shift_both_ways_and_withdrawal(db: sqlite3.Connection) -> None:
    rules = SignalSettings()
    for code, before, after in (("P1", "3000.00", "4000.00"), ("P2", "3000.00", "2000.00")):
        _month(db, "2026-04", "platform", code, parcels=30, goods_value=before,
               returned_value="0.00")  # fmt: skip
        _month(db, "2026-05", "platform", code, parcels=30, goods_value=after,
               returned_value="0.00")  # fmt: skip
    counts = evaluate(db, ["2026-04", "2026-05"], rules, dt.date(2026, 7, 1), "t1")
    assert counts == {"new": 2, "changed": 0, "withdrawn": 0}  # +33.3 % and −33.3 %
    assert {(s["entity"], s["attrs"]["change"]) for s in read(db)} == {
        ("Enterprise:P1", 0.333333),
        ("Enterprise:P2", -0.333333),
    }
    db.execute(
        "UPDATE stats_monthly SET measures = json_set(measures, '$.goods_value', '2500.00')"
        " WHERE month = '2026-05' AND value = 'P2'"
    )
    counts = evaluate(db, ["2026-04", "2026-05"], rules, dt.date(2026, 7, 1), "t2")
    assert counts == {"new": 0, "changed": 0, "withdrawn": 1}
    (gone,) = read(db, after=2)
    assert gone["entity"] == "Enterprise:P2" and gone["active"] is False
    assert gone["seq"] == 3 and gone["updated_at"] == "t2"
    assert evaluate(db, ["2026-05"], SignalSettings(enabled=False), dt.date(2026, 7, 1), "t3") == {
        "new": 0,
        "changed": 0,
        "withdrawn": 0,
    }


def test_the_signals_command(services: Services, tmp_path: Path, monkeypatch) -> None:
    phase_one(services)
    phase_two(services)
    services.close()
    monkeypatch.setenv("QTRACE_CONFIG", str(tmp_path / "site.toml"))
    monkeypatch.setenv("QTRACE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("QTRACE_PRIVACY__HASH_KEY", "stats-test-key-0123456789")
    runner = CliRunner()
    result = runner.invoke(main, ["stats", "compute", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["signals"]["new"] == 3
    result = runner.invoke(main, ["stats", "signals", "--month", "2026-05", "--json"])
    assert result.exit_code == 0, result.output
    assert {s["type"] for s in json.loads(result.output)} == {"value_shift", "return_jump"}
    result = runner.invoke(main, ["stats", "signals"])
    assert result.exit_code == 0 and "婴幼儿配方食品" in result.output


def test_the_risk_feature_collects_them(services: Services) -> None:
    """The alerts side (``Collector.statistics`` and the ``stats_*`` rules), once wired."""
    risk = services.feature("risk")
    if "statistics" not in risk.collector.sources:
        pytest.skip("alerts/collect.py has no statistics source yet (see issue #14 report)")
    stats = services.feature("statistics")
    phase_one(services)
    phase_two(services)
    stats.compute()
    assert risk.collector.sources["statistics"]() == 3
    assert risk.collector.sources["statistics"]() == 0  # watermark: nothing new
    rows = risk.rdb.db.execute(
        "SELECT dedupe, entity, attrs FROM risk_signals WHERE kind = 'statistics'"
    ).fetchall()
    assert {r["dedupe"] for r in rows} == {s["dedupe"] for s in stats.signals()}
    stats.options.signals.value_shift = 2.0
    stats.compute()
    assert risk.collector.sources["statistics"]() == 2  # the withdrawn ones, updated
    active = {
        r["dedupe"]
        for r in risk.rdb.db.execute(
            "SELECT dedupe FROM risk_signals WHERE kind = 'statistics' AND attrs ->> '$.active' = 1"
        )
    }
    assert active == {"stats:return_jump:2026-05:INFANT_FORMULA"}
    if any(rule.signal == "statistics" for rule in risk.rules()):
        risk.run("assess", full=True)
        fired = {r[0] for r in risk.rdb.db.execute("SELECT rule FROM risk_risks")}
        assert "stats_return_jump" in fired
