"""The incremental day: a day's new inventories are added to the month's groups kept in
memory, and give the same figures as re-aggregating the whole month."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_stats_world import (
    EBP1,
    EBP2,
    FORMULA,
    SKIN,
    declare,
    make_services,
    phase_one,
    phase_two,
)
from traceability.stats import service as stats_service


def _snapshot(stats, month: str) -> tuple:
    db = stats.db
    rows = db.execute(
        "SELECT dimension, value, label, measures FROM stats_monthly WHERE month = ?"
        " ORDER BY dimension, value",
        (month,),
    ).fetchall()
    head = db.execute(
        "SELECT revision, totals, reconciliation FROM stats_months WHERE month = ?", (month,)
    ).fetchone()
    return [tuple(r) for r in rows], tuple(head)


def test_a_new_day_is_added_and_equals_a_full_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = make_services(tmp_path)
    stats = services.feature("statistics")
    phase_one(services)
    stats.compute()
    full = stats_service.aggregate
    calls: list[int] = []
    monkeypatch.setattr(stats_service, "aggregate", lambda c, f: calls.append(1) or full(c, f))

    declare(services, "M8", "20260528", EBP1, "1210", "411702", [(FORMULA, "609", 3, 100)], 12,
            "800", "20260529080000")  # fmt: skip
    declare(services, "M9", "20260528", EBP2, "9610", "410105", [(SKIN, "116", 2, 80)], 6,
            "500", "20260529090000")  # fmt: skip
    report = stats.compute()
    assert report.months == ["2026-05"] and report.revised == {}
    assert calls == []  # added to the kept groups, not re-aggregated
    incremental = _snapshot(stats, "2026-05")
    assert incremental[1][0] == 0  # updated in place: not a revision

    # A fresh process (no kept groups) rebuilding May from its facts finds the same figures.
    services.close()
    services = make_services(tmp_path)
    stats = services.feature("statistics")
    with stats._transaction() as tx:
        tx.execute("DELETE FROM stats_monthly WHERE month = '2026-05'")
        tx.execute("DELETE FROM stats_months WHERE month = '2026-05'")
    stats.compute("2026-05")
    assert calls == [1]
    rebuilt = _snapshot(stats, "2026-05")
    assert rebuilt[0] == incremental[0]
    assert rebuilt[1][1:] == incremental[1][1:]

    # Revisions (corrections, cancellations, returns) re-aggregate the month.
    phase_two(services)
    stats.compute()
    assert len(calls) == 3  # April and May
    services.close()


def test_groups_rebuilt_by_another_process_are_not_reused(tmp_path: Path, monkeypatch) -> None:
    first, second = make_services(tmp_path), make_services(tmp_path)
    phase_one(first)
    first.feature("statistics").compute()
    declare(first, "M8", "20260528", EBP1, "1210", "411702", [(FORMULA, "609", 3, 100)], 12,
            "800", "20260529080000")  # fmt: skip
    second.feature("statistics").compute()  # the other process takes the new inventory
    declare(first, "M9", "20260528", EBP2, "9610", "410105", [(SKIN, "116", 2, 80)], 6,
            "500", "20260529090000")  # fmt: skip
    full = stats_service.aggregate
    calls: list[int] = []
    monkeypatch.setattr(stats_service, "aggregate", lambda c, f: calls.append(1) or full(c, f))
    stats = first.feature("statistics")
    stats.compute()
    assert calls == [1]  # its kept groups are out of date: the month is re-aggregated
    totals = stats.show("2026-05")["totals"]
    assert totals["inventories"] == 8  # M1 M2 M3 M4 M5 M7 + M8 + M9
    first.close()
    second.close()
