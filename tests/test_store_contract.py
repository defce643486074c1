"""The graph store port's contract: every adapter must pass every test here unchanged."""

from __future__ import annotations

import threading

import pytest

from graph_schema import UndeclaredError
from traceability.store.port import Direction, Edge, GraphStore, Node, NodeRef


def order(no: str, **props: object) -> Node:
    return Node("Order", f"EBP:{no}", {"orderNo": no, **props})


def test_upsert_then_get_returns_props(store: GraphStore) -> None:
    store.upsert([order("1", acturalPaid="10.5")], [])
    found = store.get_nodes([NodeRef("Order", "EBP:1"), NodeRef("Order", "EBP:missing")])
    assert list(found) == [NodeRef("Order", "EBP:1")]
    assert found[NodeRef("Order", "EBP:1")].props == {"orderNo": "1", "acturalPaid": "10.5"}


def test_merge_keeps_known_props_and_updates_changed(store: GraphStore) -> None:
    store.upsert([order("1", acturalPaid="10.5", currency="142")], [])
    store.upsert([order("1", acturalPaid="11")], [])
    props = store.get_nodes([NodeRef("Order", "EBP:1")])[NodeRef("Order", "EBP:1")].props
    assert props == {"orderNo": "1", "acturalPaid": "11", "currency": "142"}


def test_edge_creates_missing_end_nodes(store: GraphStore) -> None:
    payment = NodeRef("Payment", "PAY:T1")
    store.upsert([], [Edge("PAID_WITH", NodeRef("Order", "EBP:1"), payment)])
    assert set(store.get_nodes([NodeRef("Order", "EBP:1"), payment])) == {
        NodeRef("Order", "EBP:1"),
        payment,
    }
    counts = store.counts()
    assert counts["Order"] == 1 and counts["Payment"] == 1 and counts["PAID_WITH"] == 1


def test_reloading_the_same_records_changes_nothing(store: GraphStore, small_world) -> None:
    before = store.counts()
    for batch in small_world.batches:
        store.upsert(batch.nodes, batch.edges)
    assert store.counts() == before
    assert before["Order"] == 3 and before["SOLD_IN"] == 4 and before["TRANSFORMED_INTO"] == 2


@pytest.mark.parametrize(
    ("nodes", "edges", "error"),
    [
        ([Node("Parcel", "x")], [], UndeclaredError),
        ([], [Edge("SHIPS", NodeRef("Order", "a"), NodeRef("Waybill", "b"))], UndeclaredError),
        ([], [Edge("PAID_WITH", NodeRef("Waybill", "a"), NodeRef("Payment", "b"))], ValueError),
        ([Node("Order", "")], [], ValueError),
    ],
)
def test_bad_batch_is_refused_whole(store: GraphStore, nodes, edges, error) -> None:
    with pytest.raises(error):
        store.upsert([order("ok"), *nodes], edges)
    assert store.counts()["Order"] == 0


def test_unknown_root_raises_key_error(store: GraphStore) -> None:
    with pytest.raises(KeyError):
        store.subgraph(NodeRef("Order", "EBP:nope"), Direction.BACKWARD, 5, 100)


def test_backward_walk_follows_schema_rules(store: GraphStore, small_world) -> None:
    root = NodeRef("Order", small_world.orders["O1"])
    sub = store.subgraph(root, Direction.BACKWARD, 12, 1000)
    labels = sorted(ref.label for ref in sub.nodes)
    # O1's documents, its lot F1, F1's input I1, both products, both makers and the parties.
    assert NodeRef("Batch", small_world.lots["F1"]) in sub.nodes
    assert NodeRef("Batch", small_world.lots["I1"]) in sub.nodes
    assert NodeRef("Batch", small_world.lots["F2"]) not in sub.nodes  # not upstream of O1
    assert labels.count("Order") == 1  # never wanders to other buyers of the same lot
    assert "Consignee" not in labels  # downstream of the order
    assert sub.depth[root] == 0 and sub.depth[NodeRef("Batch", small_world.lots["I1"])] == 2
    assert all(e.src in sub.nodes and e.dst in sub.nodes for e in sub.edges)


def test_forward_walk_reaches_every_downstream_order(store: GraphStore, small_world) -> None:
    root = NodeRef("Batch", small_world.lots["I1"])
    sub = store.subgraph(root, Direction.FORWARD, 12, 1000)
    orders = sorted(ref.key for ref in sub.nodes if ref.label == "Order")
    assert orders == sorted([small_world.orders["O1"], small_world.orders["O2"]])
    assert {ref.key for ref in sub.nodes if ref.label == "District"} == {"411702", "410105"}


def test_walk_is_depth_limited_and_deterministic(store: GraphStore, small_world) -> None:
    root = NodeRef("Batch", small_world.lots["I1"])
    shallow = store.subgraph(root, Direction.FORWARD, 1, 1000)
    assert max(shallow.depth.values()) == 1
    assert not any(ref.label == "Order" for ref in shallow.nodes)
    again = store.subgraph(root, Direction.FORWARD, 12, 1000)
    first = store.subgraph(root, Direction.FORWARD, 12, 1000)
    assert [e.ident for e in again.edges] == [e.ident for e in first.edges]
    assert again.depth == first.depth


def test_walk_truncates_in_key_order(store: GraphStore, small_world) -> None:
    root = NodeRef("Batch", small_world.lots["F2"])
    sub = store.subgraph(root, Direction.FORWARD, 12, 3)
    assert sub.truncated and len(sub.nodes) == 3
    full = store.subgraph(root, Direction.FORWARD, 12, 1000)
    level_one = sorted(ref for ref, d in full.depth.items() if d == 1)
    assert set(sub.nodes) == {root, *level_one[:2]}


def test_recall_rows_cross_transformations(store: GraphStore, small_world) -> None:
    rows = store.recall_rows([NodeRef("Batch", small_world.lots["I1"])], 12)
    by_order = {row.order.key: row for row in rows}
    assert set(by_order) == {small_world.orders["O1"], small_world.orders["O2"]}
    o1 = by_order[small_world.orders["O1"]]
    assert o1.district is not None and o1.district.key == "411702"
    assert o1.carrier is not None and o1.platform is not None and o1.buyer is not None
    assert o1.buyer.props["idMasked"] == "1101**********002X"


def test_iterators_stream_everything(store: GraphStore, small_world) -> None:
    counts = store.counts()
    nodes = [n for chunk in store.iter_nodes("Order", batch_size=2) for n in chunk]
    assert len(nodes) == counts["Order"] == 3
    assert [n.key for n in nodes] == sorted(n.key for n in nodes)
    edges = [e for chunk in store.iter_edges("SOLD_IN", batch_size=1) for e in chunk]
    assert len(edges) == counts["SOLD_IN"]
    assert all(e.src.label == "Batch" and e.dst.label == "Order" for e in edges)


def test_concurrent_writers_lose_nothing(store: GraphStore) -> None:
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for i in range(20):
                # Writers overlap on half their keys: MERGE must neither lose nor double them.
                no = str(offset * 10 + i)
                store.upsert(
                    [order(no)],
                    [Edge("PAID_WITH", NodeRef("Order", f"EBP:{no}"), NodeRef("Payment", no))],
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    expected = len({str(n * 10 + i) for n in range(4) for i in range(20)})
    counts = store.counts()
    assert counts["Order"] == counts["Payment"] == counts["PAID_WITH"] == expected


def test_walk_is_cycle_safe(store: GraphStore) -> None:
    a, b, c = (NodeRef("Batch", f"01234567890128:{lot}") for lot in "ABC")
    store.upsert(
        [],
        [Edge("TRANSFORMED_INTO", a, b), Edge("TRANSFORMED_INTO", b, c),
         Edge("TRANSFORMED_INTO", c, a)],
    )  # fmt: skip
    for direction in (Direction.FORWARD, Direction.BACKWARD):
        sub = store.subgraph(a, direction, 50, 1000)
        assert set(sub.nodes) == {a, b, c}
        assert len(sub.edges) == 3
