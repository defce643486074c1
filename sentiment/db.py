"""The SQLite file the opinion tables share with the graph (one file, WAL mode).

Connections, pragmas and transactions come from traceability.store.embedded, as for every other
user of the file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from traceability.store.embedded import EmbeddedDatabase


class Database(EmbeddedDatabase):
    """The shared embedded file, with foreign keys enforced for the opinion tables."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, extra_pragmas=("PRAGMA foreign_keys=ON",))

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db
