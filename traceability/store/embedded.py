"""The embedded SQLite file: one connection per thread, the pragmas, and transactions.

Graph tables, the compliance ledger, the EPCIS event store and the opinion search index
share one file (the architecture's "embedded store"); each opens it through this class so
that they all run in WAL mode with the same settings.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",  # WAL keeps the database consistent; a crash loses at most
    "PRAGMA busy_timeout=30000",  # the last commits, which idempotent loads simply redo
    # KiB: up to 32 MiB per connection, allocated only as used.  The server keeps one
    # connection per thread, so this bounds its memory; bulk writers raise it (WRITER_CACHE).
    "PRAGMA cache_size=-32768",
    "PRAGMA wal_autocheckpoint=20000",  # bulk loads rewrite each hot page fewer times
    "PRAGMA temp_store=MEMORY",
)


WRITER_CACHE = "PRAGMA cache_size=-262144"  # KiB: 256 MiB for connections that bulk-load


class EmbeddedDatabase:
    def __init__(
        self, path: str | Path, row_factory: Any = None, extra_pragmas: tuple[str, ...] = ()
    ) -> None:
        self.path = Path(path)
        self.extra_pragmas = extra_pragmas
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.row_factory = row_factory
        # One connection per thread: the web server answers requests on several threads.
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    @property
    def db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            if self.row_factory is not None:
                conn.row_factory = self.row_factory
            for pragma in PRAGMAS + self.extra_pragmas:
                conn.execute(pragma)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @property
    def writer(self) -> sqlite3.Connection:
        """The thread's connection, with the larger page cache that bulk writes want."""
        db = self.db
        if not getattr(self._local, "writer", False):
            db.execute(WRITER_CACHE)
            self._local.writer = True
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
