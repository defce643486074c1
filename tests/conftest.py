"""Shared fixtures: store adapters for the contract suite, and a small hand-built world."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.world_builder import build_small_world
from traceability.privacy import PersonalDataHasher
from traceability.store.port import GraphStore
from traceability.store.sqlite import SQLiteGraphStore

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_or_skip(available: bool, reason: str) -> None:
    """Skip with a one-line reason, except under CI=true where a skip is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a required component is missing: {reason}")
    pytest.skip(reason)


def _sqlite_store(tmp_path: Path) -> GraphStore:
    return SQLiteGraphStore(tmp_path / "graph.db")


# Each adapter of the graph store port; the Neo4j adapter registers here when available.
STORE_FACTORIES: dict[str, Callable[[Path], GraphStore]] = {"sqlite": _sqlite_store}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    graph = STORE_FACTORIES[request.param](tmp_path)
    graph.ensure_schema()
    yield graph
    graph.close()


@pytest.fixture
def hasher() -> PersonalDataHasher:
    return PersonalDataHasher(b"test-key-0123456789abcdef")


@pytest.fixture
def small_world(store: GraphStore, hasher: PersonalDataHasher):
    """The hand-built world of tests/world_builder.py, loaded into ``store``."""
    world = build_small_world(hasher)
    for batch in world.batches:
        store.upsert(batch.nodes, batch.edges)
    return world
