"""End to end on a generated world: the manifest's injected stories become the risks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from config.settings import load_settings
from traceability.demo.generator.files import write_world
from traceability.ingest.ingestor import collect_files
from traceability.services import build_services

SEED = 20261127
CHINA = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("risk-world")
    settings = load_settings(environ={"QTRACE_DATA_DIR": str(root / "data")})
    manifest = write_world(60, SEED, root / "world")
    services = build_services(settings)
    report = services.ingestor().ingest_paths(collect_files([root / "world"]))
    assert report.ok
    service = services.feature("risk")
    stories = manifest["stories"]
    lot = stories["defective_lot"]
    (latest,) = services.ledger.db.execute(
        "SELECT max(time) FROM compliance_documents WHERE kind = 'order'"
    ).fetchone()
    as_of = dt.datetime.fromisoformat(latest) + dt.timedelta(days=1)
    # The regulator's notice on the contaminated ingredient lot (EU Safety Gate practice).
    service.add_notice(
        "市监食通〔2026〕17号", "市市场监督管理局", lot["what"], [f"Batch:{lot['batch']}"],
        measure="召回", severity=4, published=latest,
    )  # fmt: skip
    runs = service.run("all", as_of=as_of)
    yield {"service": service, "stories": stories, "runs": runs, "as_of": as_of, "root": root}
    services.close()


def _ingested(root: Any, world: Any) -> Any:
    settings = load_settings(environ={"QTRACE_DATA_DIR": str(root / "data")})
    services = build_services(settings)
    report = services.ingestor().ingest_paths(collect_files([world]))
    assert report.ok, report.rejections
    return services


def _end_of(services: Any) -> dt.datetime:
    (latest,) = services.ledger.db.execute(
        "SELECT max(time) FROM compliance_documents WHERE kind = 'order'"
    ).fetchone()
    return dt.datetime.fromisoformat(latest) + dt.timedelta(days=1)


def _risks_naming(service: Any, entity: str) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in service.risks(entity=entity, limit=10_000)}


def test_all_mechanisms_ran_cleanly(world) -> None:
    assert [(r["mechanism"], r["status"]) for r in world["runs"]] == [
        ("collect", "ok"), ("assess", "ok"), ("warn", "ok"), ("review", "ok"),
    ]  # fmt: skip
    assert world["runs"][1]["counts"]["new"] >= 6


@pytest.mark.parametrize(
    ("story", "rule", "level"),
    [
        ("payment_mismatch", "payment_mismatch", "serious"),
        ("consignee_mismatch", "consignee_mismatch", "high"),
        ("single_limit", "single_limit", "high"),
    ],
)
def test_document_stories_become_their_risks(world, story: str, rule: str, level: str) -> None:
    (order,) = world["stories"][story]["orders"]
    risks = _risks_naming(world["service"], f"Order:{order}")
    assert rule in risks and risks[rule]["level"] == level
    assert risks[rule]["status"] == "open"


def test_annual_quota_names_the_buyer_and_the_orders(world) -> None:
    story = world["stories"]["annual_quota"]
    (risk,) = world["service"].risks(rule="annual_quota")
    assert {f"Order:{o}" for o in story["orders"]} <= set(risk["entities"])
    assert any(e.startswith("Buyer:") for e in risk["entities"])


def test_buyer_ring_found_by_cardinality(world) -> None:
    story = world["stories"]["buyer_ring"]
    rings = world["service"].risks(rule="buyer_ring")
    ring = next(r for r in rings if f"Order:{story['orders'][0]}" in r["entities"])
    assert {f"Order:{o}" for o in story["orders"]} <= set(ring["entities"])
    assert ring["metrics"]["distinct"] == len(story["buyers"])
    assert "关联 6 个不同的 buyer" in ring["explanation"]


def test_defective_lot_notice_propagates_to_outputs_and_recall_orders(world) -> None:
    service, story = world["service"], world["stories"]["defective_lot"]
    risk = _risks_naming(service, f"Batch:{story['batch']}")["regulator_notice"]
    assert risk["level"] == "serious"
    spread = service.explain(risk["fingerprint"])["propagation"]
    affected = {a["node"]: a for a in spread["affected"]}
    for batch in story["output_batches"]:
        assert affected[f"Batch:{batch}"]["hops"] == 1
    for order in story["sample_orders"]:
        item = affected[f"Order:{order}"]
        assert item["hops"] == 2 and item["path"][0].startswith(f"Batch({story['batch']})")
    assert spread["affected_total"] >= len(story["output_batches"]) + story["recall_orders"]


def test_every_open_risk_has_an_alert_routed_to_units(world) -> None:
    service = world["service"]
    risks = service.risks(limit=10_000)
    alerts = {a["fingerprint"]: a for a in service.alerts(status="open", limit=10_000)}
    assert {r["fingerprint"] for r in risks} == set(alerts)
    payment = service.risks(rule="payment_mismatch")[0]
    assert alerts[payment["fingerprint"]]["lead"] == ["police", "pboc"]
    overview = service.overview()
    assert overview["open_by_level"]["serious"] >= 2
    assert sum(overview["enterprises_by_grade"].values()) > 10


@pytest.mark.parametrize(
    ("story", "rule", "level", "entity"),
    [
        ("cold_chain_excursion", "cold_chain_excursion", "high", "Batch:{batch}"),
        ("recalled_lot", "epcis_nonconformant", "serious", "Batch:{batch}"),
        ("detained_shipment", "customs_detention", "serious", "Inventory:{inventories[0]}"),
    ],
)
def test_traceability_and_customs_stories_become_their_risks(
    world, story: str, rule: str, level: str, entity: str
) -> None:
    facts = world["stories"][story]
    name = entity.format(**facts)
    risks = _risks_naming(world["service"], name)
    assert rule in risks, sorted(risks)
    risk = risks[rule]
    assert (risk["level"], risk["status"], risk["key"]) == (level, "open", name)
    assert risk["entities"][0] == name
    # Serious and high risks spread over the graph: a lot reaches the orders it was sold in.
    spread = world["service"].explain(risk["fingerprint"])["propagation"]
    affected = {a["node"]: a for a in spread["affected"]}
    for order in facts["orders"]:
        if name.startswith("Batch:"):
            item = affected[f"Order:{order}"]
            assert item["hops"] == 1
            assert item["path"] == [f"Batch({facts['batch']}) -[SOLD_IN]→ Order({order})"]
            assert item["score"] == round({"serious": 1.0, "high": 0.75}[level] * 0.5, 4)
        else:
            # The inventory and its order are both roots; the receipt is one hop away.
            assert affected[f"Order:{order}"]["hops"] == 0
            clearance = affected[f"Clearance:{facts['inventories'][0]}"]
            assert clearance["hops"] == 1 and clearance["score"] == 0.5
            assert clearance["path"] == [f"{name.replace(':', '(', 1)}) -[CLEARED_AS]→ "
                                         f"Clearance({facts['inventories'][0]})"]  # fmt: skip


def test_cold_chain_reading_is_the_evidence(world) -> None:
    facts = world["stories"]["cold_chain_excursion"]
    (risk,) = world["service"].risks(rule="cold_chain_excursion")
    (signal,) = world["service"].explain(risk["fingerprint"])["signals"]
    attrs = signal["attrs"]
    assert (attrs["type"], attrs["sensor"], attrs["value"], attrs["max"]) == (
        "sensor_excursion", "Temperature", facts["value"], facts["limit"],
    )  # fmt: skip
    assert attrs["biz_step"].endswith("shipping")


def test_detained_shipment_names_the_order_and_its_enterprises(world) -> None:
    facts = world["stories"]["detained_shipment"]
    (risk,) = world["service"].risks(rule="customs_detention")
    (order,) = facts["orders"]
    assert f"Order:{order}" in risk["entities"]
    assert f"Enterprise:{order.split(':')[0]}" in risk["entities"]
    assert risk["metrics"]["signals"] == 1


def test_only_the_injected_stories_are_serious_or_high(world) -> None:
    rules = {r["rule"] for r in world["service"].risks(limit=10_000)
             if r["level"] in ("serious", "high")}  # fmt: skip
    assert rules == {
        "payment_mismatch", "consignee_mismatch", "single_limit", "annual_quota", "buyer_ring",
        "regulator_notice", "cold_chain_excursion", "epcis_nonconformant", "customs_detention",
        "seller_inspections",
    }  # fmt: skip


def test_an_enterprise_goes_from_a_to_c(world, tmp_path: Any) -> None:
    """Graded before its late inspections it is A; once they are assessed, C."""
    story = world["stories"]["enterprise_decline"]
    services = _ingested(tmp_path, world["root"] / "world")
    try:
        service = services.feature("risk")
        first = dt.datetime.strptime(story["from"], "%Y%m%d%H%M%S").replace(tzinfo=CHINA)
        service.run("collect")
        service.run("assess", as_of=first - dt.timedelta(days=1))
        before = service.credit(story["enterprise"])
        assert (before["grade"], before["score"]) == ("A", 100.0)
        service.run("all", as_of=_end_of(services))
        after = service.credit(story["enterprise"])
        assert after["grade"] == "C" and 60 <= after["score"] < 75
        assert [h["grade"] for h in after["history"]] == ["C", "A"]
        (risk,) = service.risks(rule="seller_inspections")
        assert (risk["key"], risk["level"]) == (f"Enterprise:{story['enterprise']}", "serious")
        assert risk["entities"][0] == f"Enterprise:{story['enterprise']}"
        assert {f"Inventory:{i}" for i in story["inventories"]} <= set(risk["entities"])
        assert risk["metrics"]["count"] == len(story["inventories"])
    finally:
        services.close()


def test_a_world_without_stories_raises_nothing_above_low(tmp_path: Any) -> None:
    manifest = write_world(60, SEED, tmp_path / "world", stories=False)
    assert manifest["stories"] == {}
    services = _ingested(tmp_path, tmp_path / "world")
    try:
        service = services.feature("risk")
        runs = service.run("all", as_of=_end_of(services))
        assert {r["status"] for r in runs} == {"ok"}
        levels = {r["level"] for r in service.risks(limit=10_000)}
        assert levels <= {"low"}
        assert {g["grade"] for g in service.grades()} == {"A"}
        # The shipping events carry temperature readings, all within the limits.
        (count,) = service.rdb.db.execute(
            "SELECT count(*) FROM risk_signals WHERE kind = 'epcis'"
        ).fetchone()
        assert count == 0 and manifest["counts"]["logistics_events"] > 0
    finally:
        services.close()
