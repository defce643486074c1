"""The four risk mechanisms over a hand-built world in a real embedded store (no mocks).

Every source of signals is written the way its owner writes it: graph nodes through the
store port, documents and findings through the compliance ledger, EPCIS events through the
event store, opinion signals through the opinions state, notices and the negative list
through the risk service.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from alerts.service import RiskService, fingerprint
from config.settings import load_settings
from sentiment.signals import record_signals
from sentiment.state import Signal as OpinionSignal
from traceability.analysis.compliance.checks import Doc
from traceability.analysis.compliance.findings import Finding
from traceability.app.cli import main
from traceability.epcis.model import Event
from traceability.epcis.store import Stored
from traceability.errors import Conflict, InvalidInput, NotFound
from traceability.services import Services, build_services
from traceability.store.port import Edge, Node, NodeRef

AS_OF = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
LOT = "09468744603986:260406D31"
OUT = "09439509609369:260417G37"
ORDER = "4101588864:ORDER1"
RING = [f"4101588864:RING{i}" for i in range(5)]
EBP, EBC, MFR = "4101588864", "4101762709", "9400000000001"


def _order(key: str, buyer: str, phone: str, when: str, paid: str = "100") -> Doc:
    return Doc(
        kind="order", key=key, guid=key, app_type="1", time=when, order_key=key,
        order_no=key.split(":")[1], buyer_hash=buyer, year=2026, amount=Decimal(paid),
        facts={"acturalPaid": paid,
               "consignee": {"phone": {"hash": phone}, "address": {"hash": "addr"}}},
    )  # fmt: skip


def populate(services: Services) -> None:
    ref = NodeRef
    nodes = [
        Node("Enterprise", EBP, {"name": "测试平台"}),
        Node("Enterprise", EBC, {"name": "测试电商"}),
        Node("Enterprise", MFR, {"name": "Kiwi Milk"}),
        Node("Product", LOT.split(":")[0], {"name": "全脂乳粉"}),
        Node("Batch", LOT, {"time": "2026-04-06T00:00:00+08:00"}),
        Node("Batch", OUT, {"time": "2026-04-17T00:00:00+08:00"}),
        Node("Order", ORDER, {"ebcCode": EBC, "time": "2026-06-01T10:00:00+08:00"}),
        Node("Inventory", "INV1", {}),
        Node("Clearance", "INV1", {"returnStatus": "501", "returnInfo": "扣留移送通关",
                                   "customsCode": "4604", "time": "2026-06-02T10:00:00+08:00"}),
        Node("Clearance", "INV2", {"returnStatus": "800", "customsCode": "4604"}),
    ]  # fmt: skip
    edges = [
        Edge("PRODUCED", ref("Enterprise", MFR), ref("Batch", LOT)),
        Edge("HAS_BATCH", ref("Product", LOT.split(":")[0]), ref("Batch", LOT)),
        Edge("TRANSFORMED_INTO", ref("Batch", LOT), ref("Batch", OUT)),
        Edge("SOLD_IN", ref("Batch", OUT), ref("Order", ORDER)),
        Edge("ON_PLATFORM", ref("Order", ORDER), ref("Enterprise", EBP)),
        Edge("SOLD_BY", ref("Order", ORDER), ref("Enterprise", EBC)),
        Edge("DECLARED_IN", ref("Order", ORDER), ref("Inventory", "INV1")),
        Edge("CLEARED_AS", ref("Inventory", "INV1"), ref("Clearance", "INV1")),
    ]
    services.store.upsert(nodes, edges)
    ledger = services.ledger
    with ledger.transaction():
        ledger.put(_order(ORDER, "buyer0", "phone-solo", "2026-06-01T10:00:00+08:00"), "active")
        for i, key in enumerate(RING):
            ledger.put(_order(key, f"ring-buyer{i}", "phone-ring",
                              f"2026-06-1{i}T10:00:00+08:00"), "active")  # fmt: skip
        inventory = Doc(kind="inventory", key="INV1", guid="g", app_type="1",
                        time="2026-06-01T11:00:00+08:00", order_key=ORDER)  # fmt: skip
        ledger.put(inventory, "active")
        finding = Finding(
            "PAYMENT_AMOUNT_MISMATCH", (ORDER, "PAY:1"), "100", "50",
            time="2026-06-01T10:05:00+08:00", kinds=("order", "payment"),
        )  # fmt: skip
        ledger.record(finding)
    events = services.feature("epcis").events
    events.ensure_schema()
    body = {
        "type": "ObjectEvent", "eventTime": "2026-06-20T08:00:00+08:00",
        "eventTimeZoneOffset": "+08:00", "action": "OBSERVE", "bizStep": "inspecting",
        "disposition": "https://ref.gs1.org/cbv/Disp-damaged",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
        "quantityList": [{"epcClass": f"https://id.gs1.org/01/{OUT.split(':')[0]}/10/"
                                      f"{OUT.split(':')[1]}"}],
    }  # fmt: skip
    ok = dict(body, disposition="https://ref.gs1.org/cbv/Disp-in_progress")
    events.write([Stored("ni:damaged", Event(body), 1), Stored("ni:fine", Event(ok), 2)])
    opinions = services.feature("opinions")
    record_signals(opinions.state, [OpinionSignal(
        kind="spike", dedupe_key="spike:test", detected_at=AS_OF - dt.timedelta(days=1),
        message="负面舆情激增", entity=f"Product:{LOT.split(':')[0]}", count=12, baseline=1.0,
    )])  # fmt: skip


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Services, RiskService]]:
    services = build_services(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)}))
    populate(services)
    yield services, services.feature("risk")
    services.close()


def _by_rule(service: RiskService, **filters: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for risk in service.risks(limit=10_000, **filters):
        found.setdefault(risk["rule"], []).append(risk)
    return found


def test_services_build_on_a_fresh_dir_without_touching_the_file(tmp_path: Path) -> None:
    services = build_services(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path / "x")}))
    service = services.feature("risk")
    assert isinstance(service, RiskService)
    db = services.ledger.db
    assert not db.execute("SELECT 1 FROM sqlite_master WHERE name LIKE 'risk_%'").fetchall()
    # First use creates the tables; an empty store runs every mechanism cleanly.
    runs = service.run("all")
    assert [r["status"] for r in runs] == ["ok"] * 4
    assert service.risks() == []
    services.close()


def test_collect_every_source_and_repeat_adds_nothing(world) -> None:
    _, service = world
    (first,) = service.run("collect")
    counts = first["counts"]
    assert first["status"] == "ok", first["errors"]
    assert counts["order"] == 6 and counts["finding"] == 1 and counts["epcis"] == 1
    assert counts["customs"] == 1 and counts["opinion"] == 1
    (second,) = service.run("collect")
    assert second["counts"]["new_signals"] == 0
    assert second["counts"]["total_signals"] == first["counts"]["total_signals"]
    db = service.rdb.db
    (entities,) = db.execute(
        "SELECT entities FROM risk_signals WHERE kind = 'finding'").fetchone()  # fmt: skip
    assert {f"Order:{ORDER}", f"Enterprise:{EBP}", f"Enterprise:{EBC}"} <= set(json.loads(entities))
    (epcis,) = db.execute("SELECT entity FROM risk_signals WHERE kind = 'epcis'").fetchone()
    assert epcis == f"Batch:{OUT}"


def test_assess_turns_signals_into_risks_with_levels_and_fingerprints(world) -> None:
    _, service = world
    service.run("collect")
    (run,) = service.run("assess", as_of=AS_OF)
    assert run["status"] == "ok", run["errors"]
    risks = _by_rule(service)
    (payment,) = risks["payment_mismatch"]
    assert payment["level"] == "serious" and payment["category"] == "payment"
    assert f"Order:{ORDER}" in payment["entities"]
    assert payment["fingerprint"] == fingerprint("payment_mismatch", payment["key"])
    (ring,) = risks["buyer_ring"]
    assert ring["key"] == "phone-ring" and ring["metrics"]["distinct"] == 5
    assert {f"Order:{k}" for k in RING} <= set(ring["entities"])
    assert risks["epcis_nonconformant"][0]["key"] == f"Batch:{OUT}"
    assert risks["customs_detention"][0]["key"] == "Inventory:INV1"
    assert risks["opinion_spike"][0]["key"] == f"Product:{LOT.split(':')[0]}"
    # Same inputs, same risks: upserted by fingerprint, first_seen kept.
    again = service.run("assess", as_of=AS_OF, full=True)[0]
    assert again["counts"].get("new", 0) == 0 and again["counts"]["unchanged"] >= 5
    # Incremental: nothing new and the same time, so every rule is skipped ...
    quiet = service.run("assess", as_of=AS_OF)[0]
    assert quiet["counts"]["skipped_rules"] == len(service.rules()) and not quiet["counts"]["rules"]
    # ... but new signals of a kind re-evaluate that kind's rules, and time moving all.
    service.add_notice("N-inc", "市场监管", "通报", [f"Batch:{LOT}"], published="2026-06-25")
    service.run("collect")
    some = service.run("assess", as_of=AS_OF)[0]["counts"]["rules"]
    assert set(some) == {"regulator_notice"}
    later = service.run("assess", as_of=AS_OF + dt.timedelta(hours=2))[0]["counts"]
    assert "skipped_rules" not in later and len(later["rules"]) == len(service.rules())
    assert service.risk(payment["fingerprint"])["first_seen"] == payment["first_seen"]
    # --level and --entity filters.
    assert {r["rule"] for r in service.risks(level="serious")} >= {"payment_mismatch"}
    by_entity = {r["rule"] for r in service.risks(entity=f"Order:{ORDER}")}
    assert "payment_mismatch" in by_entity and "buyer_ring" not in by_entity
    assert {r["rule"] for r in service.risks(entity=ORDER)} == by_entity


def test_notice_propagates_through_the_graph_with_paths(world) -> None:
    _, service = world
    service.add_notice(
        "市监通〔2026〕1号", "市市场监督管理局", "原料检出阪崎肠杆菌", [f"Batch:{LOT}"],
        measure="召回", published="2026-06-25T00:00:00+08:00",
    )  # fmt: skip
    service.run("collect")
    service.run("assess", as_of=AS_OF)
    (notice,) = _by_rule(service)["regulator_notice"]
    assert notice["level"] == "serious"
    explained = service.explain(notice["fingerprint"])
    spread = explained["propagation"]
    assert spread["roots"] == [f"Batch:{LOT}"] and not spread["truncated"]
    assert spread["cap"] == service.settings.propagation_max_nodes
    affected = {a["node"]: a for a in spread["affected"]}
    order = affected[f"Order:{ORDER}"]
    assert order["hops"] == 2 and order["score"] == 0.25
    assert order["path"] == [
        f"Batch({LOT}) -[TRANSFORMED_INTO]→ Batch({OUT})",
        f"Batch({OUT}) -[SOLD_IN]→ Order({ORDER})",
    ]
    # Party nodes end paths but are never walked through.
    assert affected[f"Enterprise:{EBP}"]["hops"] == 3
    assert explained["signals"][0]["attrs"]["ref"] == "市监通〔2026〕1号"
    # Withdrawing the notice clears the risk at the next assess + review.
    service.withdraw_notice("市监通〔2026〕1号")
    service.run("assess", as_of=AS_OF)
    service.run("review")
    resolved = service.risk(notice["fingerprint"])
    assert resolved["status"] == "resolved" and "未再触发" in resolved["status_reason"]


def test_propagation_cap_is_reported(world) -> None:
    services, service = world
    service.settings.propagation_max_nodes = 10  # the smallest the settings allow
    extra = [Node("Order", f"{EBP}:X{i}", {}) for i in range(20)]
    edges = [Edge("SOLD_IN", NodeRef("Batch", OUT), n.ref) for n in extra]
    services.store.upsert(extra, edges)
    service.add_notice("N-cap", "市场监管", "通报", [f"Batch:{LOT}"],
                       published="2026-06-25T00:00:00+08:00")  # fmt: skip
    service.run("collect")
    service.run("assess", as_of=AS_OF)
    (notice,) = _by_rule(service)["regulator_notice"]
    spread = service.explain(notice["fingerprint"])["propagation"]
    assert spread["truncated"] and spread["nodes"] <= 10 + 5


def test_negative_list_rule_and_credit_grade(world) -> None:
    _, service = world
    service.add_negative(f"Enterprise:{EBC}", "虚假宣传被处罚", source="市监罚〔2026〕9号")
    service.run("collect")
    service.run("assess", as_of=AS_OF)
    (listed,) = _by_rule(service)["negative_list_seller"]
    assert listed["key"] == ORDER and f"Enterprise:{EBC}" in listed["explanation"]
    graded = service.credit(EBC)
    assert graded["grade"] == "D" and graded["negative_list"]
    assert graded["inspection_ratio"] == 0.5
    factors = {f["factor"]: f for f in graded["factors"]}
    assert factors["open_risk"]["counts"]["serious"] >= 1
    assert graded["score"] == graded["base"] - sum(f["deduction"] for f in graded["factors"])
    assert service.credit(MFR)["grade"] == "A"
    with pytest.raises(NotFound):
        service.credit("NOPE")
    # The negative list caps the grade whatever the score.
    service.add_negative(f"Enterprise:{MFR}", "走私")
    service.run("assess", as_of=AS_OF)
    capped = service.credit(MFR)
    assert capped["score"] == 100 and capped["grade"] == "D"
    assert [h["grade"] for h in capped["history"]] == ["D", "A"]
    # A new grade row is kept only when the grade or score changes.
    service.remove_negative(f"Enterprise:{EBC}")
    service.run("assess", as_of=AS_OF)
    service.run("review")  # the listed-seller risk is cleared ...
    service.run("assess", as_of=AS_OF)  # ... and the grade recomputed
    history = service.credit(EBC)["history"]
    assert len(history) == 2 and history[0]["score"] > history[1]["score"]
    service.run("assess", as_of=AS_OF)
    assert len(service.credit(EBC)["history"]) == 2
    with pytest.raises(InvalidInput):
        service.add_negative("no-label", "x")


def test_warn_routes_once_and_review_escalates_and_measures_precision(world) -> None:
    _, service = world
    service.run("collect")
    service.run("assess", as_of=AS_OF)
    (warned,) = service.run("warn")
    assert warned["counts"]["alerts"] == len(service.risks())
    assert service.run("warn")[0]["counts"] == {}
    payment = _by_rule(service)["payment_mismatch"][0]
    (alert,) = service.alerts(unit="pboc", status="open")[:1]
    assert alert["fingerprint"] == payment["fingerprint"]
    assert [u["id"] for u in alert["decision"]["lead"]] == ["police", "pboc"]
    assert alert["decision"]["matched"] == ["支付与资金风险"]
    # Escalation: past the deadline and not acknowledged.
    db = service.rdb.db
    db.execute("UPDATE risk_alerts SET deadline = '2000-01-01T00:00:00+00:00' WHERE id = ?",
               (alert["id"],))  # fmt: skip
    other = service.alerts(status="open")[-1]
    db.execute("UPDATE risk_alerts SET deadline = '2000-01-01T00:00:00+00:00' WHERE id = ?",
               (other["id"],))  # fmt: skip
    service.acknowledge(other["id"], "张三")
    (review,) = service.run("review")
    assert review["counts"]["escalations"] == 1
    assert service.run("review")[0]["counts"].get("escalations", 0) == 0
    escalations = service.report()["pending_escalations"]
    assert [e["alert_id"] for e in escalations] == [alert["id"]]
    assert "超过签收时限" in escalations[0]["reason"]
    report = json.loads(Path(review["counts"]["report"]).read_text(encoding="utf-8"))
    assert report["open_by_level"]["serious"] >= 1
    assert Path(review["counts"]["report"]).with_suffix(".html").exists()
    # Precision from handled alerts.
    service.close_alert(alert["id"], "confirmed")
    ring_alert = next(a for a in service.alerts() if a["rule"] == "buyer_ring")
    service.close_alert(ring_alert["id"], "false_positive", "同一宿舍")
    precision = service.precision()
    assert precision["payment_mismatch"]["precision"] == 1.0
    assert precision["buyer_ring"]["precision"] == 0.0
    with pytest.raises(Conflict):
        service.close_alert(alert["id"], "confirmed")
    with pytest.raises(InvalidInput):
        service.close_alert(other["id"], "maybe")


def test_cleared_finding_auto_resolves_risk_and_alert(world) -> None:
    services, service = world
    service.run("all", as_of=AS_OF)
    payment = _by_rule(service)["payment_mismatch"][0]
    (finding_id,) = services.ledger.active_ids("PAYMENT_AMOUNT_MISMATCH")
    services.ledger.resolve(finding_id)
    service.run("all", as_of=AS_OF)
    resolved = service.risk(payment["fingerprint"])
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    alerts = [a for a in service.alerts() if a["fingerprint"] == payment["fingerprint"]]
    assert [a["status"] for a in alerts] == ["resolved"]
    # The finding comes back: the risk reopens and so does its alert (one row, reopened).
    services.ledger.record(
        Finding("PAYMENT_AMOUNT_MISMATCH", (ORDER, "PAY:1"), "100", "40",
                time="2026-06-01T10:05:00+08:00", kinds=("order", "payment"))
    )  # fmt: skip
    service.run("all", as_of=AS_OF)
    reopened = service.risk(payment["fingerprint"])
    assert reopened["status"] == "open" and reopened["status_reason"] == "重新触发"
    alerts = [a for a in service.alerts() if a["fingerprint"] == payment["fingerprint"]]
    assert [a["status"] for a in alerts] == ["open"] and "重新" in alerts[0]["note"]


def test_failing_rule_is_recorded_and_others_still_run(world, tmp_path: Path) -> None:
    _, service = world
    service.run("collect")
    rules = (service.settings.path("rules")).read_text(encoding="utf-8")
    broken = tmp_path / "rules.toml"
    # A threshold rule over a field whose values cannot be compared with a number.
    broken.write_text(rules + '''
[[rules]]
id = "broken"
kind = "threshold"
signal = "order"
key = "buyer"
field = "enterprises"
agg = "count"
op = ">"
value = 0
owner = "samr"
category = "quality"
severity = 1
likelihood = "rare"
description = "坏规则"
action = "无"
''', encoding="utf-8")  # fmt: skip
    service.settings.rules_file = str(broken)
    import alerts.rules as rules_module

    original = rules_module._aggregate

    def failing(agg: str, numbers: list[float], count: int) -> float:
        if agg == "count":
            raise RuntimeError("rule exploded")
        return original(agg, numbers, count)

    rules_module._aggregate = failing
    try:
        (run,) = service.run("assess", as_of=AS_OF)
    finally:
        rules_module._aggregate = original
    assert run["status"] == "partial"
    assert run["errors"] == [{"rule": "broken", "error": "RuntimeError: rule exploded"}]
    assert "payment_mismatch" in _by_rule(service)


def test_crash_mid_collect_is_repeated_without_double_counting(world) -> None:
    _, service = world
    collector = service.collector
    original = collector.sources["epcis"]

    def crash() -> int:
        raise RuntimeError("killed")

    collector.sources["epcis"] = crash
    (crashed,) = service.run("collect")
    assert crashed["status"] == "partial" and crashed["errors"][0]["source"] == "epcis"
    collector.sources["epcis"] = original
    (repeated,) = service.run("collect")
    assert repeated["counts"]["epcis"] == 1 and repeated["counts"]["order"] == 0
    kinds = dict(service.rdb.db.execute(
        "SELECT kind, count(*) FROM risk_signals GROUP BY kind").fetchall())  # fmt: skip
    assert kinds == {"order": 6, "finding": 1, "epcis": 1, "customs": 1, "opinion": 1}
    # A run whose process died stays "running" until the next run marks it abandoned.
    db = service.rdb.db
    db.execute("INSERT INTO risk_runs (mechanism, status, holder, started)"
               " VALUES ('collect', 'running', 'dead', '2026-01-01T00:00:00+00:00')")  # fmt: skip
    service.run("collect")
    statuses = [r["status"] for r in service.runs("collect")]
    assert statuses[0] == "ok" and "abandoned" in statuses and "running" not in statuses


def test_run_lease_refuses_a_concurrent_run(world) -> None:
    _, service = world
    assert service.rdb.acquire("run:assess", "someone-else", 60)
    with pytest.raises(Conflict):
        service.run("assess")
    with pytest.raises(InvalidInput):
        service.run("dance")


def test_cli_commands(world, tmp_path: Path) -> None:
    services, _ = world
    runner = CliRunner()
    env = {"QTRACE_DATA_DIR": str(services.settings.data_dir)}

    def qtrace(*args: str) -> Any:
        result = runner.invoke(main, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    qtrace("risk", "notice", "add", "N-1", "--issuer", "市场监管", "--title", "召回通报",
           "--entity", f"Batch:{LOT}", "--published", "2026-06-25T00:00:00")  # fmt: skip
    out = json.loads(qtrace("risk", "run", "all", "--as-of", "2026-07-01T00:00:00", "--json"))
    assert [r["mechanism"] for r in out] == ["collect", "assess", "warn", "review"]
    risks = json.loads(qtrace("risks", "--json", "--level", "serious"))
    assert risks and all(r["level"] == "serious" for r in risks)
    assert set(risks[0]) == {"fingerprint", "rule", "level", "category", "entities", "evidence",
                             "explanation", "status", "first_seen", "last_seen"}  # fmt: skip
    by_entity = json.loads(qtrace("risks", "--json", "--entity", f"Batch:{LOT}"))
    assert [r["rule"] for r in by_entity] == ["regulator_notice"]
    fp = by_entity[0]["fingerprint"]
    decision = json.loads(qtrace("alerts", "route", "--dry-run", fp[:8]))
    assert decision["matched"] == ["严重质量风险", "质量安全"]
    assert [u["id"] for u in decision["lead"]] == ["samr", "nmpa"]
    shown = qtrace("credit", "show", EBC)
    assert "测试电商" in shown and "信用等级 C" in shown and "得分 70" in shown
    assert "− 30  未消除的风险（按等级扣分）：严重 1" in shown  # explained factor by factor
    assert json.loads(qtrace("credit", "show", EBC, "--json"))["grade"] == "C"
    assert "assess" in qtrace("risk", "runs")
    explained = json.loads(qtrace("risk", "explain", fp))
    assert explained["propagation"]["affected"]
    missing = runner.invoke(main, ["risk", "explain", "zzzz"], env=env)
    assert missing.exit_code == NotFound.exit_code
