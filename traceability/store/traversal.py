"""Traversal rules shared by every adapter, derived from graph_schema.

A trace is a breadth-first walk from a root node:

* A node at hop distance ``d < max_depth`` is *expanded* unless it is a party node
  (enterprise, person, district, customs office) that is not the root.
* Expanding a node follows, in the trace direction, its chain edges; in both directions,
  its document edges; and outgoing, its party edges.  Every neighbour found is at ``d + 1``.
* ``both`` is the union of a backward and a forward trace (walking both ways from every
  node would wander from an order to every other buyer of the same lot).
* When a level would take the node count past ``max_nodes``, that level is cut in
  (label, key) order, the result is marked truncated, and the walk stops.
* The edges returned are those followed from expanded nodes to nodes in the result.
* An edge whose ``errorDeclared`` property is true is never followed: the EPCIS event that
  asserted it was later declared in error (recall follows the same rule).
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from graph_schema import SCHEMA, Flow
from traceability.store.port import Direction, Edge, Node, Props, Subgraph

# Set on edges asserted by an EPCIS event that a later errorDeclaration withdrew.
RETRACTED = "errorDeclared"


@dataclass(frozen=True, slots=True)
class ExpandRules:
    """Relationship types to follow outgoing and incoming when expanding a node."""

    outgoing: tuple[str, ...]
    incoming: tuple[str, ...]


def expand_rules(direction: Direction | str) -> ExpandRules:
    direction = Direction(direction)
    chain = SCHEMA.types_with_flow(Flow.CHAIN)
    document = SCHEMA.types_with_flow(Flow.DOCUMENT)
    party = SCHEMA.types_with_flow(Flow.PARTY)
    if direction is Direction.BACKWARD:
        return ExpandRules(outgoing=document + party, incoming=chain + document)
    if direction is Direction.FORWARD:
        return ExpandRules(outgoing=chain + document + party, incoming=document)
    raise ValueError("a single walk goes back or forward; 'both' is the union of two walks")


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off for one write batch, back as it was afterwards.

    A batch allocates hundreds of thousands of short-lived, acyclic tuples and dicts (freed
    by reference counting) that would otherwise trigger full collections over every object
    the process holds.  Always scoped: ``finally`` restores the previous state.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def is_expandable(label: str, is_root: bool) -> bool:
    return is_root or not SCHEMA.label(label).party


Id = TypeVar("Id", bound=Hashable)


class WalkBackend(Protocol, Generic[Id]):
    """What an adapter supplies to :func:`walk`: two batched, in-database lookups."""

    def expand(self, frontier: list[Id], rules: ExpandRules) -> list[tuple[Id, str, Id, Props]]:
        """Edges of the rule types leaving (outgoing) or entering (incoming) the frontier."""
        ...

    def fetch(self, ids: Collection[Id]) -> dict[Id, Node]:
        """The nodes with these engine ids."""
        ...


def walk(
    backend: WalkBackend[Id],
    root_id: Id,
    root: Node,
    direction: Direction,
    max_depth: int,
    max_nodes: int,
) -> Subgraph:
    """Breadth-first walk by the rules in this module's docstring, one query pair per level."""
    rules = expand_rules(direction)
    nodes: dict[Id, Node] = {root_id: root}
    depth: dict[Id, int] = {root_id: 0}
    edges: dict[tuple[Id, str, Id], Props] = {}
    frontier: list[Id] = [root_id]
    level = 0
    truncated = False
    while frontier and level < max_depth and not truncated:
        expandable = [i for i in frontier if is_expandable(nodes[i].label, i == root_id)]
        if not expandable:
            break
        found = backend.expand(expandable, rules)
        new_ids = {end for src, _, dst, _ in found for end in (src, dst) if end not in depth}
        new_nodes = backend.fetch(new_ids)
        if len(depth) + len(new_nodes) > max_nodes:
            keep = sorted(new_nodes.items(), key=lambda item: item[1].ref)
            new_nodes = dict(keep[: max(0, max_nodes - len(depth))])
            truncated = True
        level += 1
        for node_id, node in new_nodes.items():
            nodes[node_id] = node
            depth[node_id] = level
        for src, rel_type, dst, props in found:
            if src in nodes and dst in nodes:
                edges[(src, rel_type, dst)] = props
        frontier = sorted(new_nodes, key=lambda i: nodes[i].ref)
    return Subgraph(
        root=root.ref,
        nodes={n.ref: n for n in nodes.values()},
        depth={nodes[i].ref: d for i, d in depth.items()},
        edges=sorted(
            (Edge(t, nodes[s].ref, nodes[d].ref, p) for (s, t, d), p in edges.items()),
            key=lambda e: (e.src, e.type, e.dst),
        ),
        truncated=truncated,
    )
