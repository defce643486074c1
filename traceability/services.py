"""Wire settings to the store adapter, the hasher and the trace service."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import Settings
from graph_schema import SCHEMA
from traceability.compliance import ComplianceEngine, Ledger
from traceability.epcis.capture import Capture
from traceability.epcis.store import EventStore
from traceability.ingest import Ingestor
from traceability.privacy import PersonalDataHasher
from traceability.store.neo4j import URL_SCHEMES as NEO4J_SCHEMES
from traceability.store.neo4j import Neo4jGraphStore
from traceability.store.port import GraphStore, StoreError
from traceability.store.sqlite import SQLiteGraphStore
from traceability.trace import TraceLimits, TraceService

log = logging.getLogger(__name__)


class ConfigurationError(ValueError):
    """The settings name a store that cannot be opened; the message names the setting."""


def open_store_url(
    url: str, settings: Settings, *, check_schema: bool = True, **options: Any
) -> GraphStore:
    """Open the store a URL names: ``sqlite:///path`` (embedded) or ``neo4j://``/``bolt://``.

    The embedded store creates or upgrades its tables itself.  A Neo4j database is shared
    and its constraints are an operator's decision, so it is only ever migrated by
    ``qtrace graph migrate``; with ``check_schema`` a database whose recorded schema
    version is behind graph_schema is refused.
    """
    if url.startswith("sqlite:///"):
        store = SQLiteGraphStore(Path(url.removeprefix("sqlite:///")))
        store.ensure_schema()
        return store
    if url.startswith(NEO4J_SCHEMES):
        try:
            neo4j_store = Neo4jGraphStore(
                url,
                settings.graph_user,
                settings.graph_password,
                settings.graph_database,
                **options,
            )
        except StoreError as exc:
            raise ConfigurationError(str(exc)) from exc
        if check_schema:
            try:
                check_schema_version(neo4j_store)
            except BaseException:
                neo4j_store.close()
                raise
        return neo4j_store
    raise ConfigurationError(
        f"QTRACE_GRAPH_URL={url!r} 无法识别；应为空、sqlite:///路径 或 neo4j://主机:7687"
    )


def open_store(settings: Settings, *, check_schema: bool = True) -> GraphStore:
    """The store the settings select (QTRACE_GRAPH_URL; empty means the embedded file)."""
    return open_store_url(settings.resolved_graph_url, settings, check_schema=check_schema)


def check_schema_version(store: Neo4jGraphStore) -> None:
    """Refuse a Neo4j database whose constraints/indexes predate graph_schema."""
    try:
        found = store.schema_version()
    except StoreError as exc:
        raise ConfigurationError(str(exc)) from exc
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


@dataclass
class Services:
    settings: Settings
    store: GraphStore
    hasher: PersonalDataHasher
    trace: TraceService
    ledger: Ledger

    @property
    def compliance(self) -> ComplianceEngine:
        checks = self.settings.checks
        return ComplianceEngine(
            self.ledger,
            self.hasher,
            self.settings.limits,
            checks.amount_tolerance,
            dt.timedelta(hours=checks.partner_window_hours),
        )

    @functools.cached_property
    def epcis(self) -> Capture:
        """EPCIS capture into the event store (embedded file) and the graph store."""
        settings = self.settings.epcis
        events = EventStore(self.settings.embedded_db_path)
        return Capture(events, self.store, settings.max_bytes, settings.workers)

    def ingestor(self) -> Ingestor:
        return Ingestor(
            self.store,
            self.hasher,
            archive=self.settings.data_dir / "archive",
            compliance=self.compliance,
            epcis=self.epcis,
        )

    def close(self) -> None:
        if "epcis" in self.__dict__:
            self.epcis.close()
            self.epcis.events.close()
        self.store.close()
        self.ledger.close()


def build_services(settings: Settings) -> Services:
    store = open_store(settings)
    hasher = PersonalDataHasher.from_settings(settings.privacy.hash_key, settings.data_dir)
    limits = TraceLimits(settings.trace.max_depth, settings.trace.max_nodes)
    ledger = Ledger(settings.embedded_db_path)
    return Services(settings, store, hasher, TraceService(store, limits), ledger)
