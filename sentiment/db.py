"""The SQLite file the opinion tables share with the graph (one file, WAL mode).

Each thread gets its own connection, as in the graph adapter: Flask serves requests on
several threads and SQLite connections must not be shared between them mid-transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from config import Settings


def database_path(settings: Settings) -> Path:
    """The embedded store file: ``graph_url`` when it is ``sqlite:///…``, else the data dir.

    With a Neo4j graph the opinion tables still need a home, and the data directory's
    ``qtrace.db`` is where the embedded store would be.
    """
    embedded = getattr(settings, "embedded_db_path", None)
    if isinstance(embedded, Path):
        return embedded
    url = settings.resolved_graph_url
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    return settings.data_dir / "qtrace.db"


class Database:
    """Per-thread connections to one SQLite file, with a transaction helper."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
