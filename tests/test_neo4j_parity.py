"""The two adapters must give the same answers.

The first tests extend the port contract (they take the ``store`` fixture, so they run
against every registered adapter).  The rest load one generated world into the embedded
store and into Neo4j and compare them: counts, every node and edge, traces in both
directions from roots of every kind (with and without truncation), recall rows, and the
full trace/recall service output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import open_test_neo4j, wipe_neo4j
from traceability.analysis.trace import TraceService
from traceability.demo.generator.files import write_world
from traceability.epcis.capture import Capture
from traceability.epcis.ingest import EpcisDocumentHandler
from traceability.epcis.store import EventStore
from traceability.formats.privacy import PersonalDataHasher
from traceability.ingest.ingestor import Ingestor, collect_files
from traceability.store.neo4j import Neo4jGraphStore
from traceability.store.port import Direction, Edge, GraphStore, Node, NodeRef, RecallRow
from traceability.store.sqlite import SQLiteGraphStore

# -- more of the port contract ------------------------------------------------------------


def test_props_keep_names_types_and_unicode(store: GraphStore) -> None:
    props = {
        "key": "a user prop named key",  # must not clobber the business key
        "key_": "and its neighbour",
        "name": "婴儿配方奶粉 Ω",
        "qty": 3,
        "price": 12.5,
        "active": True,
        "codes": ["a", "b"],
        "empty": [],
    }
    store.upsert([Node("Product", "06900000000017", props)], [])
    found = store.get_nodes([NodeRef("Product", "06900000000017")])
    assert found[NodeRef("Product", "06900000000017")].props == props
    assert [n.key for page in store.iter_nodes("Product") for n in page] == ["06900000000017"]


def test_edge_props_merge_and_batch_duplicates_collapse(store: GraphStore) -> None:
    src, dst = NodeRef("Batch", "G:L1"), NodeRef("Order", "E:1")
    store.upsert(
        [Node("Order", "E:1", {"a": 1}), Node("Order", "E:1", {"b": 2})],
        [Edge("SOLD_IN", src, dst, {"qty": 1}), Edge("SOLD_IN", src, dst, {"line": 2})],
    )
    store.upsert([], [Edge("SOLD_IN", src, dst, {"qty": 5})])
    edges = [e for page in store.iter_edges("SOLD_IN") for e in page]
    assert edges == [Edge("SOLD_IN", src, dst, {"qty": 5, "line": 2})]
    assert store.get_nodes([dst])[dst].props == {"a": 1, "b": 2}
    assert store.get_nodes([src])[src].props == {}
    counts = store.counts()
    assert (counts["Order"], counts["Batch"], counts["SOLD_IN"]) == (1, 1, 1)


def test_counts_name_every_label_and_type(store: GraphStore) -> None:
    from graph_schema import SCHEMA

    counts = store.counts()
    assert set(counts) == set(SCHEMA.labels) | set(SCHEMA.relationships)
    assert set(counts.values()) == {0}


def test_party_root_is_expanded_once(store: GraphStore, small_world) -> None:
    """An enterprise root is expanded (it is the root), but other parties never are."""
    maker = next(
        n.ref
        for b in small_world.batches
        for n in b.nodes
        if n.label == "Enterprise" and n.props.get("name") == "Kiwi Whey Ltd"
    )
    sub = store.subgraph(maker, Direction.FORWARD, 12, 1000)
    assert sub.depth[NodeRef("Batch", small_world.lots["I1"])] == 1
    assert NodeRef("Order", small_world.orders["O2"]) in sub.nodes
    assert store.subgraph(maker, Direction.BACKWARD, 12, 1000).nodes.keys() == {maker}


@pytest.mark.parametrize(
    ("value", "walked", "recalled"),
    [
        (True, False, False), (1, False, False), (1.0, False, False),
        ("yes", False, True),  # truthy, so not walked; recall skips only true/1 (as SQL does)
        (False, True, True), (0, True, True), ("", True, True), ([], True, True),
    ],
)  # fmt: skip
def test_retraction_values_are_read_alike(
    store: GraphStore, value: object, walked: bool, recalled: bool
) -> None:
    """Every store reads odd ``errorDeclared`` values the same way as the embedded one."""
    a, b = NodeRef("Batch", "01234567890128:A"), NodeRef("Batch", "01234567890128:B")
    order = NodeRef("Order", "E:1")
    store.upsert(
        [Node("Order", "E:1", {"time": "t"})],
        [
            Edge("TRANSFORMED_INTO", a, b, {"errorDeclared": value}),  # type: ignore[dict-item]
            Edge("SOLD_IN", b, order),
        ],
    )
    assert (b in store.subgraph(a, Direction.FORWARD, 5, 100).nodes) is walked
    assert bool(store.recall_rows([a], 5)) is recalled


# -- the same world in both stores ---------------------------------------------------------

WORLD_ORDERS = 400


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parity-world")
    write_world(WORLD_ORDERS, 20261127, out)
    return out


def _ingestor(store: GraphStore, hasher: PersonalDataHasher, events: Path) -> Ingestor:
    """Like ``Services.ingestor()``: EPCIS documents go through capture (own event store)."""
    return Ingestor(
        store,
        hasher,
        handlers=[EpcisDocumentHandler(Capture(EventStore(events), store, workers=1))],
    )


@pytest.fixture(scope="module")
def both(world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    hasher = PersonalDataHasher(b"parity-test-key-0123456789abcdef")
    files = collect_files([world_dir])
    work = tmp_path_factory.mktemp("parity-db")
    embedded = SQLiteGraphStore(work / "graph.db")
    embedded.ensure_schema()
    report = _ingestor(embedded, hasher, work / "events-embedded.db").ingest_paths(files)
    assert report.ok, report.rejections[:3]
    neo = open_test_neo4j()
    wipe_neo4j(neo)
    neo.ensure_schema()
    report = _ingestor(neo, hasher, work / "events-neo4j.db").ingest_paths(files)
    assert report.ok, report.rejections[:3]
    yield embedded, neo
    embedded.close()
    neo.close()


def _all(store: GraphStore, label: str) -> list[NodeRef]:
    return [n.ref for page in store.iter_nodes(label) for n in page]


def _roots(store: GraphStore) -> list[NodeRef]:
    """A spread of roots of every label, chosen deterministically."""
    roots: list[NodeRef] = []
    for label, take in (
        ("Order", 8), ("Batch", 8), ("Product", 3), ("Enterprise", 4), ("Payment", 2),
        ("Waybill", 2), ("Inventory", 2), ("Clearance", 2), ("Consignee", 2), ("Buyer", 2),
        ("District", 1), ("Port", 1),
    ):  # fmt: skip
        refs = _all(store, label)
        step = max(1, len(refs) // take)
        roots.extend(refs[::step][:take])
    return roots


def test_same_counts_nodes_and_edges(both: tuple[SQLiteGraphStore, Neo4jGraphStore]) -> None:
    embedded, neo = both
    assert neo.counts() == embedded.counts()
    from graph_schema import SCHEMA

    for label in SCHEMA.labels:
        assert [n for p in neo.iter_nodes(label, 97) for n in p] == [
            n for p in embedded.iter_nodes(label) for n in p
        ], label
    for rel_type in SCHEMA.relationships:
        mine = sorted((e.src, e.dst, tuple(sorted(e.props.items())))
                      for p in neo.iter_edges(rel_type, 211) for e in p)  # fmt: skip
        theirs = sorted((e.src, e.dst, tuple(sorted(e.props.items())))
                        for p in embedded.iter_edges(rel_type) for e in p)  # fmt: skip
        assert mine == theirs, rel_type


@pytest.mark.parametrize("direction", [Direction.BACKWARD, Direction.FORWARD])
@pytest.mark.parametrize(("max_depth", "max_nodes"), [(12, 5000), (3, 5000), (12, 40), (12, 7)])
def test_same_subgraphs(
    both: tuple[SQLiteGraphStore, Neo4jGraphStore],
    direction: Direction,
    max_depth: int,
    max_nodes: int,
) -> None:
    embedded, neo = both
    roots = _roots(embedded)
    assert len(roots) > 30
    truncated = 0
    for root in roots:
        want = embedded.subgraph(root, direction, max_depth, max_nodes)
        got = neo.subgraph(root, direction, max_depth, max_nodes)
        assert got.nodes == want.nodes, root
        assert got.depth == want.depth, root
        assert got.edges == want.edges, root
        assert got.truncated == want.truncated, root
        truncated += want.truncated
        reference = neo.subgraph_level_by_level(root, direction, max_depth, max_nodes)
        assert (reference.nodes, reference.depth, reference.edges) == (
            want.nodes,
            want.depth,
            want.edges,
        ), root
    if max_nodes < 50:
        assert truncated  # the truncation rule is exercised, not just the happy path


def test_order_traces_take_one_round_trip(both: tuple[SQLiteGraphStore, Neo4jGraphStore]) -> None:
    _, neo = both
    before = neo.walk_fallbacks
    for order in _all(neo, "Order")[:40]:
        for direction in (Direction.BACKWARD, Direction.FORWARD):
            neo.subgraph(order, direction, 12, 5000)
    assert neo.walk_fallbacks == before  # all within FAST_WALK_NODES: no level queries


@pytest.mark.parametrize("direction", [Direction.BACKWARD, Direction.FORWARD])
def test_large_traces_continue_level_by_level(
    both: tuple[SQLiteGraphStore, Neo4jGraphStore],
    direction: Direction,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past FAST_WALK_NODES the walk goes on one query per level: still the same answer."""
    import traceability.store.neo4j as adapter

    embedded, neo = both
    monkeypatch.setattr(adapter, "FAST_WALK_NODES", 4)
    before = neo.walk_fallbacks
    for root in _roots(embedded):
        for max_nodes in (5000, 30):
            want = embedded.subgraph(root, direction, 12, max_nodes)
            got = neo.subgraph(root, direction, 12, max_nodes)
            assert (got.nodes, got.depth, got.edges, got.truncated) == (
                want.nodes, want.depth, want.edges, want.truncated
            ), root  # fmt: skip
    assert neo.walk_fallbacks > before


def test_both_walks_in_one_round_trip(both: tuple[SQLiteGraphStore, Neo4jGraphStore]) -> None:
    embedded, neo = both
    pair = (Direction.BACKWARD, Direction.FORWARD)
    for root in _roots(embedded):
        for max_nodes in (5000, 12):
            got = neo.subgraphs(root, pair, 12, max_nodes)
            want = [embedded.subgraph(root, d, 12, max_nodes) for d in pair]
            assert [(g.nodes, g.depth, g.edges, g.truncated) for g in got] == [
                (w.nodes, w.depth, w.edges, w.truncated) for w in want
            ], root
    with pytest.raises(KeyError):
        neo.subgraphs(NodeRef("Order", "no:such"), pair, 12, 100)


def _canonical(rows: list[RecallRow]) -> list[RecallRow]:
    def key(node: Node | None) -> str:
        return "" if node is None else node.key

    return sorted(
        rows,
        key=lambda r: (r.batch.key, r.order.key, key(r.buyer), key(r.platform), key(r.carrier),
                       key(r.district)),
    )  # fmt: skip


def test_same_recall_rows(both: tuple[SQLiteGraphStore, Neo4jGraphStore]) -> None:
    embedded, neo = both
    batches = _all(embedded, "Batch")
    assert batches
    for depth in (12, 1, 0):
        for chunk in (batches[:1], batches[5:9], batches):
            want = _canonical(embedded.recall_rows(chunk, depth))
            assert neo.recall_rows(chunk, depth) == want
    assert neo.recall_rows([NodeRef("Batch", "no:such")], 12) == []


def test_same_service_answers(
    both: tuple[SQLiteGraphStore, Neo4jGraphStore], world_dir: Path
) -> None:
    import json

    embedded, neo = both
    manifest = json.loads((world_dir / "manifest.json").read_text(encoding="utf-8"))
    story = manifest["stories"]["defective_lot"]
    mine, theirs = TraceService(neo), TraceService(embedded)
    for order in story["sample_orders"][:3]:
        for direction in ("back", "forward", "both"):
            assert mine.trace("order", order, direction) == theirs.trace("order", order, direction)
    assert mine.trace("batch", story["batch"], "both") == theirs.trace(
        "batch", story["batch"], "both"
    )
    assert mine.recall([story["batch"]]) == theirs.recall([story["batch"]])
