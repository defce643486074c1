"""The Neo4j graph store: an adapter of the graph store port over the official driver.

Layout, derived from graph_schema:

* every graph_schema label is a Neo4j label; a node's business key is the property ``key``
  (unique per label, by constraint) and its props are the other properties, stored as-is;
* every relationship type is a Neo4j relationship type, stored ``source -> target``;
* one internal node ``(:QtraceMeta {name: 'schema'})`` records the graph_schema version
  that ``ensure_schema`` (``qtrace graph migrate``) applied.  ``QtraceMeta`` is not a
  graph_schema label: it is never returned, counted, copied or traversed.

Labels and relationship types are interpolated into Cypher text only after they are checked
against graph_schema (they are backtick-quoted identifiers from a closed set); every value
travels as a parameter.

Writes: one batch is one explicit transaction run by the driver's managed ``execute_write``,
which retries transient failures (leader switch, deadlock, service unavailable).  All
MERGE statements of a batch go in ONE round trip (one ``CALL {}`` subquery per label and per
relationship type), so a batch costs the same network time whatever its shape.  MERGE +
``SET +=`` makes a batch idempotent, so retrying it (even after an unknown commit outcome)
is harmless.

Reads: a trace is ONE Cypher statement (:func:`_walks_query`): the breadth-first walk of
traversal.py, bounded by depth, with directions taken from graph_schema, runs in the
database and records each level; :func:`traceability.store.traversal.walk` is then replayed
over that record, so the truncation and ordering rules are the very code the embedded store
runs, and the answers are identical (tests/test_neo4j_parity.py).  A trace that grows past
``FAST_WALK_NODES`` goes on with one round trip per level.  Recall is one statement too.
Single-statement reads use auto-commit transactions (one round trip; retried here), since
BEGIN and COMMIT round trips would cost more than the query.

Speed: install ``neo4j-rust-ext`` (same version as ``neo4j``) next to the driver; it encodes
the large parameter lists of a load about four times faster than the pure-Python codec.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from neo4j import Driver, GraphDatabase, ManagedTransaction
from neo4j.exceptions import (
    AuthError,
    ClientError,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from config.settings import NEO4J_SCHEMES
from graph_schema import SCHEMA, Label, RelType
from traceability.errors import ConfigurationError, StoreUnavailable
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
from traceability.store.traversal import (
    RETRACTED,
    ExpandRules,
    expand_rules,
    paused_gc,
    walk,
)

log = logging.getLogger(__name__)

_NO_PROPS: Mapping[str, Any] = {}

META_LABEL = "QtraceMeta"
"""Internal label of the schema-version node; not part of graph_schema, never traversed."""

KEY = "key"
"""Property holding a node's business key."""

URL_SCHEMES = NEO4J_SCHEMES

T = TypeVar("T")


class Neo4jStoreError(StoreError):
    """A Neo4j operation failed; the message says which setting or action fixes it."""


class Neo4jAuthError(Neo4jStoreError, ConfigurationError):
    """Neo4j rejected the configured user or password."""


class Neo4jUnavailableError(Neo4jStoreError, StoreUnavailable):
    """Neo4j could not be reached (wrong URL, server down, or restarting too long)."""

    def __init__(self, detail: str) -> None:
        StoreUnavailable.__init__(self, detail, store="Neo4j")


# -- identifiers and Cypher text ---------------------------------------------------------


def _label(name: str) -> Label:
    """A graph_schema label, or UndeclaredError: the only way a label reaches Cypher text."""
    return SCHEMA.label(name)


def _rel(name: str) -> RelType:
    return SCHEMA.rel(name)


def _consume(tx: Any, query: str) -> Any:
    """Run one schema statement in a managed transaction."""
    return tx.run(query).consume()


def _q(identifier: str) -> str:
    """Backtick-quote a schema identifier (they are ASCII words; this is belt and braces)."""
    return "`" + identifier.replace("`", "``") + "`"


def _types(names: Iterable[str]) -> str:
    return "|".join(_q(_rel(n).name) for n in names)


SCHEMA_PREFIX = "qtrace_"
"""Every constraint and index this adapter creates is named with this prefix."""


@dataclass
class SchemaReport:
    """What ``ensure_schema`` did, by constraint/index name."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def schema_statements() -> list[tuple[str, str]]:
    """(name, Cypher) of every constraint and index, derived from graph_schema.

    A uniqueness constraint on ``key`` for every label (it also gives the index that MERGE
    and every lookup by business key uses), and a range index for each ``Label.indexed``
    property.  ``IF NOT EXISTS`` makes each statement idempotent.
    """
    statements: list[tuple[str, str]] = []
    for label in SCHEMA.labels.values():
        name = f"{SCHEMA_PREFIX}{label.name}_key"
        statements.append(
            (
                name,
                f"CREATE CONSTRAINT {name} IF NOT EXISTS "
                f"FOR (n:{_q(label.name)}) REQUIRE n.{KEY} IS UNIQUE",
            )
        )
        for prop in label.indexed:
            index = f"{SCHEMA_PREFIX}{label.name}_{prop}"
            statements.append(
                (
                    index,
                    f"CREATE INDEX {index} IF NOT EXISTS FOR (n:{_q(label.name)}) ON (n.{prop})",
                )
            )
    name = f"{SCHEMA_PREFIX}{META_LABEL}_name"
    statements.append(
        (
            name,
            f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{META_LABEL}) REQUIRE n.name IS UNIQUE",
        )
    )
    return statements


# A user prop named ``key`` (or ``key_``, ``key__`` ...) is stored with one more underscore,
# so that the business key property can never be overwritten by ``SET n += props``.
def _escape_props(props: Props) -> dict[str, Any]:
    if not any(name.startswith(KEY) for name in props):
        return dict(props)
    return {
        (name + "_" if name.rstrip("_") == KEY else name): value for name, value in props.items()
    }


def _unescape_props(stored: dict[str, Any]) -> dict[str, Any]:
    stored.pop(KEY, None)
    if not any(name.startswith(KEY) for name in stored):
        return stored
    return {
        (name[:-1] if name.rstrip("_") == KEY and name != KEY else name): value
        for name, value in stored.items()
    }


def _upsert_query(node_groups: list[tuple[str, bool]], edge_groups: list[tuple[str, bool]]) -> str:
    """One statement: a ``CALL {}`` per label (MERGE nodes) then per type (MERGE edges).

    Each group is (name, has_props): rows without properties (most edge ends and most
    edges) skip the ``SET``, and send no empty map.  Node rows of a label are sorted by
    key, so concurrent writers lock in the same order.  Every edge end is among the node
    rows (MERGE semantics), so edges MATCH their ends by the unique ``key`` index.
    """
    parts = []
    for i, (label, has_props) in enumerate(node_groups):
        merge = f"MERGE (n:{_q(_label(label).name)} {{{KEY}: row.k}})"
        parts.append(
            f"CALL {{ UNWIND $n{i} AS row {merge}{' SET n += row.p' if has_props else ''} }}"
        )
    for i, (rel_type, has_props) in enumerate(edge_groups):
        rel = _rel(rel_type)
        parts.append(
            f"CALL {{ UNWIND $e{i} AS row "
            f"MATCH (a:{_q(rel.source)} {{{KEY}: row.s}}) "
            f"MATCH (b:{_q(rel.target)} {{{KEY}: row.d}}) "
            f"MERGE (a)-[r:{_q(rel.name)}]->(b){' SET r += row.p' if has_props else ''} }}"
        )
    return "\n".join(parts) + "\nRETURN 1 AS done"


# An edge whose RETRACTED ("errorDeclared") property is truthy is never walked (its EPCIS
# event was declared in error).  Python truthiness, in Cypher: absent, false, 0, '' or [].
_FOLLOWED = f"(r.{RETRACTED} IS NULL OR r.{RETRACTED} IN [false, 0, '', []])"


def _expand_query(rules: ExpandRules) -> str:
    """One BFS level: the rule edges of every frontier node, with the far end's properties."""
    branches = []
    if rules.outgoing:
        branches.append(
            f"WITH x MATCH (x)-[r:{_types(rules.outgoing)}]->(y) WHERE {_FOLLOWED} RETURN r, y"
        )
    if rules.incoming:
        branches.append(
            f"WITH x MATCH (x)<-[r:{_types(rules.incoming)}]-(y) WHERE {_FOLLOWED} RETURN r, y"
        )
    return (
        "UNWIND $ids AS id MATCH (x) WHERE elementId(x) = id "
        f"CALL {{ {' UNION ALL '.join(branches)} }} "
        "RETURN elementId(startNode(r)) AS s, type(r) AS t, elementId(endNode(r)) AS d, "
        "properties(r) AS rp, elementId(y) AS yid, labels(y) AS yl, properties(y) AS yp"
    )


def _node_from(labels: list[str], props: dict[str, Any]) -> Node:
    label = next((name for name in labels if name in SCHEMA.labels), labels[0])
    key = props.get(KEY)
    return Node(label, str(key), _unescape_props(props))


class _Walker:
    """The :class:`traceability.store.traversal.WalkBackend` of one trace, in one read tx.

    Ids are Neo4j element ids, valid within the transaction.  ``expand`` caches the nodes
    it sees so that ``fetch`` needs no round trip of its own.
    """

    def __init__(self, tx: ManagedTransaction, queries: dict[ExpandRules, str]) -> None:
        self.tx = tx
        self.queries = queries
        self.seen: dict[str, Node] = {}

    def expand(self, frontier: list[str], rules: ExpandRules) -> list[tuple[str, str, str, Props]]:
        query = self.queries.get(rules)
        if query is None:
            query = self.queries[rules] = _expand_query(rules)
        found = []
        for s, t, d, rp, yid, yl, yp in self.tx.run(query, ids=frontier):
            if rp.get(RETRACTED):
                continue
            if yid not in self.seen:
                self.seen[yid] = _node_from(yl, yp)
            found.append((s, t, d, rp))
        return found

    def fetch(self, ids: Collection[str]) -> dict[str, Node]:
        return {i: self.seen[i] for i in ids if i in self.seen}


def _walk_expr(rules: ExpandRules) -> str:
    """The whole breadth-first walk of traversal.py from ``root``, as ONE Cypher expression.

    A ``reduce`` over ``range(1, $depth)`` carries ``{frontier, seen, levels}``.  Each
    step expands the expandable frontier nodes (the root, or any non-party node) along
    the rule types in the rule directions (both derived from graph_schema), records the
    edges found and the nodes first seen, and makes those the next frontier.  Once more
    than ``$cap`` nodes are known the frontier empties, so the server never goes past the
    level a walk truncates at.  Python replays :func:`traversal.walk` over the recorded
    levels, so the truncation and ordering rules live in one place.

    ``head([v IN [expr] | body])`` binds ``v`` to ``expr`` within ``body`` (Cypher has no
    let).  The text depends only on the root label and the directions, so there is one
    small query plan per pair, whatever the depth.
    """
    party = [name for name, spec in SCHEMA.labels.items() if spec.party]
    expandable = "x = root OR NOT (" + " OR ".join(f"x:{_q(p)}" for p in party) + ")"
    edge = (
        "{s: elementId(startNode(r)), t: type(r), d: elementId(endNode(r)), p: properties(r), y: y}"
    )
    patterns = []
    if rules.outgoing:
        patterns.append(f"[(x)-[r:{_types(rules.outgoing)}]->(y) WHERE {_FOLLOWED} | {edge}]")
    if rules.incoming:
        patterns.append(f"[(x)<-[r:{_types(rules.incoming)}]-(y) WHERE {_FOLLOWED} | {edge}]")
    step = (
        "CASE WHEN size(st.frontier) = 0 THEN st ELSE "
        f"head([xs IN [[x IN st.frontier WHERE {expandable}]] | "
        f"head([found IN [reduce(acc = [], x IN xs | acc + {' + '.join(patterns)})] | "
        # A level too wide to de-duplicate cheaply is left unrecorded (the walk does it live).
        "CASE WHEN size(found) > 4 * $cap THEN {frontier: [], seen: [], levels: st.levels} "
        "ELSE head([fresh IN [reduce(acc = [], f IN found | "
        "CASE WHEN f.y IN st.seen OR f.y IN acc THEN acc ELSE acc + [f.y] END)] | "
        "{frontier: CASE WHEN size(st.seen) + size(fresh) > $cap THEN [] ELSE fresh END, "
        "seen: st.seen + fresh, "
        "levels: st.levels + [{xs: [x IN xs | elementId(x)], "
        "edges: [f IN found | {s: f.s, t: f.t, d: f.d, p: f.p}], "
        "nodes: [n IN fresh | {id: elementId(n), l: labels(n), p: properties(n)}]}]}"
        "]) END])]) END"
    )
    return (
        "reduce(st = {frontier: [root], seen: [root], levels: []}, "
        f"i IN range(1, $depth) | {step}).levels"
    )


def _walks_query(label: str, directions: Sequence[Direction]) -> str:
    """One statement walking from one root in each of ``directions`` (``levels0``, ...)."""
    walks = ", ".join(
        f"{_walk_expr(expand_rules(d))} AS levels{i}" for i, d in enumerate(directions)
    )
    return (
        f"MATCH (root:{_q(_label(label).name)} {{{KEY}: $key}})\n"
        f"RETURN elementId(root) AS id, properties(root) AS p, {walks}"
    )


FAST_WALK_NODES = 200
"""Up to this many nodes a trace is one round trip (:func:`_walks_query`); past it, the walk
goes on one round trip per level: Cypher has no set type, so the one-query walk's
duplicate check is quadratic, while a level query is linear in what it returns."""


class _Replay:
    """A WalkBackend that serves the levels a :func:`_walks_query` recorded, then goes live.

    As long as the walk asks to expand exactly the frontier the server expanded, the
    recorded edges are returned.  From the first level the server did not record (it
    stops past ``FAST_WALK_NODES``), each level is one Cypher query, like the embedded
    store's.  Element ids are stable for the life of a node, so both halves agree.
    """

    def __init__(
        self, levels: list[dict[str, Any]], live: Callable[[list[str]], list[Any]]
    ) -> None:
        self.levels = levels
        self.level = 0
        self.live = live
        self.went_live = False
        self.nodes = {n["id"]: _node_from(n["l"], n["p"]) for lvl in levels for n in lvl["nodes"]}

    def expand(self, frontier: list[str], rules: ExpandRules) -> list[tuple[str, str, str, Props]]:
        if not self.went_live and self.level < len(self.levels):
            recorded = self.levels[self.level]
            self.level += 1
            if len(recorded["xs"]) == len(frontier) and set(recorded["xs"]) == set(frontier):
                return [
                    (e["s"], e["t"], e["d"], e["p"])
                    for e in recorded["edges"]
                    if not e["p"].get(RETRACTED)
                ]
        self.went_live = True
        found = []
        for s, t, d, rp, yid, yl, yp in self.live(frontier):
            if rp.get(RETRACTED):
                continue
            if yid not in self.nodes:
                self.nodes[yid] = _node_from(yl, yp)
            found.append((s, t, d, rp))
        return found

    def fetch(self, ids: Collection[str]) -> dict[str, Node]:
        return {i: self.nodes[i] for i in ids if i in self.nodes}


# -- the adapter --------------------------------------------------------------------------


class Neo4jGraphStore:
    """The Neo4j adapter of :class:`traceability.store.port.GraphStore`."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        database: str = "neo4j",
        *,
        connection_timeout: float = 10.0,
        max_transaction_retry_time: float = 30.0,
        verify: bool = True,
    ) -> None:
        if not url.startswith(URL_SCHEMES):
            raise Neo4jStoreError(
                f"QTRACE_GRAPH_URL={url!r}: 不是 Neo4j 地址，应为 neo4j://主机:7687 或 "
                "bolt://主机:7687 (not a Neo4j URL)"
            )
        self.url = url
        self.user = user
        self.database = database
        self.max_transaction_retry_time = max_transaction_retry_time
        self._expand_queries: dict[ExpandRules, str] = {}
        self._walk_queries: dict[tuple[str, tuple[Direction, ...]], str] = {}
        self.walk_fallbacks = 0  # traces that went on level by level (see subgraph)
        try:
            self.driver: Driver = GraphDatabase.driver(
                url,
                auth=(user, password),
                connection_timeout=connection_timeout,
                max_transaction_retry_time=max_transaction_retry_time,
                # Server notifications are off: "relationship type does not exist" for a type
                # not loaded yet is normal here, and ``CALL { WITH x ... }`` (which runs on
                # every 5.x server) is "deprecated" on 5.23+ in favour of ``CALL (x) {...}``.
                notifications_min_severity="OFF",
            )
        except (ValueError, DriverError) as exc:
            raise Neo4jStoreError(f"QTRACE_GRAPH_URL={url!r} 无效: {exc}") from exc
        if verify:
            try:
                self.verify()
            except BaseException:
                self.driver.close()
                raise

    # -- connection ------------------------------------------------------------------------

    def verify(self) -> None:
        """Connect, log in and reach the database, or raise an error naming the setting."""
        try:
            # No retries here (unlike managed transactions): a wrong URL or password must
            # be reported at once, not after the retry window.
            self.driver.verify_connectivity()
            with self.driver.session(database=self.database) as session:
                session.run("RETURN 1").consume()
        except AuthError as exc:
            raise Neo4jAuthError(
                f"Neo4j 拒绝了登录：请检查 QTRACE_GRAPH_USER (当前 {self.user!r}) 与 "
                f"QTRACE_GRAPH_PASSWORD 设置 (authentication failed for {self.url}: "
                f"{exc.message})"
            ) from exc
        except ClientError as exc:
            if exc.code and "DatabaseNotFound" in exc.code:
                raise Neo4jStoreError(
                    f"Neo4j 中不存在数据库 {self.database!r}：请检查 QTRACE_GRAPH_DATABASE "
                    f"设置 ({exc.message})"
                ) from exc
            raise Neo4jStoreError(f"Neo4j 拒绝了请求: {exc.message}") from exc
        except (ServiceUnavailable, SessionExpired, DriverError, OSError) as exc:
            raise Neo4jUnavailableError(
                f"无法连接 Neo4j：请检查 QTRACE_GRAPH_URL (当前 {self.url}) 且服务已启动 "
                f"(cannot reach Neo4j: {exc})"
            ) from exc

    def close(self) -> None:
        self.driver.close()

    def _session(self, write: bool = False) -> Any:
        return self.driver.session(
            database=self.database, default_access_mode="WRITE" if write else "READ"
        )

    def _write(self, work: Callable[[ManagedTransaction], T], what: str) -> T:
        """Run ``work`` in a managed write transaction; map driver errors to StoreError.

        The driver retries transient errors itself.  An unknown commit outcome
        (``IncompleteCommit``: the connection died after COMMIT was sent) is retried here,
        because every write of this adapter is an idempotent MERGE batch.
        """
        deadline = time.monotonic() + self.max_transaction_retry_time
        while True:
            try:
                with self._session(write=True) as session:
                    return session.execute_write(work)
            except IncompleteCommit as exc:
                if time.monotonic() > deadline:
                    raise Neo4jUnavailableError(
                        f"Neo4j {what}: 提交结果未知且重试超时 (commit outcome unknown): {exc}"
                    ) from exc
                log.warning("Neo4j %s: commit outcome unknown, retrying the batch", what)
                time.sleep(1.0)
            except AuthError as exc:
                raise Neo4jAuthError(
                    f"Neo4j 拒绝了登录：请检查 QTRACE_GRAPH_USER 与 QTRACE_GRAPH_PASSWORD "
                    f"({exc.message})"
                ) from exc
            except (ServiceUnavailable, SessionExpired, TransientError) as exc:
                raise Neo4jUnavailableError(
                    f"Neo4j {what} 失败，重试 {self.max_transaction_retry_time:.0f} 秒后仍不可用；"
                    f"本批未写入 (nothing of this batch was written): {exc}"
                ) from exc
            except Neo4jError as exc:
                raise Neo4jStoreError(
                    f"Neo4j {what} 失败，本批未写入 (nothing was written): {exc.message}"
                ) from exc
            except DriverError as exc:
                raise Neo4jStoreError(f"Neo4j {what} 失败，本批未写入: {exc}") from exc

    def _read(self, work: Callable[[ManagedTransaction], T], what: str) -> T:
        try:
            with self._session() as session:
                return session.execute_read(work)
        except AuthError as exc:
            raise Neo4jAuthError(
                f"Neo4j 拒绝了登录：请检查 QTRACE_GRAPH_USER 与 QTRACE_GRAPH_PASSWORD "
                f"({exc.message})"
            ) from exc
        except (ServiceUnavailable, SessionExpired) as exc:
            raise Neo4jUnavailableError(f"Neo4j {what} 失败，服务不可用: {exc}") from exc
        except Neo4jError as exc:
            raise Neo4jStoreError(f"Neo4j {what} 失败: {exc.message}") from exc

    def _expand_rows(self, query: str, ids: Any) -> list[Any]:
        """One level of a trace walk, for :class:`_Replay`."""
        return self._rows(query, "追溯", ids=ids)

    def _rows(self, query: str, what: str, **params: Any) -> list[Any]:
        """Run ONE read statement in an auto-commit transaction: a single round trip.

        A managed transaction adds BEGIN and COMMIT round trips, which cost more than the
        query itself for a trace.  A single read statement needs no transaction of its
        own, and is retried here on the errors the driver would retry (reads are
        idempotent).
        """
        deadline = time.monotonic() + self.max_transaction_retry_time
        delay = 0.25
        while True:
            try:
                with self._session() as session:
                    return list(session.run(query, params))
            except (ServiceUnavailable, SessionExpired, TransientError) as exc:
                if time.monotonic() + delay > deadline:
                    raise Neo4jUnavailableError(
                        f"Neo4j {what} 失败，重试 {self.max_transaction_retry_time:.0f} 秒后"
                        f"仍不可用: {exc}"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            except AuthError as exc:
                raise Neo4jAuthError(
                    f"Neo4j 拒绝了登录：请检查 QTRACE_GRAPH_USER 与 QTRACE_GRAPH_PASSWORD "
                    f"({exc.message})"
                ) from exc
            except Neo4jError as exc:
                raise Neo4jStoreError(f"Neo4j {what} 失败: {exc.message}") from exc
            except DriverError as exc:
                raise Neo4jStoreError(f"Neo4j {what} 失败: {exc}") from exc

    # -- schema ----------------------------------------------------------------------------

    def ensure_schema(self) -> SchemaReport:
        """Apply the constraints and indexes graph_schema derives, and record its version.

        Idempotent: existing ones are kept; ``qtrace_*`` ones that graph_schema no longer
        derives are dropped (only ours: anything else in the database is left alone).
        """
        constraints = {r["name"] for r in self._rows("SHOW CONSTRAINTS YIELD name", "读取约束")}
        indexes = {
            r["name"]
            for r in self._rows(
                "SHOW INDEXES YIELD name, owningConstraint "
                "WHERE owningConstraint IS NULL RETURN name",
                "读取索引",
            )
        }
        wanted = schema_statements()
        wanted_names = {name for name, _ in wanted}
        report = SchemaReport()
        for name, statement in wanted:
            if name in constraints or name in indexes:
                report.existing.append(name)
                continue
            self._write(functools.partial(_consume, query=statement), "创建约束/索引")
            report.created.append(name)
        for kind, names in (("CONSTRAINT", constraints), ("INDEX", indexes)):
            for name in sorted(names):
                if name.startswith(SCHEMA_PREFIX) and name not in wanted_names:
                    drop = f"DROP {kind} {_q(name)} IF EXISTS"
                    self._write(functools.partial(_consume, query=drop), "删除过时的约束/索引")
                    report.dropped.append(name)
        self._write(
            lambda tx: tx.run(
                f"MERGE (m:{META_LABEL} {{name: 'schema'}}) SET m.version = $version, "
                "m.appliedAt = datetime()",
                version=SCHEMA.version,
            ).consume(),
            "记录模式版本",
        )
        if report.created:
            self._await_indexes()
        return report

    def _await_indexes(self, timeout: float = 300.0) -> None:
        try:
            with self._session(write=True) as session:
                session.run(f"CALL db.awaitIndexes({int(timeout)})").consume()
        except Neo4jError as exc:
            raise Neo4jStoreError(
                f"Neo4j 索引未能在 {timeout:.0f} 秒内就绪: {exc.message}"
            ) from exc

    def schema_version(self) -> int | None:
        rows = self._rows(
            f"MATCH (m:{META_LABEL} {{name: 'schema'}}) RETURN m.version AS v", "读取模式版本"
        )
        return int(rows[0]["v"]) if rows and rows[0]["v"] is not None else None

    # -- writes ----------------------------------------------------------------------------

    def upsert(self, nodes: Sequence[Node], edges: Sequence[Edge]) -> None:
        with paused_gc():  # a batch's parameter rows are many small acyclic objects
            self._upsert(nodes, edges)

    def _upsert(self, nodes: Sequence[Node], edges: Sequence[Edge]) -> None:
        validate_records(nodes, edges)
        # Merge duplicates within the batch (later props win), keeping the caller's mapping
        # until a duplicate forces a copy: loads send tens of thousands of records a batch.
        by_label: dict[str, dict[str, Mapping[str, Any]]] = {}
        for node in nodes:
            keyed = by_label.get(node.label)
            if keyed is None:
                keyed = by_label[node.label] = {}
            known = keyed.get(node.key)
            keyed[node.key] = node.props if known is None else {**known, **node.props}
        by_type: dict[str, dict[tuple[str, str], Mapping[str, Any]]] = {}
        for edge in edges:
            for end in (edge.src, edge.dst):  # MERGE semantics: edges create missing ends
                keyed = by_label.get(end.label)
                if keyed is None:
                    keyed = by_label[end.label] = {}
                if end.key not in keyed:
                    keyed[end.key] = _NO_PROPS
            pairs = by_type.get(edge.type)
            if pairs is None:
                pairs = by_type[edge.type] = {}
            pair = (edge.src.key, edge.dst.key)  # the type fixes both end labels
            known = pairs.get(pair)
            pairs[pair] = edge.props if known is None else {**known, **edge.props}
        if not by_label:
            return
        # Rows sorted by key: concurrent writers take their locks in the same order.
        node_rows: dict[tuple[str, bool], list[dict[str, Any]]] = {}
        for label, keyed in by_label.items():
            bare, full = [], []
            for key in sorted(keyed):
                props = keyed[key]
                if props:
                    full.append({"k": key, "p": _escape_props(props)})
                else:
                    bare.append({"k": key})
            for has_props, rows in ((False, bare), (True, full)):
                if rows:
                    node_rows[(label, has_props)] = rows
        edge_rows: dict[tuple[str, bool], list[dict[str, Any]]] = {}
        for rel_type, pairs in by_type.items():
            bare, full = [], []
            for pair in sorted(pairs):
                props = pairs[pair]
                if props:
                    full.append({"s": pair[0], "d": pair[1], "p": dict(props)})
                else:
                    bare.append({"s": pair[0], "d": pair[1]})
            for has_props, rows in ((False, bare), (True, full)):
                if rows:
                    edge_rows[(rel_type, has_props)] = rows
        node_groups, edge_groups = sorted(node_rows), sorted(edge_rows)
        query = _upsert_query(node_groups, edge_groups)
        params: dict[str, Any] = {f"n{i}": node_rows[g] for i, g in enumerate(node_groups)}
        params |= {f"e{i}": edge_rows[g] for i, g in enumerate(edge_groups)}

        def work(tx: ManagedTransaction) -> None:
            tx.run(query, params).consume()

        self._write(work, "写入")

    # -- reads -----------------------------------------------------------------------------

    def get_nodes(self, refs: Iterable[NodeRef]) -> dict[NodeRef, Node]:
        by_label: dict[str, list[str]] = {}
        for ref in refs:
            if ref.label in SCHEMA.labels:
                by_label.setdefault(ref.label, []).append(ref.key)
        if not by_label:
            return {}
        groups = sorted(by_label)
        branches = [
            f"UNWIND $k{i} AS key MATCH (n:{_q(_label(name).name)} {{{KEY}: key}}) "
            f"RETURN '{name}' AS label, properties(n) AS p"
            for i, name in enumerate(groups)
        ]
        query = "CALL { " + " UNION ALL ".join(branches) + " } RETURN label, p"
        params = {f"k{i}": sorted(set(by_label[name])) for i, name in enumerate(groups)}
        rows = self._rows(query, "查询节点", **params)
        found = {}
        for row in rows:
            node = _node_from([row["label"]], row["p"])
            found[node.ref] = node
        return found

    def subgraph(
        self, root: NodeRef, direction: Direction, max_depth: int, max_nodes: int
    ) -> Subgraph:
        """Usually one round trip: the walk runs in Cypher (:func:`_walk_expr`).

        :func:`traversal.walk` is replayed over what the server recorded, so the result is
        the embedded store's by construction; a large trace continues level by level
        (see :class:`_Replay`).
        """
        return self.subgraphs(root, (direction,), max_depth, max_nodes)[0]

    def subgraphs(
        self,
        root: NodeRef,
        directions: Sequence[Direction],
        max_depth: int,
        max_nodes: int,
    ) -> list[Subgraph]:
        """``[subgraph(root, d, ...) for d in directions]`` in ONE round trip.

        A "both" trace is a backward and a forward walk from the same root; asking for
        both at once halves its network time.
        """
        label = _label(root.label)
        directions = tuple(directions)
        for direction in directions:
            expand_rules(direction)  # refuses BOTH before any round trip
        depth = max(0, int(max_depth))
        cache_key = (label.name, directions)
        query = self._walk_queries.get(cache_key)
        if query is None:
            query = self._walk_queries[cache_key] = _walks_query(label.name, directions)
        rows = self._rows(
            query, "追溯", key=root.key, depth=depth, cap=min(max_nodes, FAST_WALK_NODES)
        )
        if not rows:
            raise KeyError(root)
        root_node = _node_from([label.name], rows[0]["p"])
        results = []
        for i, direction in enumerate(directions):
            expand = self._expand_query_for(expand_rules(direction))
            replay = _Replay(rows[0][f"levels{i}"], functools.partial(self._expand_rows, expand))
            results.append(walk(replay, rows[0]["id"], root_node, direction, depth, max_nodes))
            if replay.went_live:
                self.walk_fallbacks += 1
        return results

    def _expand_query_for(self, rules: ExpandRules) -> str:
        query = self._expand_queries.get(rules)
        if query is None:
            query = self._expand_queries[rules] = _expand_query(rules)
        return query

    def subgraph_level_by_level(
        self, root: NodeRef, direction: Direction, max_depth: int, max_nodes: int
    ) -> Subgraph:
        """The reference implementation: :func:`traversal.walk`, one round trip per level."""
        label = _label(root.label)

        def work(tx: ManagedTransaction) -> Subgraph | None:
            record = tx.run(self._root_query(label.name), key=root.key).single()
            if record is None:
                return None
            root_node = _node_from([label.name], record["p"])
            walker = _Walker(tx, self._expand_queries)
            return walk(walker, record["id"], root_node, direction, max_depth, max_nodes)

        result = self._read(work, "追溯")
        if result is None:
            raise KeyError(root)
        return result

    @staticmethod
    def _root_query(label: str) -> str:
        return (
            f"MATCH (n:{_q(_label(label).name)} {{{KEY}: $key}}) "
            "RETURN elementId(n) AS id, properties(n) AS p"
        )

    def recall_rows(self, batches: Sequence[NodeRef], max_depth: int) -> list[RecallRow]:
        roots = sorted({b.key for b in batches if b.label == "Batch"})
        if not roots:
            return []
        depth = int(max_depth)
        if depth < 0:
            raise ValueError("max_depth must be >= 0")
        rows = self._rows(_recall_query(depth), "召回范围", roots=roots)
        result = []
        for row in rows:
            result.append(
                RecallRow(
                    batch=NodeRef("Batch", row["root"]),
                    order=NodeRef("Order", row["order"]),
                    order_props={"time": row["time"], "acturalPaid": row["paid"]},
                    buyer=_display("Buyer", row["buyer"]),
                    platform=_display("Enterprise", row["platform"]),
                    carrier=_display("Enterprise", row["carrier"]),
                    district=_display("District", row["district"]),
                )
            )
        # Deterministic: by root key, order key, then parties.  (The embedded store orders
        # roots by its internal row id, which depends on load order; callers must not rely
        # on the order of roots.)
        result.sort(key=_recall_order)
        return result

    # -- bulk access -----------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        branches = [
            f"MATCH (n:{_q(name)}) RETURN '{name}' AS name, count(n) AS c" for name in SCHEMA.labels
        ] + [
            f"MATCH ()-[r:{_q(name)}]->() RETURN '{name}' AS name, count(r) AS c"
            for name in SCHEMA.relationships
        ]
        query = "CALL { " + " UNION ALL ".join(branches) + " } RETURN name, c"
        result = {name: 0 for name in SCHEMA.labels} | {name: 0 for name in SCHEMA.relationships}
        for row in self._rows(query, "统计"):
            result[row["name"]] = row["c"]
        return result

    def iter_nodes(
        self, label: str, batch_size: int = 5000, after: str | None = None
    ) -> Iterator[list[Node]]:
        """Nodes of ``label`` in key order, a page at a time; ``after`` resumes past a key."""
        name = _label(label).name
        query = (
            f"MATCH (n:{_q(name)}) WHERE n.{KEY} > $last "
            f"RETURN properties(n) AS p ORDER BY n.{KEY} LIMIT $size"
        )
        last = after if after is not None else ""
        while True:
            rows = self._rows(query, "读取节点", last=last, size=batch_size)
            if not rows:
                return
            page = [_node_from([name], row["p"]) for row in rows]
            yield page
            last = page[-1].key

    def iter_edges(
        self, rel_type: str, batch_size: int = 5000, after: tuple[str, str] | None = None
    ) -> Iterator[list[Edge]]:
        """Edges of a type in (source key, target key) order; ``after`` resumes past a pair."""
        rel = _rel(rel_type)
        # Keyset pagination: the key index gives sources in order, a partial sort the rest.
        query = (
            f"MATCH (a:{_q(rel.source)}) WHERE a.{KEY} >= $la "
            f"MATCH (a)-[r:{_q(rel.name)}]->(b:{_q(rel.target)}) "
            f"WHERE a.{KEY} > $la OR b.{KEY} > $lb "
            f"RETURN a.{KEY} AS s, b.{KEY} AS d, properties(r) AS p "
            f"ORDER BY a.{KEY}, b.{KEY} LIMIT $size"
        )
        last_src, last_dst = after if after is not None else ("", "")
        while True:
            rows = self._rows(query, "读取关系", la=last_src, lb=last_dst, size=batch_size)
            if not rows:
                return
            yield [
                Edge(rel.name, NodeRef(rel.source, r["s"]), NodeRef(rel.target, r["d"]), r["p"])
                for r in rows
            ]
            last_src, last_dst = rows[-1]["s"], rows[-1]["d"]


def _display(label: str, value: dict[str, Any] | None) -> Node | None:
    """A recall party as the embedded store returns it: key + non-null display fields."""
    if value is None or value.get("key") is None:
        return None
    props = {k: v for k, v in value.items() if k != "key" and v is not None}
    return Node(label, value["key"], props)


def _recall_order(row: RecallRow) -> tuple[str, ...]:
    def key(node: Node | None) -> str:
        return "" if node is None else node.key

    return (
        row.batch.key,
        row.order.key,
        key(row.buyer),
        key(row.platform),
        key(row.carrier),
        key(row.district),
    )


def _recall_query(max_depth: int) -> str:
    """Every order downstream of the roots through TRANSFORMED_INTO, with its parties.

    Mirrors the embedded store's SQL: the lots within ``max_depth`` transformations of a
    root (the root itself included; a transformation whose ``errorDeclared`` is true or 1
    does not count), the orders they are SOLD_IN (one row per root and
    order), then each party lookup as a chain of OPTIONAL MATCHes (a LEFT JOIN each), so a
    waybill without carrier still gives a row with no carrier.  The far ends need no label
    check: validate_records fixes the end labels of every relationship type.
    """
    return f"""
UNWIND $roots AS rootKey
MATCH (root:Batch {{key: rootKey}})
MATCH (root)-[ts:TRANSFORMED_INTO*0..{max_depth}]->(lot:Batch)
WHERE none(t IN ts WHERE coalesce(t.{RETRACTED} IN [true, 1], false))
WITH DISTINCT rootKey, lot
MATCH (lot)-[:SOLD_IN]->(o:Order)
WITH DISTINCT rootKey, o
OPTIONAL MATCH (o)-[:PLACED_BY]->(b)
OPTIONAL MATCH (o)-[:ON_PLATFORM]->(p)
OPTIONAL MATCH (o)-[:SHIPPED_AS]->(w)
OPTIONAL MATCH (w)-[:CARRIED_BY]->(c)
OPTIONAL MATCH (o)-[:SHIP_TO]->(n)
OPTIONAL MATCH (n)-[:LOCATED_IN]->(d)
RETURN rootKey AS root, o.key AS order, o.time AS time, o.acturalPaid AS paid,
       CASE WHEN b IS NULL THEN null ELSE {{key: b.key, nameMasked: b.nameMasked,
            idMasked: b.idMasked, phoneMasked: b.phoneMasked}} END AS buyer,
       CASE WHEN p IS NULL THEN null ELSE {{key: p.key, name: p.name}} END AS platform,
       CASE WHEN c IS NULL THEN null ELSE {{key: c.key, name: c.name}} END AS carrier,
       CASE WHEN d IS NULL THEN null ELSE {{key: d.key, name: d.name}} END AS district
"""
