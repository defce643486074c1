"""Wire settings to the store adapter, the hasher and the trace service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config import Settings
from traceability.ingest import Ingestor
from traceability.privacy import PersonalDataHasher
from traceability.store.port import GraphStore
from traceability.store.sqlite import SQLiteGraphStore
from traceability.trace import TraceLimits, TraceService


class ConfigurationError(ValueError):
    """The settings name a store that cannot be opened; the message names the setting."""


def open_store(settings: Settings) -> GraphStore:
    url = settings.resolved_graph_url
    if url.startswith("sqlite:///"):
        store = SQLiteGraphStore(Path(url.removeprefix("sqlite:///")))
        store.ensure_schema()
        return store
    if url.startswith(("neo4j://", "neo4j+s://", "bolt://", "bolt+s://")):
        raise ConfigurationError(
            f"QTRACE_GRAPH_URL={url}: 本版本尚未包含 Neo4j 适配器，请使用嵌入式存储 (留空)"
        )
    raise ConfigurationError(
        f"QTRACE_GRAPH_URL={url!r} 无法识别；应为空、sqlite:///路径 或 neo4j://主机:7687"
    )


@dataclass
class Services:
    settings: Settings
    store: GraphStore
    hasher: PersonalDataHasher
    trace: TraceService

    def ingestor(self) -> Ingestor:
        return Ingestor(self.store, self.hasher)

    def close(self) -> None:
        self.store.close()


def build_services(settings: Settings) -> Services:
    store = open_store(settings)
    hasher = PersonalDataHasher.from_settings(settings.privacy.hash_key, settings.data_dir)
    limits = TraceLimits(settings.trace.max_depth, settings.trace.max_nodes)
    return Services(settings, store, hasher, TraceService(store, limits))
