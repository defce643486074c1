"""The composite index: worked values, recomputation from stored statistics, weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_stats_world import make_services, phase_one, phase_two
from traceability.errors import InvalidParameter, NotFound
from traceability.stats.index import composite, recompute

SCALE = round(100 * 500 / 450, 6)
STRUCTURE = round(100 * 1 / 1.8, 6)
EFFICIENCY = round(100 * (86 / 3) / 22, 6)
QUALITY = round(100 * (2 / 3) / (3 / 4), 6)


@pytest.fixture
def service(tmp_path: Path):
    services = make_services(tmp_path)
    phase_one(services)
    phase_two(services)
    stats = services.feature("statistics")
    stats.compute()
    yield stats
    services.close()


def test_sub_indices_of_the_worked_example(service) -> None:
    index = service.index("2026-05")
    assert index["base_month"] == "2026-04"
    assert index["previous_month"] == "2026-04"
    subs = {name: sub["value"] for name, sub in index["sub_indices"].items()}
    assert subs["scale"] == pytest.approx(SCALE, abs=1e-6)
    assert subs["growth"] == pytest.approx(SCALE, abs=1e-6)
    assert subs["structure"] == pytest.approx(STRUCTURE, abs=1e-6)
    assert subs["efficiency"] == pytest.approx(EFFICIENCY, abs=1e-6)
    assert subs["quality"] == pytest.approx(QUALITY, abs=1e-6)
    assert subs["credit"] is None
    assert index["sub_indices"]["credit"]["status"] == "pending"
    expected = (SCALE * 2 + STRUCTURE + EFFICIENCY + QUALITY) / 5
    assert index["composite"] == pytest.approx(expected, abs=1e-5)
    # The base month is 100 on every base-normalised sub-index; growth has no previous month.
    base = service.index("2026-04")["sub_indices"]
    assert [base[n]["value"] for n in ("scale", "structure", "efficiency", "quality")] == [
        100.0
    ] * 4
    assert base["growth"]["status"] == "unavailable"


def test_a_weight_change_is_reflected_exactly(service) -> None:
    equal = service.index("2026-05")
    heavier = service.index("2026-05", {"scale": 3, "quality": 0})
    subs = {n: s["value"] for n, s in heavier["sub_indices"].items()}
    by_hand = round(
        (3 * subs["scale"] + subs["growth"] + subs["structure"] + subs["efficiency"]) / 6, 6
    )
    assert heavier["composite"] == by_hand
    assert heavier["composite"] != equal["composite"]
    assert heavier["sub_indices"]["quality"]["effective_weight"] == 0.0
    assert heavier["sub_indices"]["scale"]["effective_weight"] == 0.5
    # The published block alone reproduces both values (the sub-indices are published).
    assert recompute(equal) == equal["composite"]
    assert (
        recompute(equal, {"scale": 3, "growth": 1, "structure": 1, "efficiency": 1})
        == (heavier["composite"])
    )


def test_weights_and_base_are_checked(service) -> None:
    with pytest.raises(InvalidParameter):
        service.index("2026-05", {"popularity": 1})
    with pytest.raises(InvalidParameter):
        service.index("2026-05", {"scale": -1})
    with pytest.raises(NotFound):
        service.index("2026-05", base_month="2025-01")
    with pytest.raises(NotFound):
        service.index("2026-07")
    assert composite({"scale": None, "credit": None}, {"scale": 1, "credit": 1}) is None


def test_a_base_month_in_the_method_file(service, tmp_path: Path) -> None:
    source = Path(__file__).resolve().parent.parent / "config" / "stats.toml"
    text = source.read_text(encoding="utf-8").replace('base_month = ""', 'base_month = "2026-05"')
    custom = tmp_path / "stats.toml"
    custom.write_text(text, encoding="utf-8")
    service.options = service.options.model_copy(update={"config_file": str(custom)})
    service._config = None
    index = service.index("2026-05")
    assert index["base_month"] == "2026-05"
    assert index["sub_indices"]["scale"]["value"] == 100.0


def test_credit_sub_index_from_the_risk_grades(service) -> None:
    """EBP1 is graded 90 in April and 80 in May, EBP2 60: April's released value is all
    EBP1's (90); May's is EBP1's 500 and EBP2's 0 (CM7 returned): 80.  100·80/90."""
    db = service.db
    db.execute(
        "CREATE TABLE IF NOT EXISTS risk_credit_grades (id INTEGER PRIMARY KEY,"
        " enterprise TEXT NOT NULL, name TEXT, grade TEXT NOT NULL, score REAL NOT NULL,"
        " inspection_ratio REAL NOT NULL, factors TEXT NOT NULL, graded_at TEXT NOT NULL)"
    )
    db.executemany(
        "INSERT INTO risk_credit_grades (enterprise, name, grade, score, inspection_ratio,"
        " factors, graded_at) VALUES (?, '', ?, ?, 0.01, '[]', ?)",
        [
            ("4101960001", "A", 90.0, "2026-04-15T02:00:00+00:00"),
            ("4101960002", "C", 60.0, "2026-04-15T02:00:00+00:00"),
            ("4101960001", "B", 80.0, "2026-05-10T02:00:00+00:00"),
            ("4101960001", "D", 10.0, "2026-06-01T02:00:00+00:00"),  # after May: not used
        ],
    )
    report = service.compute()
    assert report.months == ["2026-04", "2026-05"] and report.revised == {}
    assert service.show("2026-04")["totals"]["credit_score"] == 90.0
    assert service.show("2026-05")["totals"]["credit_score"] == 80.0
    assert service.show("2026-05")["totals"]["credit_coverage"] == 1.0
    credit = service.index("2026-05")["sub_indices"]["credit"]
    assert credit["status"] == "ok"
    assert credit["value"] == round(100 * 80 / 90, 6)
    assert credit["effective_weight"] == round(1 / 6, 6)
