"""The embedded graph store: SQLite in one file, in WAL mode.

Nodes and edges live in two tables derived from graph_schema.  Node ids are SQLite rowids
handed out in arrival order, and edges are keyed by them: a bulk load then appends to the
end of every B-tree instead of scattering writes (hashed ids made each commit rewrite
thousands of random pages).  The unique (label, key) index is the business-key constraint.
Traversals run in the database, one indexed lookup per BFS level.
"""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from graph_schema import SCHEMA
from traceability.store.embedded import EmbeddedDatabase
from traceability.store.port import (
    Direction,
    Edge,
    Node,
    NodeRef,
    Props,
    RecallRow,
    StoreError,
    Subgraph,
    validate_records,
)
from traceability.store.traversal import RETRACTED, ExpandRules, paused_gc, walk

_NO_PROPS: Mapping[str, Any] = {}


def _encode(props: Mapping[str, Any]) -> str:
    """Compact JSON with sorted keys (stable text); ``dict()`` handles other Mappings."""
    return orjson.dumps(props, default=dict, option=orjson.OPT_SORT_KEYS).decode()


# Indexes a bulk load may build once at its end instead of maintaining row by row.  The
# business-key index (nodes_by_key) and the edge primary key stay: every upsert seeks them.
SECONDARY_INDEXES = "edges_by_dst", "idx_"


def _index_name(statement: str) -> str:
    return statement.split(" ON ")[0].rsplit(" ", 1)[-1]


def _is_secondary(statement: str) -> bool:
    return statement.startswith("CREATE INDEX ") and _index_name(statement).startswith(
        SECONDARY_INDEXES
    )


def _schema_ddl() -> list[str]:
    """Tables and indexes, derived from graph_schema."""
    ddl = [
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS nodes ("
        " id INTEGER PRIMARY KEY, label TEXT NOT NULL, key TEXT NOT NULL,"
        " props TEXT NOT NULL DEFAULT '{}')",
        # The business-key constraint of every label (graph_schema key_fields joined by ':').
        "CREATE UNIQUE INDEX IF NOT EXISTS nodes_by_key ON nodes (label, key)",
        "CREATE TABLE IF NOT EXISTS edges ("
        " src INTEGER NOT NULL, type TEXT NOT NULL, dst INTEGER NOT NULL,"
        " props TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (src, type, dst)) WITHOUT ROWID",
        "CREATE INDEX IF NOT EXISTS edges_by_dst ON edges (dst, type, src)",
    ]
    for label in SCHEMA.labels.values():
        for prop in label.indexed:
            ddl.append(
                f"CREATE INDEX IF NOT EXISTS idx_{label.name}_{prop} ON nodes "
                f"(json_extract(props, '$.{prop}')) WHERE label = '{label.name}'"
            )
    return ddl


@dataclass(slots=True)
class _BulkSession:
    """State of :meth:`SQLiteGraphStore.bulk_load` (one loading thread)."""

    db: sqlite3.Connection
    commit_rows: int
    deferred: list[str]
    open: bool = False
    pending: int = 0


class SQLiteGraphStore:
    """The embedded adapter of :class:`traceability.store.port.GraphStore`."""

    def __init__(self, path: str | Path) -> None:
        self.database = EmbeddedDatabase(path)
        self.path = self.database.path
        self._bulk: _BulkSession | None = None

    @property
    def db(self) -> sqlite3.Connection:
        return self.database.db

    def close(self) -> None:
        self.database.close()

    # -- schema --------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        with self.database.transaction() as db:
            for statement in _schema_ddl():
                db.execute(statement)
            db.execute(
                "INSERT INTO meta(name, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (str(SCHEMA.version),),
            )

    def schema_version(self) -> int | None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        except sqlite3.OperationalError:
            return None
        return int(row[0]) if row else None

    # -- writes --------------------------------------------------------------------------

    @contextmanager
    def bulk_load(self, defer_indexes: bool | None = None, commit_rows: int = 0) -> Iterator[None]:
        """Bulk-load mode for a large load by one thread (``qtrace ingest`` of a folder, bench).

        * ``defer_indexes`` (default: when the graph is empty, i.e. an initial load): the
          secondary indexes (incoming edges, indexed properties) are dropped and built once
          at the end, in sorted order, instead of one random B-tree insert per row.  Reads
          stay correct meanwhile, only slower; if the process dies, the next
          ``ensure_schema`` (every store open) builds them.
        * ``commit_rows`` > 0: upserts share one write transaction, committed once that many
          node and edge rows are pending (and at the end).  Each upsert still runs in its own
          savepoint, so a failing batch leaves nothing of itself, but a crash loses the
          batches since the last commit (a re-run redoes them: loads are idempotent).  The
          file's write lock is held in between, so only for loads with no other writer on
          the file (the compliance ledger shares it): 0 keeps one transaction per upsert.
        * The cyclic garbage collector runs over new objects only (``gc.freeze``, undone at
          the end), and not at all inside each upsert.

        Nested sessions join the outer one.
        """
        if self._bulk is not None:
            yield
            return
        db = self.database.writer
        if defer_indexes is None:
            defer_indexes = db.execute("SELECT NOT EXISTS (SELECT 1 FROM nodes)").fetchone()[0]
        deferred = [ddl for ddl in _schema_ddl() if _is_secondary(ddl)] if defer_indexes else []
        if deferred:
            with self.database.transaction() as tx:
                for ddl in deferred:
                    tx.execute(f"DROP INDEX IF EXISTS {_index_name(ddl)}")
        session = self._bulk = _BulkSession(db, max(0, commit_rows), deferred)
        # Leave a freeze made by someone else (a server after start-up) as it is.
        freeze = gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        try:
            yield
        finally:
            if freeze:
                gc.unfreeze()
            self._bulk = None
            try:
                self._commit(session)
            finally:
                if deferred:
                    with paused_gc(), self.database.transaction() as tx:
                        for ddl in deferred:
                            tx.execute(ddl)

    def upsert(self, nodes: Sequence[Node], edges: Sequence[Edge]) -> None:
        with paused_gc():
            self._upsert(nodes, edges)

    def _upsert(self, nodes: Sequence[Node], edges: Sequence[Edge]) -> None:
        validate_records(nodes, edges)
        # Merge duplicates within the batch first, so each node is written once.  Plain
        # tuples as keys: NodeRef is a tuple too, so edge ends find their nodes directly.
        merged: dict[tuple[str, str], Mapping[str, Any]] = {}
        for node in nodes:
            ident = (node.label, node.key)
            known = merged.get(ident)
            merged[ident] = node.props if known is None else {**known, **node.props}
        edge_map: dict[tuple[tuple[str, str], str, tuple[str, str]], Mapping[str, Any]] = {}
        for edge in edges:
            # MERGE semantics: an edge creates its missing end nodes.
            merged.setdefault(edge.src, _NO_PROPS)
            merged.setdefault(edge.dst, _NO_PROPS)
            edge_ident = (edge.src, edge.type, edge.dst)
            known = edge_map.get(edge_ident)
            edge_map[edge_ident] = edge.props if known is None else {**known, **edge.props}
        db = self.database.writer
        bulk = self._bulk if self._bulk is not None and self._bulk.db is db else None
        if bulk is not None and bulk.commit_rows:
            if not bulk.open:
                self._begin(db)
                bulk.open = True
            db.execute("SAVEPOINT upsert")
            try:
                self._write(db, merged, edge_map)
            except BaseException:
                db.execute("ROLLBACK TO upsert")
                db.execute("RELEASE upsert")
                raise
            db.execute("RELEASE upsert")
            bulk.pending += len(merged) + len(edge_map)
            if bulk.pending >= bulk.commit_rows:
                self._commit(bulk)
            return
        self._begin(db)
        try:
            self._write(db, merged, edge_map)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @staticmethod
    def _commit(session: _BulkSession) -> None:
        """Commit a bulk session's open transaction (rolled back if the commit fails)."""
        if not session.open:
            return
        session.open = False
        session.pending = 0
        try:
            session.db.execute("COMMIT")
        except BaseException:
            if session.db.in_transaction:
                session.db.execute("ROLLBACK")
            raise

    @staticmethod
    def _begin(db: sqlite3.Connection) -> None:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"嵌入式图库无法开始写事务: {exc}") from exc

    def _write(
        self,
        db: sqlite3.Connection,
        merged: dict[tuple[str, str], Mapping[str, Any]],
        edge_map: dict[tuple[tuple[str, str], str, tuple[str, str]], Mapping[str, Any]],
    ) -> None:
        """The batch's rows, inside the caller's transaction."""
        ids = self._ids(list(merged))
        # New nodes get the next row ids directly: this transaction holds the write
        # lock, so nobody else can take them, and no second lookup is needed.
        next_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM nodes").fetchone()[0]
        new_rows = []
        changed_rows = []
        for ident, props in merged.items():
            row_id = ids.get(ident)
            if row_id is None:
                ids[ident] = next_id
                new_rows.append((next_id, ident[0], ident[1], _encode(props)))
                next_id += 1
            elif props:
                changed_rows.append((_encode(props), row_id))
        db.executemany("INSERT INTO nodes (id, label, key, props) VALUES (?, ?, ?, ?)", new_rows)
        db.executemany(
            "UPDATE nodes SET props = json_patch(props, ?1) WHERE id = ?2 "
            "AND json_patch(props, ?1) <> props",
            changed_rows,
        )
        db.executemany(
            "INSERT INTO edges (src, type, dst, props) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (src, type, dst) DO UPDATE SET "
            "props = json_patch(edges.props, excluded.props) "
            "WHERE excluded.props <> '{}' AND edges.props <> excluded.props",
            [
                (ids[src], rel_type, ids[dst], _encode(props) if props else "{}")
                for (src, rel_type, dst), props in edge_map.items()
            ],
        )

    def _ids(self, idents: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Row ids of nodes by (label, key), in one indexed join over a JSON array."""
        rows = self.db.execute(
            "SELECT n.id, n.label, n.key FROM json_each(?) j "
            "JOIN nodes n ON n.label = j.value ->> 0 AND n.key = j.value ->> 1",
            (json.dumps(idents, ensure_ascii=False),),
        ).fetchall()
        return {(label, key): row_id for row_id, label, key in rows}

    # -- reads ---------------------------------------------------------------------------

    def _select_in(self, sql: str, ids: Collection[int], *params: Any) -> list[tuple[Any, ...]]:
        """Run ``sql`` with ``{ids}`` bound to a JSON array of ids (one statement, any size)."""
        query = sql.replace("{ids}", "SELECT value FROM json_each(?)")
        return self.db.execute(query, (json.dumps(list(ids)), *params)).fetchall()

    def get_nodes(self, refs: Iterable[NodeRef]) -> dict[NodeRef, Node]:
        ids = self._ids([(r.label, r.key) for r in refs])
        return {n.ref: n for n in self.fetch(ids.values()).values()}

    def fetch(self, ids: Collection[int]) -> dict[int, Node]:
        if not ids:
            return {}
        rows = self._select_in("SELECT id, label, key, props FROM nodes WHERE id IN ({ids})", ids)
        return {row_id: Node(label, key, orjson.loads(props)) for row_id, label, key, props in rows}

    def expand(self, frontier: list[int], rules: ExpandRules) -> list[tuple[int, str, int, Props]]:
        ids = json.dumps(frontier)
        rows = self.db.execute(
            "SELECT src, type, dst, props FROM edges WHERE src IN (SELECT value FROM json_each(?))"
            " AND type IN (SELECT value FROM json_each(?))"
            " UNION ALL "
            "SELECT src, type, dst, props FROM edges WHERE dst IN (SELECT value FROM json_each(?))"
            " AND type IN (SELECT value FROM json_each(?))",
            (ids, json.dumps(rules.outgoing), ids, json.dumps(rules.incoming)),
        ).fetchall()
        found = []
        for src, rel_type, dst, text in rows:
            props = orjson.loads(text) if text != "{}" else {}
            if not props.get(RETRACTED):
                found.append((src, rel_type, dst, props))
        return found

    def subgraph(
        self, root: NodeRef, direction: Direction, max_depth: int, max_nodes: int
    ) -> Subgraph:
        row = self.db.execute(
            "SELECT id, props FROM nodes WHERE label = ? AND key = ?", (root.label, root.key)
        ).fetchone()
        if row is None:
            raise KeyError(root)
        node = Node(root.label, root.key, json.loads(row[1]))
        return walk(self, row[0], node, direction, max_depth, max_nodes)

    def subgraphs(
        self, root: NodeRef, directions: Sequence[Direction], max_depth: int, max_nodes: int
    ) -> list[Subgraph]:
        return [self.subgraph(root, d, max_depth, max_nodes) for d in directions]

    def recall_rows(self, batches: Sequence[NodeRef], max_depth: int) -> list[RecallRow]:
        roots = {
            row_id: NodeRef(*ident)
            for ident, row_id in self._ids([(b.label, b.key) for b in batches]).items()
        }
        rows = self.db.execute(_RECALL_SQL, (json.dumps(list(roots)), max_depth)).fetchall()
        loads = orjson.loads
        fields = [loads(row[2]) for row in rows]
        # The buyer as declared comes with the order row; parties repeat across orders (a
        # few platforms, carriers, districts), so each is fetched once, display fields only
        # (never the hashes).
        party_ids = {pid for row in rows for pid in row[4:] if pid is not None}
        party_ids |= {
            row[3]
            for row, f in zip(rows, fields, strict=True)
            if f[3] is None and row[3] is not None
        }
        parties: dict[int, Node] = {}
        for row_id, label, key, *values in self._select_in(_PARTY_SQL, party_ids):
            names = _DISPLAY_FIELDS.get(label, ())
            display = {f: v for f, v in zip(names, values, strict=False) if v is not None}
            parties[row_id] = Node(label, key, display)
        get = parties.get
        result = []
        for (root, order_key, _, buyer_id, platform, carrier, district), f in zip(
            rows, fields, strict=True
        ):
            time, paid, buyer_hash, name, id_masked, phone = f
            if buyer_hash is not None and name is not None:
                shown = {"nameMasked": name}
                if id_masked is not None:
                    shown["idMasked"] = id_masked
                if phone is not None:
                    shown["phoneMasked"] = phone
                buyer: Node | None = Node("Buyer", buyer_hash, shown)
            else:
                buyer = get(buyer_id)
            result.append(
                RecallRow(
                    roots[root], NodeRef("Order", order_key), {"time": time, "acturalPaid": paid},
                    buyer, get(platform), get(carrier), get(district),
                )
            )  # fmt: skip
        return result

    # -- bulk access ---------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        result = {name: 0 for name in SCHEMA.labels} | {name: 0 for name in SCHEMA.relationships}
        for label, count in self.db.execute("SELECT label, count(*) FROM nodes GROUP BY label"):
            result[label] = count
        for rel_type, count in self.db.execute("SELECT type, count(*) FROM edges GROUP BY type"):
            result[rel_type] = count
        return result

    def iter_nodes(self, label: str, batch_size: int = 5000) -> Iterator[list[Node]]:
        SCHEMA.label(label)
        last = ""
        while True:
            rows = self.db.execute(
                "SELECT key, props FROM nodes WHERE label = ? AND key > ? ORDER BY key LIMIT ?",
                (label, last, batch_size),
            ).fetchall()
            if not rows:
                return
            yield [Node(label, key, json.loads(props)) for key, props in rows]
            last = rows[-1][0]

    def iter_edges(self, rel_type: str, batch_size: int = 5000) -> Iterator[list[Edge]]:
        rel = SCHEMA.rel(rel_type)
        # Keyset pagination along the primary key (src, type, dst): one pass over the index.
        page = (
            "SELECT e.src, e.dst, s.key, d.key, e.props FROM edges e"
            " JOIN nodes s ON s.id = e.src JOIN nodes d ON d.id = e.dst"
            " WHERE e.type = ?1 {after} ORDER BY e.src, e.type, e.dst LIMIT ?2"
        )
        rows = self.db.execute(page.format(after=""), (rel_type, batch_size)).fetchall()
        while rows:
            yield [
                Edge(rel_type, NodeRef(rel.source, sk), NodeRef(rel.target, dk), json.loads(p))
                for _, _, sk, dk, p in rows
            ]
            last_src, last_dst = rows[-1][0], rows[-1][1]
            rows = self.db.execute(
                page.format(after="AND (e.src, e.type, e.dst) > (?3, ?1, ?4)"),
                (rel_type, batch_size, last_src, last_dst),
            ).fetchall()


_DISPLAY_FIELDS = {
    "Buyer": ("nameMasked", "idMasked", "phoneMasked"),
    "Enterprise": ("name",),
    "District": ("name",),
}


# Display fields of recall parties, in _DISPLAY_FIELDS order per label.
_PARTY_SQL = (
    "SELECT id, label, key, CASE label WHEN 'Buyer' THEN props ->> '$.nameMasked'"
    " ELSE props ->> '$.name' END, props ->> '$.idMasked', props ->> '$.phoneMasked'"
    " FROM nodes WHERE id IN ({ids})"
)


# Every order downstream of the recalled lots, through transformations, with the buyer,
# platform, carrier and delivery district a recall notice must reach (as node ids).  Each
# party lookup is a primary-key seek on (src, type).  The order's fields come as one JSON
# array from one json_extract: SQLite (3.40 here) parses the ~800-byte props text once per
# call, so six ``->>`` cost six parses.
_RECALL_SQL = """
WITH RECURSIVE lots(id, root, depth) AS (
    SELECT value, value, 0 FROM json_each(?1)
    UNION
    SELECT e.dst, lots.root, lots.depth + 1 FROM lots
    JOIN edges e ON e.src = lots.id AND e.type = 'TRANSFORMED_INTO'
        AND json_extract(e.props, '$.errorDeclared') IS NOT 1
    WHERE lots.depth < ?2
),
hits(root, order_id) AS (
    SELECT DISTINCT lots.root, e.dst FROM lots
    JOIN edges e ON e.src = lots.id AND e.type = 'SOLD_IN'
)
SELECT hits.root, o.key,
       json_extract(o.props, '$.time', '$.acturalPaid', '$.buyerIdHash', '$.buyerNameMasked',
                    '$.buyerIdMasked', '$.buyerPhoneMasked'),
       eb.dst, ep.dst, ec.dst, ed.dst
FROM hits
JOIN nodes o ON o.id = hits.order_id
LEFT JOIN edges eb ON eb.src = hits.order_id AND eb.type = 'PLACED_BY'
LEFT JOIN edges ep ON ep.src = hits.order_id AND ep.type = 'ON_PLATFORM'
LEFT JOIN edges ew ON ew.src = hits.order_id AND ew.type = 'SHIPPED_AS'
LEFT JOIN edges ec ON ec.src = ew.dst AND ec.type = 'CARRIED_BY'
LEFT JOIN edges en ON en.src = hits.order_id AND en.type = 'SHIP_TO'
LEFT JOIN edges ed ON ed.src = en.dst AND ed.type = 'LOCATED_IN'
ORDER BY hits.root, o.key
"""
