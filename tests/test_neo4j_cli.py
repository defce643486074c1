"""Selecting Neo4j by configuration, the schema-version gate and ``qtrace graph migrate``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from config import load_settings
from graph_schema import SCHEMA
from tests.conftest import neo4j_settings, open_test_neo4j, wipe_neo4j
from traceability.app.cli import main
from traceability.services import ConfigurationError, build_services, open_store
from traceability.store.neo4j import META_LABEL, Neo4jGraphStore, schema_statements

pytestmark = pytest.mark.integration


@pytest.fixture
def neo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Neo4jGraphStore]:
    """An empty test database with NO qtrace constraints, selected by QTRACE_GRAPH_*."""
    url, user, password = neo4j_settings()
    store = open_test_neo4j()
    wipe_neo4j(store)
    _drop_schema(store)
    for name, value in (
        ("QTRACE_GRAPH_URL", url),
        ("QTRACE_GRAPH_USER", user),
        ("QTRACE_GRAPH_PASSWORD", password),
        ("QTRACE_DATA_DIR", str(tmp_path / "var")),
        ("QTRACE_PRIVACY__HASH_KEY", "neo4j-cli-test-key-0123456789"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("QTRACE_CONFIG", raising=False)
    yield store
    store.ensure_schema()  # leave the server usable for the tests that follow
    store.close()


def _drop_schema(store: Neo4jGraphStore) -> None:
    with store.driver.session(database=store.database) as session:
        for record in list(session.run("SHOW CONSTRAINTS YIELD name")):
            session.run(f"DROP CONSTRAINT `{record['name']}`").consume()
        for record in list(session.run("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP'")):
            session.run(f"DROP INDEX `{record['name']}`").consume()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_unmigrated_database_is_refused_with_the_fix(neo: Neo4jGraphStore) -> None:
    with pytest.raises(ConfigurationError, match="qtrace graph migrate"):
        build_services(load_settings())
    code, out = run("graph", "stats")
    assert code != 0 and "qtrace graph migrate" in out and "尚未初始化" in out


def test_migrate_applies_schema_idempotently(neo: Neo4jGraphStore) -> None:
    code, out = run("graph", "migrate")
    assert code == 0, out
    assert f"新建 {len(schema_statements())} 项" in out
    assert neo.schema_version() == SCHEMA.version
    with neo.driver.session(database=neo.database) as session:
        constraints = {r["name"] for r in session.run("SHOW CONSTRAINTS YIELD name")}
        indexes = {r["name"] for r in session.run("SHOW INDEXES YIELD name")}
    for label in SCHEMA.labels.values():
        assert f"qtrace_{label.name}_key" in constraints
        assert {f"qtrace_{label.name}_{p}" for p in label.indexed} <= indexes
    code, out = run("graph", "migrate")
    assert code == 0 and "新建 0 项" in out and "已存在" in out
    code, out = run("graph", "stats")
    assert code == 0, out
    assert json.loads(out) == {name: 0 for name in (*SCHEMA.labels, *SCHEMA.relationships)}


def test_migrate_drops_only_obsolete_qtrace_indexes(neo: Neo4jGraphStore) -> None:
    neo.ensure_schema()
    with neo.driver.session(database=neo.database) as session:
        session.run("CREATE INDEX qtrace_Order_gone IF NOT EXISTS FOR (n:Order) ON (n.gone)")
        session.run("CREATE INDEX site_own IF NOT EXISTS FOR (n:Order) ON (n.siteOwn)")
    report = neo.ensure_schema()
    assert report.dropped == ["qtrace_Order_gone"] and not report.created
    with neo.driver.session(database=neo.database) as session:
        names = {r["name"] for r in session.run("SHOW INDEXES YIELD name")}
        session.run("DROP INDEX site_own").consume()
    assert "site_own" in names and "qtrace_Order_gone" not in names


def test_schema_behind_is_refused(neo: Neo4jGraphStore) -> None:
    neo.ensure_schema()
    open_store(load_settings()).close()  # current: accepted
    with neo.driver.session(database=neo.database) as session:
        session.run(
            f"MATCH (m:{META_LABEL} {{name: 'schema'}}) SET m.version = $v",
            v=SCHEMA.version - 1,
        ).consume()
    with pytest.raises(ConfigurationError, match=r"落后.*qtrace graph migrate"):
        open_store(load_settings())
    assert neo.schema_version() == SCHEMA.version - 1
    code, out = run("graph", "migrate")
    assert code == 0, out
    open_store(load_settings()).close()


def test_ingest_trace_and_recall_through_the_cli(neo: Neo4jGraphStore, tmp_path: Path) -> None:
    assert run("graph", "migrate")[0] == 0
    world = tmp_path / "world"
    code, out = run("generate", "--orders", "120", "--seed", "5", "--out", str(world))
    assert code == 0, out
    code, out = run("ingest", str(world))
    assert code == 0, out
    story = json.loads((world / "manifest.json").read_text(encoding="utf-8"))["stories"]
    code, out = run("recall", story["defective_lot"]["batch"], "--json")
    assert code == 0, out
    assert json.loads(out)["summary"]["orders"] == story["defective_lot"]["recall_orders"]
    order = story["defective_lot"]["sample_orders"][0]
    code, out = run("trace", "order", order, "--direction", "back", "--json")
    assert code == 0, out
    assert story["defective_lot"]["batch"] in {n["key"] for n in json.loads(out)["nodes"]}
    assert json.loads(run("graph", "stats")[1])["Order"] == 120
