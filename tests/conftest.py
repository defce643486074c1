"""Shared fixtures: store adapters for the contract suite, and a small hand-built world."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.world_builder import build_small_world
from traceability.formats.privacy import PersonalDataHasher
from traceability.store.neo4j import Neo4jGraphStore, Neo4jUnavailableError
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


# -- Neo4j (a real server: bash scripts/services.sh start neo4j, then source its env.sh) ---

NEO4J_ENV = ("QTRACE_TEST_NEO4J_URL", "QTRACE_TEST_NEO4J_USER", "QTRACE_TEST_NEO4J_PASSWORD")
_neo4j_unreachable: list[str] = []  # remembered, so a down server costs one timeout per run


def neo4j_settings() -> tuple[str, str, str]:
    """URL, user and password of the test Neo4j, or a skip (a failure under CI=true)."""
    missing = [name for name in NEO4J_ENV if not os.environ.get(name)]
    require_or_skip(
        not missing,
        f"未设置 {', '.join(missing)}：先运行 bash scripts/services.sh start neo4j "
        "并 source 其 env.sh (Neo4j test server not configured)",
    )
    return tuple(os.environ[name] for name in NEO4J_ENV)  # type: ignore[return-value]


def open_test_neo4j(**options: object) -> Neo4jGraphStore:
    """Connect to the test Neo4j (no wipe), skipping when it is not reachable."""
    url, user, password = neo4j_settings()
    require_or_skip(not _neo4j_unreachable, "; ".join(_neo4j_unreachable[:1]))
    try:
        return Neo4jGraphStore(url, user, password, connection_timeout=5.0, **options)  # type: ignore[arg-type]
    except Neo4jUnavailableError as exc:
        _neo4j_unreachable.append(f"Neo4j 不可达 (unreachable): {exc}")
        require_or_skip(False, _neo4j_unreachable[0])
        raise


def wipe_neo4j(store: Neo4jGraphStore) -> None:
    """Delete every node and relationship (constraints and indexes stay)."""
    with store.driver.session(database=store.database) as session:
        session.run(
            "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
        ).consume()


def _neo4j_store(tmp_path: Path) -> GraphStore:
    store = open_test_neo4j()
    wipe_neo4j(store)
    store.ensure_schema()
    return store


# Each adapter of the graph store port; every contract test runs against each of them.
STORE_FACTORIES: dict[str, Callable[[Path], GraphStore]] = {
    "sqlite": _sqlite_store,
    "neo4j": _neo4j_store,
}


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


@pytest.fixture(autouse=True)
def _accounts_open_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests written before the accounts feature run with login not required; the
    security tests (tests/test_security_*.py) say ``[accounts] required = true`` themselves."""
    monkeypatch.setattr("traceability.accounts.settings.REQUIRED_BY_DEFAULT", False)
