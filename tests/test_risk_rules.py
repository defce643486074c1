"""Risk rules: every kind over windows, keys and edge cases; the rules file checker; levels."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from alerts.config import CONFIG_DIR, RISK_MATRIX, Rule, load_rules, risk_level
from alerts.rules import SignalRow, evaluate
from traceability.app.cli import main
from traceability.errors import InvalidInput

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
BASE = {
    "owner": "samr", "category": "quality", "severity": 2, "likelihood": "possible",
    "description": "测试规则", "action": "核查",
}  # fmt: skip


def rule(**fields: Any) -> Rule:
    return Rule.model_validate({"id": "r", "signal": "order", **BASE, **fields})


_ids = iter(range(1, 1_000_000))


def sig(days_ago: float, entity: str | None = "Order:1", **attrs: Any) -> SignalRow:
    when = NOW - dt.timedelta(days=days_ago)
    return SignalRow(next(_ids), when, entity, [entity] if entity else [], attrs)


def test_any_keys_by_entity_and_respects_window() -> None:
    signals = [sig(1, "Batch:A"), sig(2, "Batch:A"), sig(10, "Batch:B"), sig(-1, "Batch:C")]
    hits = evaluate(rule(kind="any", window="7d"), signals, NOW)
    assert [(h.key, h.metrics["signals"]) for h in hits] == [("Batch:A", 2)]
    # No window: everything up to now (never the future).
    assert {h.key for h in evaluate(rule(kind="any"), signals, NOW)} == {"Batch:A", "Batch:B"}


def test_match_filters_values_lists_and_booleans() -> None:
    r = rule(kind="match", where={"code": ["A", "B"], "active": True}, key="finding")
    signals = [
        sig(1, code="A", active=True, finding="f1", message="金额不符"),
        sig(1, code="B", active=False, finding="f2"),
        sig(1, code="C", active=True, finding="f3"),
        sig(1, code="B", active=True, finding="f4"),
    ]
    hits = evaluate(r, signals, NOW)
    assert sorted(h.key for h in hits) == ["f1", "f4"]
    assert "金额不符" in next(h for h in hits if h.key == "f1").explanation
    # Numbers match their text form (receipt status codes), lists match any member.
    statuses = rule(kind="match", where={"status": "500"}, key="inv")
    assert len(evaluate(statuses, [sig(0, status=500, inv="x")], NOW)) == 1
    members = rule(kind="match", where={"tags": "x"}, key="entity")
    assert len(evaluate(members, [sig(0, tags=["y", "x"])], NOW)) == 1


def test_missing_key_is_skipped() -> None:
    hits = evaluate(rule(kind="any", key="buyer"), [sig(1, buyer=None), sig(1)], NOW)
    assert hits == []


def test_frequency_threshold_is_inclusive_per_key() -> None:
    r = rule(kind="frequency", key="buyer", window="30d", threshold=3)
    signals = [sig(d, buyer="b1") for d in (1, 5, 29)] + [sig(d, buyer="b2") for d in (1, 31, 40)]
    hits = evaluate(r, signals, NOW)
    assert [(h.key, h.metrics["count"]) for h in hits] == [("b1", 3)]
    assert "3 次" in hits[0].explanation


def test_spike_compares_with_the_window_before() -> None:
    r = rule(kind="spike", key="loc", window="7d", ratio=3, threshold=3)
    signals = [sig(d, loc="L1") for d in (1, 2, 3, 4, 5, 6)] + [sig(8, loc="L1")]
    signals += [sig(d, loc="L2") for d in (1, 2, 3)] + [sig(d, loc="L2") for d in (8, 9)]
    signals += [sig(1, loc="L3"), sig(2, loc="L3")]  # below the minimum count
    hits = evaluate(r, signals, NOW)
    assert [(h.key, h.metrics["count"], h.metrics["reference"]) for h in hits] == [("L1", 6, 1)]


def test_spike_with_empty_reference_needs_the_minimum() -> None:
    r = rule(kind="spike", key="loc", window="1d", ratio=2, threshold=4)
    assert evaluate(r, [sig(0.1, loc="a")] * 3, NOW) == []
    assert len(evaluate(r, [sig(0.1 * i, loc="a") for i in range(1, 5)], NOW)) == 1


def test_flatline_fires_for_keys_seen_before_that_went_quiet() -> None:
    r = rule(kind="flatline", key="ebp", window="7d", threshold=1)
    signals = [sig(10, ebp="P1"), sig(20, ebp="P1"), sig(10, ebp="P2"), sig(2, ebp="P2")]
    signals.append(sig(60, ebp="P3"))  # older than the 4 windows before: not known
    hits = evaluate(r, signals, NOW)
    assert [(h.key, h.metrics["count"], h.metrics["history"]) for h in hits] == [("P1", 0, 2)]


def test_new_term_per_key_with_lookback() -> None:
    r = rule(kind="new_term", key="ebp", field="ebc", window="7d", lookback="30d")
    signals = [
        sig(20, ebp="P", ebc="old"), sig(2, ebp="P", ebc="old"), sig(1, ebp="P", ebc="new"),
        sig(3, ebp="Q", ebc="old"),  # first seen on Q: new for Q
        sig(50, ebp="P", ebc="ancient"), sig(1, ebp="P", ebc="ancient"),  # beyond lookback
    ]  # fmt: skip
    hits = evaluate(r, signals, NOW)
    assert sorted(h.key for h in hits) == ["P|ancient", "P|new", "Q|old"]


def test_cardinality_distinct_values_above_max() -> None:
    r = rule(kind="cardinality", key="phone", field="buyer", max=2, window="30d")
    signals = [sig(1, phone="p1", buyer=b) for b in ("a", "b", "c", "a")]
    signals += [sig(1, phone="p2", buyer=b) for b in ("a", "b", "b")]
    signals += [sig(40, phone="p2", buyer="z")]  # outside the window
    hits = evaluate(r, signals, NOW)
    assert [(h.key, h.metrics["distinct"]) for h in hits] == [("p1", 3)]
    assert hits[0].metrics["values"] == ["a", "b", "c"]


def test_list_membership_scalar_and_list_fields() -> None:
    negative = frozenset({"Enterprise:BAD"})
    r = rule(kind="list", field="enterprises", key="order")
    signals = [
        sig(1, order="o1", enterprises=["Enterprise:OK", "Enterprise:BAD"]),
        sig(1, order="o2", enterprises=["Enterprise:OK"]),
    ]
    hits = evaluate(r, signals, NOW, negative)
    assert [(h.key, h.metrics["listed"]) for h in hits] == [("o1", ["Enterprise:BAD"])]
    assert evaluate(r, signals, NOW, frozenset()) == []
    scalar = rule(kind="list", field="ebc", key="order")
    assert len(evaluate(scalar, [sig(1, order="o3", ebc="X")], NOW, frozenset({"X"}))) == 1


def test_threshold_aggregates() -> None:
    signals = [sig(1, buyer="b", amount=a) for a in (100, 250.5, "bad")] + [sig(1, buyer="c")]
    total = rule(kind="threshold", key="buyer", field="amount", agg="sum", op=">=", value=350.5)
    assert [(h.key, h.metrics["value"]) for h in evaluate(total, signals, NOW)] == [("b", 350.5)]
    largest = rule(kind="threshold", key="buyer", field="amount", agg="max", op=">", value=250.5)
    assert evaluate(largest, signals, NOW) == []
    count = rule(kind="threshold", key="buyer", field="amount", agg="count", op=">=", value=1)
    assert {h.key for h in evaluate(count, signals, NOW)} == {"b", "c"}


def test_evidence_is_capped_newest_last_and_entities_deduplicated() -> None:
    signals = [sig(i, "Batch:A", n=i) for i in range(1, 31)]
    (hit,) = evaluate(rule(kind="any"), signals, NOW, limit=5)
    assert len(hit.evidence) == 5 and hit.evidence[-1] == signals[0].id
    assert hit.entities == ["Batch:A"]


def test_risk_levels_follow_the_safety_gate_matrix() -> None:
    assert risk_level(4, "rare") == "high"
    assert risk_level(1, "very_likely") == "medium"
    assert risk_level(3, "likely") == "serious"
    assert risk_level(2, "unlikely") == "medium"
    assert all(len(row) == 4 for row in RISK_MATRIX.values())
    assert rule(kind="any", severity=1, likelihood="rare").level == "low"


def test_shipped_rules_are_valid() -> None:
    rules = load_rules(CONFIG_DIR / "rules.toml")
    assert len({r.id for r in rules}) == len(rules) >= 10
    kinds = {r.kind for r in rules}
    assert {"match", "frequency", "spike", "flatline", "new_term", "cardinality", "list",
            "threshold"} <= kinds  # fmt: skip


BAD_RULES = """\
[[rules]]
id = "ok_rule"
kind = "any"
signal = "order"
owner = "samr"
category = "quality"
severity = 2
likelihood = "possible"
description = "好"
action = "无"

[[rules]]
id = "broken_rule"
kind = "frequency"
signal = "order"
owner = "samr"
category = "quality"
severity = 7
likelihood = "possible"
description = "坏"
action = "无"
window = "7d"
threshold = 3
"""


@pytest.mark.parametrize(
    ("text", "rule_name", "line"),
    [
        (BAD_RULES, "broken_rule", 18),
        (BAD_RULES.replace('severity = 7', 'severity = 2').replace('threshold = 3', ''),
         "broken_rule", 12),
        (BAD_RULES.replace('window = "7d"', 'window = "7 weeks"').replace("= 7", "= 2"),
         "broken_rule", 22),
        (BAD_RULES.replace('"broken_rule"', '"ok_rule"').replace("= 7", "= 2"), "ok_rule", 13),
        (BAD_RULES.replace('kind = "any"', 'kind = "sometimes"'), "ok_rule", 3),
    ],
)  # fmt: skip
def test_malformed_rules_name_the_rule_and_line(tmp_path: Path, text: str, rule_name: str,
                                                line: int) -> None:  # fmt: skip
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_rules(path)
    message = str(caught.value)
    assert rule_name in message and f"rules.toml:{line}:" in message


def test_rules_check_command(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["risk", "rules", "check", str(CONFIG_DIR / "rules.toml")])
    assert ok.exit_code == 0, ok.output
    assert "规则文件有效" in ok.output
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_RULES, encoding="utf-8")
    refused = runner.invoke(main, ["risk", "rules", "check", str(bad)])
    assert refused.exit_code == InvalidInput.exit_code
    assert "broken_rule" in refused.output and "bad.toml:18" in refused.output
    syntax = tmp_path / "syntax.toml"
    syntax.write_text("[[rules]\nid = 1\n", encoding="utf-8")
    refused = runner.invoke(main, ["risk", "rules", "check", str(syntax)])
    assert refused.exit_code == InvalidInput.exit_code and "line 1" in refused.output
