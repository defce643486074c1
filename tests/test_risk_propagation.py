"""Graph propagation on both stores (SQLite and a real Neo4j): paths, hops and scores.

The hand-built world of tests/world_builder.py: ingredient lot I1 → formula lot F1, sold
in O1 and O2.  The ``store`` fixture runs every test on each adapter of the store port.
"""

from __future__ import annotations

from typing import Any

from alerts.propagate import propagate
from traceability.store.port import GraphStore

DECAY = 0.5


def _by_node(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["node"]: a for a in result["affected"]}


def test_a_recalled_ingredient_lot_reaches_the_orders_of_its_formula_lot(
    store: GraphStore, small_world
) -> None:
    lots, orders = small_world.lots, small_world.orders
    i1, f1 = lots["I1"], lots["F1"]
    o1, o2 = orders["O1"], orders["O2"]
    result = propagate(
        store, [f"Batch:{i1}", "Enterprise:4101970003"], "serious",
        depth=3, max_nodes=100, decay=DECAY,
    )  # fmt: skip
    assert result["roots"] == [f"Batch:{i1}"]  # a party is never a root
    assert result["missing_roots"] == [] and result["truncated"] is False
    affected = _by_node(result)
    # serious = 1.0, then × 0.5 per hop; a Batch spreads downstream only.
    assert affected[f"Batch:{i1}"] == {
        "node": f"Batch:{i1}", "label": "Batch", "hops": 0, "score": 1.0, "path": [],
    }  # fmt: skip
    assert affected[f"Batch:{f1}"]["score"] == 0.5
    assert affected[f"Batch:{f1}"]["path"] == [f"Batch({i1}) -[TRANSFORMED_INTO]→ Batch({f1})"]
    for order in (o1, o2):
        item = affected[f"Order:{order}"]
        assert (item["hops"], item["score"]) == (2, 0.25)
        assert item["path"] == [
            f"Batch({i1}) -[TRANSFORMED_INTO]→ Batch({f1})",
            f"Batch({f1}) -[SOLD_IN]→ Order({order})",
        ]
    # Three hops: the documents, buyers and parties of those orders, never O3's.
    third = {node for node, a in affected.items() if a["hops"] == 3}
    assert third == {
        "Inventory:CO1", "Inventory:CO2", "Payment:4101980004:PO1", "Payment:4101980004:PO2",
        "Waybill:4101990005:WO1", "Waybill:4101990005:WO2", "Enterprise:4101960001",
        "Enterprise:4101960002", "Enterprise:4101970003",
        *(n for n in affected if n.startswith(("Buyer:", "Consignee:"))),
    }  # fmt: skip
    assert len([n for n in third if n.startswith(("Buyer:", "Consignee:"))]) == 4
    assert {affected[n]["score"] for n in third} == {0.125}
    assert affected["Inventory:CO1"]["path"][-1] == f"Order({o1}) -[DECLARED_IN]→ Inventory(CO1)"
    assert f"Order:{orders['O3']}" not in affected
    assert result["affected_total"] == len(affected) == 17


def test_an_order_spreads_both_ways_but_never_through_a_party(
    store: GraphStore, small_world
) -> None:
    lots, orders = small_world.lots, small_world.orders
    o1, f1, i1 = orders["O1"], lots["F1"], lots["I1"]
    result = propagate(store, [f"Order:{o1}"], "high", depth=2, max_nodes=100, decay=DECAY)
    affected = _by_node(result)
    # high = 0.75: one hop 0.375, two hops 0.1875.
    assert affected[f"Batch:{f1}"]["path"] == [f"Order({o1}) -[SOLD_IN]← Batch({f1})"]
    assert affected[f"Batch:{f1}"]["score"] == 0.375
    assert affected[f"Batch:{i1}"]["path"] == [
        f"Order({o1}) -[SOLD_IN]← Batch({f1})",
        f"Batch({f1}) -[TRANSFORMED_INTO]← Batch({i1})",
    ]
    assert affected[f"Batch:{i1}"]["score"] == 0.1875
    assert affected["Clearance:CO1"]["path"] == [
        f"Order({o1}) -[DECLARED_IN]→ Inventory(CO1)",
        "Inventory(CO1) -[CLEARED_AS]→ Clearance(CO1)",
    ]
    assert affected["District:411702"]["hops"] == 2
    # The platform EBP1 also sells O3, but a path never passes through a party node.
    assert affected["Enterprise:4101960001"]["hops"] == 1
    assert f"Order:{orders['O3']}" not in affected
    # The subgraph is traced upstream and downstream of the order, not sideways: O2 (also
    # made of F1) is not reached from O1.
    assert f"Order:{orders['O2']}" not in affected
    hops = {n: a["hops"] for n, a in affected.items()}
    assert max(hops.values()) == 2 and result["affected_total"] == 18


def test_missing_roots_and_the_node_cap_are_reported(store: GraphStore, small_world) -> None:
    lots = small_world.lots
    missing = propagate(
        store, ["Batch:09999999999999:NOPE"], "serious", depth=3, max_nodes=100, decay=DECAY
    )
    assert missing["missing_roots"] == ["Batch:09999999999999:NOPE"]
    assert missing["affected"] == []
    capped = propagate(store, [f"Batch:{lots['I1']}"], "serious", depth=3, max_nodes=3,
                       decay=DECAY)  # fmt: skip
    assert capped["truncated"] is True and capped["cap"] == 3
    assert capped["nodes"] <= 4
