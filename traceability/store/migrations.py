"""One migration registry for every table in the embedded SQLite file.

Each component that owns tables (the graph, the compliance ledger, the EPCIS event store,
crawl state, the search index, and each feature's tables) declares a :class:`Component`:
its name and its numbered migrations.  :func:`migrate` applies, in one transaction, the
migrations newer than the version recorded in ``schema_versions`` and records the new
version, so that:

- a new file gets every migration;
- a file made by an earlier release is upgraded when it is opened (release files before
  this registry have the tables but no version row: migration 1 of each component is
  written with ``IF NOT EXISTS`` so that it adopts them);
- a file written by a newer release than this code knows is refused with a message that
  names the component and both versions, instead of being misread.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass

from traceability.errors import ConfigurationError
from traceability.store.embedded import EmbeddedDatabase

VERSIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_versions ("
    "component TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at TEXT NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...] = ()
    # For changes SQL alone cannot say (backfills); runs after ``statements``.
    apply: Callable[[sqlite3.Connection], None] | None = None


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    migrations: tuple[Migration, ...]

    def __post_init__(self) -> None:
        numbers = [m.version for m in self.migrations]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"{self.name}: migrations must be numbered 1..n, got {numbers}")

    @property
    def latest(self) -> int:
        return len(self.migrations)


def recorded_version(db: sqlite3.Connection, component: str) -> int:
    db.execute(VERSIONS_TABLE)
    row = db.execute(
        "SELECT version FROM schema_versions WHERE component = ?", (component,)
    ).fetchone()
    return int(row[0]) if row else 0


def migrate(database: EmbeddedDatabase, component: Component) -> list[int]:
    """Bring ``component``'s tables up to date; returns the versions applied."""
    with database.transaction() as db:
        current = recorded_version(db, component.name)
        if current > component.latest:
            raise ConfigurationError(
                f"数据文件 {database.path} 的 {component.name} 表结构版本为 {current}，"
                f"高于本程序支持的 {component.latest}：该文件由更新版本的 qtrace 写入，"
                f"请升级 qtrace 后再打开 (schema of {component.name} is newer than this code)"
            )
        applied = []
        for migration in component.migrations[current:]:
            for statement in migration.statements:
                db.execute(statement)
            if migration.apply is not None:
                migration.apply(db)
            applied.append(migration.version)
        if applied:
            db.execute(
                "INSERT INTO schema_versions(component, version, applied_at) VALUES (?, ?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version, "
                "applied_at = excluded.applied_at",
                (component.name, component.latest, dt.datetime.now(dt.UTC).isoformat()),
            )
    return applied


class LazySchema:
    """A component migrated on first use, once per process, so that building services
    (which every command does) never touches the file."""

    def __init__(self, database: EmbeddedDatabase, component: Component) -> None:
        self.database = database
        self.component = component
        self._ready = False
        self._lock = threading.Lock()

    def ensure(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    migrate(self.database, self.component)
                    self._ready = True


def versions(database: EmbeddedDatabase) -> dict[str, int]:
    """Every component's recorded version (``qtrace`` health and the tests read this)."""
    db = database.db
    db.execute(VERSIONS_TABLE)
    return {name: version for name, version in db.execute(
        "SELECT component, version FROM schema_versions ORDER BY component"
    )}  # fmt: skip
