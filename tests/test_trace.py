"""Trace, responsibility and recall on the hand-built world, with answers worked by hand."""

from __future__ import annotations

import pytest

from tests.world_builder import AGENT, CARRIER, EBC, EBP1, EBP2, M1_GLN, M2_GLN, PAY
from traceability.analysis.keys import InvalidKey
from traceability.analysis.trace import TraceService
from traceability.errors import NotFound
from traceability.store.port import GraphStore


@pytest.fixture
def service(store: GraphStore, small_world) -> TraceService:
    return TraceService(store)


def ids(result: dict, label: str) -> set[str]:
    return {n["key"] for n in result["nodes"] if n["label"] == label}


def test_backward_trace_of_an_order_reaches_source_and_parties(service, small_world) -> None:
    result = service.trace("order", small_world.orders["O1"], "back")
    assert ids(result, "Batch") == {small_world.lots["F1"], small_world.lots["I1"]}
    assert ids(result, "Enterprise") == {M1_GLN, M2_GLN, EBP1, EBC, PAY, AGENT, CARRIER}
    assert ids(result, "Clearance") == {"CO1"} and ids(result, "Port") == {"4612"}
    assert ids(result, "Order") == {small_world.orders["O1"]}
    roles = [hop["role"] for hop in result["responsibility"]]
    # Production first (ingredient maker before formula maker, by time), carrier last.
    assert roles[:2] == ["manufacturer", "manufacturer"]
    assert result["responsibility"][0]["enterprise"]["key"] == M1_GLN
    assert result["responsibility"][1]["enterprise"]["key"] == M2_GLN
    assert roles[-1] == "logistics"
    assert {"ebp", "ebc", "pay", "agent", "customs"} <= set(roles)


def test_forward_trace_of_an_ingredient_lot_reaches_buyers_and_districts(service, small_world):
    result = service.trace("batch", small_world.lots["I1"], "forward")
    assert ids(result, "Order") == {small_world.orders["O1"], small_world.orders["O2"]}
    assert ids(result, "District") == {"411702", "410105"}
    consignees = [n for n in result["nodes"] if n["label"] == "Consignee"]
    assert len(consignees) == 2
    for node in consignees:  # masked for display, hashes never shown
        assert "*" in node["props"]["nameMasked"] and "*" in node["props"]["phoneMasked"]
        assert not any(name.endswith("Hash") for name in node["props"])


def test_both_is_the_union_of_the_two_walks(service, small_world) -> None:
    key = small_world.lots["F2"]
    both = service.trace("batch", key, "both")
    back = service.trace("batch", key, "back")
    forward = service.trace("batch", key, "forward")
    union = {n["id"] for n in back["nodes"]} | {n["id"] for n in forward["nodes"]}
    assert {n["id"] for n in both["nodes"]} == union
    assert ids(both, "Order") == {small_world.orders["O2"], small_world.orders["O3"]}


def test_trace_output_shape_and_order_are_stable(service, small_world) -> None:
    first = service.trace("order", small_world.orders["O2"], "both")
    second = service.trace("order", small_world.orders["O2"], "both")
    assert first == second
    node_ids = {n["id"] for n in first["nodes"]}
    assert all(e["from"] in node_ids and e["to"] in node_ids for e in first["edges"])
    assert first["summary"]["nodeCount"] == len(first["nodes"])
    upstream = next(n for n in first["nodes"] if n["key"] == small_world.lots["I1"])
    order = next(n for n in first["nodes"] if n["id"] == first["root"]["id"])
    assert upstream["column"] < order["column"]  # upstream is drawn to the left


def test_product_key_accepts_gtin13(service, small_world) -> None:
    gtin14 = small_world.lots["F1"].split(":")[0]
    result = service.trace("product", gtin14[1:], "forward")
    assert result["root"]["key"] == gtin14
    assert len(ids(result, "Order")) == 3


def test_recall_scope_counts(service, small_world) -> None:
    result = service.recall([small_world.lots["I1"]])
    assert result["summary"] == {
        "orders": 2, "buyers": 2, "districts": 2, "platforms": 2, "carriers": 1,
    }  # fmt: skip
    assert [o["key"] for o in result["orders"]] == sorted(
        [small_world.orders["O1"], small_world.orders["O2"]]
    )
    assert {p["key"] for p in result["platforms"]} == {EBP1, EBP2}
    o1 = next(o for o in result["orders"] if o["key"] == small_world.orders["O1"])
    assert o1["buyer"]["idMasked"] == "1101**********002X"
    assert o1["district"]["code"] == "411702"


def test_recall_of_two_batches_counts_each_order_once(service, small_world) -> None:
    result = service.recall([small_world.lots["F1"], small_world.lots["F2"]])
    assert result["summary"]["orders"] == 3
    per_batch = {b["key"]: b["orders"] for b in result["batches"]}
    assert per_batch == {small_world.lots["F1"]: 2, small_world.lots["F2"]: 2}
    alice = next(b for b in result["buyers"] if b["idMasked"] == "1101**********002X")
    assert alice["orders"] == 2


@pytest.mark.parametrize(
    ("kind", "key", "direction", "error"),
    [
        ("parcel", "x", "both", InvalidKey),
        ("order", "no-colon", "both", InvalidKey),
        ("order", "EBP:O1", "sideways", InvalidKey),
        ("product", "12345", "both", InvalidKey),
        ("product", "4000002000029", "both", InvalidKey),  # bad check digit
        ("order", "4101960001:NOPE", "both", NotFound),
    ],
)
def test_bad_trace_requests(service, kind, key, direction, error) -> None:
    with pytest.raises(error):
        service.trace(kind, key, direction)


def test_recall_of_unknown_batch_is_not_found(service) -> None:
    with pytest.raises(NotFound):
        service.recall(["04000002000028:NOPE"])
    with pytest.raises(InvalidKey):
        service.recall([])
