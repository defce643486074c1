"""The synthetic world: deterministic, valid identifiers, consistent documents, real stories."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest

from traceability.demo.generator.files import write_world
from traceability.demo.generator.pools import CUSTOMS_OFFICES, DISTRICTS
from traceability.formats.ceb.xml import read_message
from traceability.formats.identifiers import (
    is_valid_gtin,
    is_valid_hs_code,
    is_valid_resident_id,
    is_valid_uscc,
    mask_resident_id,
)
from traceability.ingest.registry import read_registry

ORDERS = 400


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("world")
    return out, write_world(ORDERS, 11, out)


def records(out: Path, code: str) -> list[dict]:
    found = []
    for path in sorted((out / "ceb" / code).glob("*.xml")):
        message = read_message(path.read_bytes())
        found.extend({"head": r.head, "lines": r.lines} for r in message.records)
    return found


def digest(folder: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        sha.update(str(path.relative_to(folder)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


def test_same_seed_same_world(world, tmp_path: Path) -> None:
    out, _ = world
    write_world(ORDERS, 11, tmp_path / "again")
    assert digest(tmp_path / "again") == digest(out)
    write_world(ORDERS, 12, tmp_path / "other")
    assert digest(tmp_path / "other") != digest(out)


def test_every_order_has_its_partner_documents(world) -> None:
    out, manifest = world
    orders = records(out, "CEB311")
    assert len(orders) == ORDERS
    order_nos = {o["head"]["orderNo"] for o in orders}
    for code, field in (("CEB411", "orderNo"), ("CEB511", "orderNo"), ("CEB621", "orderNo")):
        assert {r["head"][field] for r in records(out, code)} == order_nos, code
    cop_nos = {r["head"]["copNo"] for r in records(out, "CEB621")}
    assert {r["head"]["copNo"] for r in records(out, "CEB622")} == cop_nos
    assert manifest["files"]["CEB311"] == -(-ORDERS // 100)


def test_identifiers_are_valid(world) -> None:
    out, _ = world
    districts = {d.code for d in DISTRICTS}
    for order in records(out, "CEB311"):
        head = order["head"]
        assert is_valid_resident_id(head["buyerIdNumber"])
        assert head["consigneeDistrict"] in districts
        assert all(is_valid_gtin(line["barCode"]) for line in order["lines"])
        assert len(head["batchNumbers"].split(",")) == len(order["lines"])
    for inventory in records(out, "CEB621"):
        assert inventory["head"]["customsCode"] in CUSTOMS_OFFICES
        assert all(is_valid_hs_code(line["gcode"]) for line in inventory["lines"])
    registry = read_registry((out / "registry" / "enterprises.csv").read_bytes())
    assert registry and all(is_valid_uscc(row["统一社会信用代码"]) for row in registry)


def test_amounts_are_consistent_except_where_a_story_says_otherwise(world) -> None:
    out, manifest = world
    stories = manifest["stories"]
    payments = {p["head"]["orderNo"]: p["head"] for p in records(out, "CEB411")}
    waybills = {w["head"]["orderNo"]: w["head"] for w in records(out, "CEB511")}
    mismatched = {k.split(":")[1] for k in stories["payment_mismatch"]["orders"]}
    other_consignee = {k.split(":")[1] for k in stories["consignee_mismatch"]["orders"]}
    assert len(mismatched) == 1 and len(other_consignee) == 1
    for order in records(out, "CEB311"):
        h = order["head"]
        d = {k: Decimal(h[k]) for k in ("goodsValue", "freight", "taxTotal", "discount")}
        assert (
            Decimal(h["acturalPaid"])
            == d["goodsValue"] + d["freight"] + d["taxTotal"] - d["discount"]
        )
        assert sum(Decimal(line["totalPrice"]) for line in order["lines"]) == d["goodsValue"]
        for line in order["lines"]:
            assert Decimal(line["price"]) * int(line["qty"]) == Decimal(line["totalPrice"])
        paid_equal = Decimal(payments[h["orderNo"]]["amountPaid"]) == Decimal(h["acturalPaid"])
        assert paid_equal == (h["orderNo"] not in mismatched)
        same_consignee = waybills[h["orderNo"]]["consignee"] == h["consignee"]
        assert same_consignee == (h["orderNo"] not in other_consignee)


def test_limits_hold_except_in_the_limit_stories(world) -> None:
    out, manifest = world
    stories = manifest["stories"]
    over_single = {k.split(":")[1] for k in stories["single_limit"]["orders"]}
    yearly: dict[str, Decimal] = {}
    for inventory in records(out, "CEB621"):
        h = inventory["head"]
        amount = sum(Decimal(line["totalPrice"]) for line in inventory["lines"])
        amount += Decimal(h["freight"]) + Decimal(h["insuredFee"])
        assert (amount > 5000) == (h["orderNo"] in over_single)
        yearly[h["buyerIdNumber"]] = yearly.get(h["buyerIdNumber"], Decimal(0)) + amount
    over_quota = {mask_resident_id(k) for k, v in yearly.items() if v > 26000}
    assert over_quota == {stories["annual_quota"]["buyer"]}
    assert len(stories["annual_quota"]["orders"]) == 6


def test_buyer_ring_shares_phone_and_address(world) -> None:
    out, manifest = world
    ring = {k.split(":")[1] for k in manifest["stories"]["buyer_ring"]["orders"]}
    heads = [o["head"] for o in records(out, "CEB311") if o["head"]["orderNo"] in ring]
    assert len(heads) == 6
    assert len({h["buyerIdNumber"] for h in heads}) == 6
    assert len({(h["consigneeTelephone"], h["consigneeAddress"]) for h in heads}) == 1


def test_defective_lot_feeds_formula_lots_with_orders(world) -> None:
    out, manifest = world
    story = manifest["stories"]["defective_lot"]
    assert len(story["output_batches"]) >= 2 and story["recall_orders"] > 0
    events = [
        event
        for path in sorted((out / "epcis").glob("*.jsonld"))
        for event in json.loads(path.read_text(encoding="utf-8"))["epcisBody"]["eventList"]
    ]
    types = {e["type"] for e in events}
    assert types == {"ObjectEvent", "TransformationEvent"}
    _, lot = story["batch"].split(":")
    consuming = [
        e for e in events if e["type"] == "TransformationEvent"
        and any(q["epcClass"].endswith(f".{lot}") for q in e["inputQuantityList"])
    ]  # fmt: skip
    assert len(consuming) == len(story["output_batches"])


def test_every_message_and_document_passes_validation(world) -> None:
    from traceability.epcis.parse import parse_document
    from traceability.epcis.validate import document_problems
    from traceability.formats.ceb.validate import validate_message

    out, _ = world
    for path in sorted((out / "ceb").rglob("*.xml")):
        assert validate_message(read_message(path.read_bytes())) == [], path
    for path in sorted([*(out / "epcis").glob("*.jsonld"), *(out / "logistics").glob("*")]):
        assert document_problems(parse_document(path.read_bytes())) == [], path


def test_traceability_and_customs_stories(world) -> None:
    out, manifest = world
    stories = manifest["stories"]
    events = [
        event
        for path in sorted((out / "logistics").glob("*.jsonld"))
        for event in json.loads(path.read_text(encoding="utf-8"))["epcisBody"]["eventList"]
    ]
    hot = stories["cold_chain_excursion"]
    _, lot = hot["batch"].split(":")
    readings = {
        report["value"]
        for e in events
        if e["quantityList"][0]["epcClass"].endswith(f".{lot}")
        for element in e.get("sensorElementList", [])
        for report in element["sensorReport"]
    }
    assert hot["value"] in readings and hot["value"] > hot["limit"]
    assert all(r["value"] <= hot["limit"] for e in events if e is not None
               for el in e.get("sensorElementList", []) for r in el["sensorReport"]
               if r["value"] != hot["value"])  # fmt: skip
    _, recalled = stories["recalled_lot"]["batch"].split(":")
    (recall,) = [e for e in events if e.get("disposition") == "recalled"]
    assert recall["quantityList"][0]["epcClass"].endswith(f".{recalled}")
    receipts = {r["head"]["copNo"]: r["head"] for r in records(out, "CEB622")}
    (detained,) = stories["detained_shipment"]["inventories"]
    assert receipts[detained]["returnStatus"] == "501"
    decline = stories["enterprise_decline"]
    assert {receipts[c]["returnStatus"] for c in decline["inventories"]} == {"500"}
    assert {receipts[c]["ebcCode"] for c in decline["inventories"]} == {decline["enterprise"]}
    sellers = {o["head"]["ebcCode"] for o in records(out, "CEB311")}
    assert decline["enterprise"] in sellers
    registry = read_registry((out / "registry" / "enterprises.csv").read_bytes())
    assert any(decline["enterprise"] in row.values() for row in registry)


def test_a_world_without_stories(tmp_path: Path) -> None:
    manifest = write_world(ORDERS, 11, tmp_path / "plain", stories=False)
    assert manifest["stories"] == {}
    write_world(ORDERS, 11, tmp_path / "again", stories=False)
    assert digest(tmp_path / "plain") == digest(tmp_path / "again")
    yearly: dict[str, Decimal] = {}
    for order in records(tmp_path / "plain", "CEB311"):
        h = order["head"]
        assert Decimal(h["acturalPaid"]) <= 5000
        yearly[h["buyerIdNumber"]] = yearly.get(h["buyerIdNumber"], Decimal(0)) + Decimal(
            h["acturalPaid"]
        )
    assert max(yearly.values()) <= 26000
    statuses = {r["head"]["returnStatus"] for r in records(tmp_path / "plain", "CEB622")}
    assert statuses <= {"500", "800"}
