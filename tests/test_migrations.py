"""The migration registry: new files, files of the previous release, and newer files."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from config import load_settings
from traceability.analysis.compliance.ledger import Ledger
from traceability.errors import ConfigurationError
from traceability.services import build_services
from traceability.store.embedded import EmbeddedDatabase
from traceability.store.migrations import Component, Migration, migrate, versions

PREVIOUS_RELEASE = Path(__file__).parent / "data" / "migrations" / "release-2b90746.db"
SIDE_TABLES = ("compliance", "epcis", "opinions_search", "opinions_state")


def test_a_new_file_gets_every_component_at_its_latest_version(tmp_path: Path) -> None:
    services = build_services(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)}))
    try:
        recorded = versions(EmbeddedDatabase(services.settings.embedded_db_path))
    finally:
        services.close()
    assert set(SIDE_TABLES) <= set(recorded) and all(v >= 1 for v in recorded.values())


def test_a_file_of_the_previous_release_is_upgraded_and_keeps_its_data(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir()
    shutil.copy(PREVIOUS_RELEASE, data / "qtrace.db")
    before = sqlite3.connect(data / "qtrace.db")
    assert not before.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'schema_versions'"
    ).fetchone()
    findings = before.execute("SELECT id FROM compliance_findings ORDER BY id").fetchall()
    assert findings  # the fixture carries data to keep
    before.close()
    services = build_services(load_settings(environ={"QTRACE_DATA_DIR": str(data)}))
    try:
        recorded = versions(EmbeddedDatabase(data / "qtrace.db"))
        assert set(SIDE_TABLES) <= set(recorded)
        after = services.ledger.db.execute("SELECT id FROM compliance_findings ORDER BY id")
        assert [tuple(row) for row in after.fetchall()] == [tuple(r) for r in findings]
    finally:
        services.close()


def test_a_file_newer_than_the_code_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "qtrace.db"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_versions SET version = 99 WHERE component = 'compliance'")
    db.commit()
    db.close()
    with pytest.raises(ConfigurationError, match=r"compliance.*99.*升级 qtrace"):
        Ledger(path)


def test_migrations_apply_in_order_once_and_atomically(tmp_path: Path) -> None:
    database = EmbeddedDatabase(tmp_path / "x.db")
    v1 = Migration(1, "table", ("CREATE TABLE IF NOT EXISTS t (a INTEGER)",))
    v2 = Migration(2, "column", ("ALTER TABLE t ADD COLUMN b TEXT",))
    assert migrate(database, Component("t", (v1,))) == [1]
    assert migrate(database, Component("t", (v1, v2))) == [2]
    assert migrate(database, Component("t", (v1, v2))) == []
    broken = Migration(3, "fails", ("ALTER TABLE t ADD COLUMN c TEXT", "NOT SQL"))
    with pytest.raises(sqlite3.OperationalError):
        migrate(database, Component("t", (v1, v2, broken)))
    columns = [row[1] for row in database.db.execute("PRAGMA table_info(t)")]
    assert columns == ["a", "b"] and versions(database)["t"] == 2  # nothing half-applied
    database.close()


def test_migration_numbers_must_be_contiguous() -> None:
    with pytest.raises(ValueError, match=r"1\.\.n"):
        Component("t", (Migration(2, "skips one"),))
