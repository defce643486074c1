"""The graph store port: the narrow interface every graph engine adapter implements.

The port speaks in business keys (label + key string), never in engine ids.  Writes are
batched upserts with MERGE semantics: a node is identified by its label and business key,
and its properties are merged (``SET n += props``); an edge is identified by its type and
its two end nodes.  Loading the same records twice leaves the same graph.

Traversal semantics are fixed here, so that every adapter returns the same subgraph
(see :func:`traceability.store.traversal.expand_rules`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, runtime_checkable

from graph_schema import SCHEMA
from traceability.errors import QtraceError

PropValue = str | int | float | bool | None | list[str] | list[int] | list[float]
Props = Mapping[str, PropValue]


class Direction(StrEnum):
    BACKWARD = "back"
    FORWARD = "forward"
    BOTH = "both"


class NodeRef(NamedTuple):
    """A node by business key.  Tuples, not dataclasses: loads hash millions of them."""

    label: str
    key: str

    def __str__(self) -> str:
        return f"{self.label}({self.key})"


class Node(NamedTuple):
    label: str
    key: str
    props: Props = {}  # noqa: RUF012 - never mutated; a shared empty mapping

    @property
    def ref(self) -> NodeRef:
        return NodeRef(self.label, self.key)


class Edge(NamedTuple):
    type: str
    src: NodeRef
    dst: NodeRef
    props: Props = {}  # noqa: RUF012 - never mutated; a shared empty mapping

    @property
    def ident(self) -> tuple[NodeRef, str, NodeRef]:
        return (self.src, self.type, self.dst)


@dataclass(slots=True)
class Subgraph:
    """What a traversal returns: nodes with their hop distance, and the edges among them."""

    root: NodeRef
    nodes: dict[NodeRef, Node]
    depth: dict[NodeRef, int]
    edges: list[Edge]
    truncated: bool = False


class RecallRow(NamedTuple):
    """One affected order of a recall, with the parties a recall notice must reach.

    The party nodes carry display fields only (masked names, names), never hashes.
    """

    batch: NodeRef
    order: NodeRef
    order_props: Props
    buyer: Node | None
    platform: Node | None
    carrier: Node | None
    district: Node | None


class StoreError(QtraceError, RuntimeError):
    """The store could not complete an operation; nothing was written."""


@runtime_checkable
class GraphStore(Protocol):
    """The graph store port."""

    def ensure_schema(self) -> object:
        """Create tables/constraints/indexes derived from graph_schema (idempotent).

        An adapter may return a report of what it created (Neo4j does, for ``migrate``).
        """

    def upsert(self, nodes: Sequence[Node], edges: Sequence[Edge]) -> None:
        """Write one batch atomically: all of it or none of it."""

    def get_nodes(self, refs: Iterable[NodeRef]) -> dict[NodeRef, Node]:
        """Look nodes up by business key; missing ones are absent from the result."""

    def subgraph(
        self, root: NodeRef, direction: Direction, max_depth: int, max_nodes: int
    ) -> Subgraph:
        """Traverse from ``root`` following the rules of graph_schema (see traversal.py)."""

    def subgraphs(
        self, root: NodeRef, directions: Sequence[Direction], max_depth: int, max_nodes: int
    ) -> list[Subgraph]:
        """One subgraph per direction; a networked store answers them in one round trip."""

    def recall_rows(self, batches: Sequence[NodeRef], max_depth: int) -> list[RecallRow]:
        """Every order downstream of the batches (through transformations), with parties."""

    def counts(self) -> dict[str, int]:
        """Node count per label and edge count per relationship type."""

    def iter_nodes(self, label: str, batch_size: int = 5000) -> Iterator[list[Node]]:
        """Stream all nodes of a label in a stable order (used to copy between stores)."""

    def iter_edges(self, rel_type: str, batch_size: int = 5000) -> Iterator[list[Edge]]:
        """Stream all edges of a type in a stable order."""

    def close(self) -> None: ...


_LABELS = frozenset(SCHEMA.labels)
_REL_ENDS = {rel.name: (rel.source, rel.target) for rel in SCHEMA.relationships.values()}


def validate_records(nodes: Sequence[Node], edges: Sequence[Edge]) -> None:
    """Refuse labels, relationship types and edge ends that graph_schema does not declare.

    Runs before any write, so a bad batch changes nothing.  Written as flat loops over
    precomputed sets because it runs on every record of every load.
    """
    for node in nodes:
        if node.label not in _LABELS:
            SCHEMA.label(node.label)  # raises UndeclaredError
        if not node.key:
            raise ValueError(f"{node.label} 节点缺少业务键")
    for edge in edges:
        ends = _REL_ENDS.get(edge.type)
        if ends is None:
            SCHEMA.rel(edge.type)  # raises UndeclaredError
            continue
        if edge.src.label != ends[0] or edge.dst.label != ends[1]:
            raise ValueError(
                f"{edge.type} must go {ends[0]} -> {ends[1]}, "
                f"got {edge.src.label} -> {edge.dst.label}"
            )
        if not edge.src.key or not edge.dst.key:
            raise ValueError(f"{edge.type} 关系的端点缺少业务键")


def clean_props(props: Mapping[str, Any]) -> dict[str, PropValue]:
    """Drop ``None`` values so that a later partial record never erases known facts."""
    return {k: v for k, v in props.items() if v is not None}
