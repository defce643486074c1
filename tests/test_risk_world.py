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
    yield {"service": service, "stories": stories, "runs": runs, "as_of": as_of}
    services.close()


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
