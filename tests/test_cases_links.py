"""The link index behind network search, on a small hand-made graph (any store port)."""

from __future__ import annotations

from pathlib import Path

from traceability.cases.network import build_index, reach, shortest_paths
from traceability.store.port import Edge, Node, NodeRef
from traceability.store.sqlite import SQLiteGraphStore


def _graph(tmp_path: Path) -> SQLiteGraphStore:
    store = SQLiteGraphStore(tmp_path / "graph.db")
    store.ensure_schema()
    nodes = [
        Node("Enterprise", "E1", {"name": "甲公司", "legalRepHash": "rep1", "addressHash": "a1"}),
        Node("Enterprise", "E2", {"name": "乙公司", "legalRepHash": "rep1"}),
        Node("Enterprise", "E3", {"name": "丙公司", "addressHash": "a1"}),
        Node("Enterprise", "P1", {"name": "平台一"}),
        Node("Enterprise", "P2", {"name": "平台二"}),
        Node("Buyer", "b1", {"idMasked": "1101**********0011", "phoneHash": "ph1"}),
        Node("Order", "P1:o1", {}),
        Node("Order", "P2:o2", {}),
        Node("Payment", "pay:1", {}),
        Node("Payment", "pay:2", {}),
    ]
    edges = [
        Edge("ON_PLATFORM", NodeRef("Order", "P1:o1"), NodeRef("Enterprise", "P1")),
        Edge("ON_PLATFORM", NodeRef("Order", "P2:o2"), NodeRef("Enterprise", "P2")),
        Edge("PAID_WITH", NodeRef("Order", "P1:o1"), NodeRef("Payment", "pay:1")),
        Edge("PAID_WITH", NodeRef("Order", "P2:o2"), NodeRef("Payment", "pay:2")),
        Edge("PAID_BY", NodeRef("Payment", "pay:1"), NodeRef("Buyer", "b1")),
        Edge("PAID_BY", NodeRef("Payment", "pay:2"), NodeRef("Buyer", "b1")),
    ]
    store.upsert(nodes, edges)
    return store


def test_enterprises_sharing_a_legal_representative_or_address(tmp_path: Path) -> None:
    store = _graph(tmp_path)
    try:
        index = build_index(store)
        parents, hubs = reach(index, "enterprise:E1", 2, 50)
        assert shortest_paths(parents, "enterprise:E2") == [
            ["enterprise:E1", "legal_rep:rep1", "enterprise:E2"]
        ]
        assert shortest_paths(parents, "enterprise:E3") == [
            ["enterprise:E1", "address:a1", "enterprise:E3"]
        ]
        assert hubs == []
        # A hub (shared by more than max_shared parties) is met but not walked through.
        parents, hubs = reach(index, "enterprise:E1", 2, 1)
        assert "enterprise:E2" not in parents and hubs
    finally:
        store.close()


def test_one_payer_across_platforms_links_the_platforms(tmp_path: Path) -> None:
    store = _graph(tmp_path)
    try:
        index = build_index(store)
        assert index.graph["buyer:b1"]["enterprise:P1"]["relation"] == "在该平台支付"
        parents, _ = reach(index, "enterprise:P1", 2, 50)
        assert shortest_paths(parents, "enterprise:P2") == [
            ["enterprise:P1", "buyer:b1", "enterprise:P2"]
        ]
        assert index.attach("payment", "pay:2") == [("buyer:b1", "支付单的支付人")]
        assert ("phone:ph1", "") in index.attach("phone", "ph1")
    finally:
        store.close()
