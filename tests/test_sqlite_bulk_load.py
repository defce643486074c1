"""The embedded store's bulk-load mode gives exactly what normal upserts give."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from graph_schema import SCHEMA
from tests.world_builder import build_small_world
from traceability.formats.privacy import PersonalDataHasher
from traceability.store.port import Node
from traceability.store.sqlite import SQLiteGraphStore


def _everything(store: SQLiteGraphStore) -> tuple[list[Node], list[object]]:
    nodes = [n for label in SCHEMA.labels for batch in store.iter_nodes(label) for n in batch]
    edges = [e for rel in SCHEMA.relationships for batch in store.iter_edges(rel) for e in batch]
    return sorted(nodes, key=repr), sorted(edges, key=repr)


def _indexes(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        db.close()


@pytest.fixture
def stores(tmp_path: Path):
    normal, bulk = SQLiteGraphStore(tmp_path / "n.db"), SQLiteGraphStore(tmp_path / "b.db")
    for store in (normal, bulk):
        store.ensure_schema()
    yield normal, bulk
    normal.close()
    bulk.close()


@pytest.mark.parametrize("commit_rows", [0, 1000])
def test_a_bulk_load_gives_the_same_rows_as_normal_upserts(stores, commit_rows: int) -> None:
    normal, bulk = stores
    world = build_small_world(PersonalDataHasher(b"k" * 32))
    for batch in world.batches:
        normal.upsert(batch.nodes, batch.edges)
    indexes = _indexes(bulk.path)
    with bulk.bulk_load(defer_indexes=True, commit_rows=commit_rows):
        for batch in world.batches:
            bulk.upsert(batch.nodes, batch.edges)
    assert _everything(bulk) == _everything(normal)
    assert _indexes(bulk.path) == indexes  # the deferred indexes are back


def test_a_failing_batch_in_a_shared_transaction_leaves_nothing_of_itself(stores) -> None:
    _, bulk = stores
    with bulk.bulk_load(commit_rows=1000):
        bulk.upsert([Node("Order", "E:1", {"n": 1})], [])
        with pytest.raises(ValueError):
            bulk.upsert([Node("Order", "E:2"), Node("Order", "")], [])
        bulk.upsert([Node("Order", "E:3")], [])
    assert bulk.counts()["Order"] == 2
    keys = {n.key for batch in bulk.iter_nodes("Order") for n in batch}
    assert keys == {"E:1", "E:3"}
