"""Open the graph store a URL names, with the settings' credentials."""

from __future__ import annotations

import logging
from typing import Any

from config import Settings
from config.settings import SettingsError, parse_store_url
from graph_schema import SCHEMA
from traceability.errors import ConfigurationError, StoreUnavailable
from traceability.store.neo4j import Neo4jGraphStore
from traceability.store.port import GraphStore, StoreError
from traceability.store.sqlite import SQLiteGraphStore

log = logging.getLogger(__name__)


def open_store_url(
    url: str, settings: Settings, *, check_schema: bool = True, **options: Any
) -> GraphStore:
    """Open the store a URL names: ``sqlite:///path`` (embedded) or ``neo4j://``/``bolt://``.

    The embedded store creates or upgrades its tables itself.  A Neo4j database is shared
    and its constraints are an operator's decision, so it is only ever migrated by
    ``qtrace graph migrate``; with ``check_schema`` a database whose recorded schema
    version is behind graph_schema is refused.
    """
    try:
        location = parse_store_url(url)
    except SettingsError as exc:
        raise ConfigurationError(str(exc)) from None
    if location.path is not None:
        store = SQLiteGraphStore(location.path)
        store.ensure_schema()
        return store
    try:
        neo4j_store = Neo4jGraphStore(
            url, settings.graph_user, settings.graph_password, settings.graph_database, **options
        )
    except (StoreUnavailable, ConfigurationError):
        raise
    except StoreError as exc:  # a bad URL or database name: the settings must change
        raise ConfigurationError(str(exc)) from exc
    if check_schema:
        try:
            check_schema_version(neo4j_store)
        except BaseException:
            neo4j_store.close()
            raise
    return neo4j_store


def open_store(settings: Settings, *, check_schema: bool = True) -> GraphStore:
    """The store the settings select (QTRACE_GRAPH_URL; empty means the embedded file)."""
    return open_store_url(settings.resolved_graph_url, settings, check_schema=check_schema)


def check_schema_version(store: Neo4jGraphStore) -> None:
    """Refuse a Neo4j database whose constraints/indexes predate graph_schema."""
    found = store.schema_version()
    if found is None:
        raise ConfigurationError(
            f"Neo4j 数据库 {store.database!r} ({store.url}) 尚未初始化图模式：请先运行 "
            f"`qtrace graph migrate` (schema version none, code needs {SCHEMA.version})"
        )
    if found < SCHEMA.version:
        raise ConfigurationError(
            f"Neo4j 数据库 {store.database!r} 的图模式版本 {found} 落后于程序所需的 "
            f"{SCHEMA.version}：请运行 `qtrace graph migrate` (schema version behind)"
        )
    if found > SCHEMA.version:
        log.warning(
            "Neo4j schema version %s is newer than this program's %s", found, SCHEMA.version
        )
