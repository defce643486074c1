"""Graph risk propagation: a risk spreads along the chain with a decay per hop.

The subgraph around a risk's entities is pulled through the store port (so it works on the
embedded store and on Neo4j), bounded by depth and node count; networkx then finds each
reached node's shortest path from a root.  A node's propagated score is the risk's base
score (serious 1.0, high 0.75, medium 0.5, low 0.25) × decay^hops, and its explanation is
that path, edge by edge.  The cap and whether it was reached are part of the result.
"""

from __future__ import annotations

import itertools
from typing import Any

import networkx as nx

from alerts.config import LEVEL_RANK
from graph_schema import SCHEMA
from traceability.store.port import Direction, GraphStore, NodeRef

#: Labels a propagation starts from, best first; party nodes (enterprises …) are never roots.
ROOT_LABELS = ("Batch", "Product", "Order", "Inventory", "Waybill", "Payment")
MAX_ROOTS = 3
MAX_LISTED = 200


def _ref(entity: str) -> NodeRef | None:
    label, _, key = entity.partition(":")
    if label not in SCHEMA.labels or not key:
        return None
    return NodeRef(label, key)


def propagate(
    store: GraphStore, entities: list[str], level: str, *, depth: int, max_nodes: int, decay: float
) -> dict[str, Any]:
    refs = [r for e in entities if (r := _ref(e)) is not None]
    roots = sorted(
        (r for r in refs if r.label in ROOT_LABELS), key=lambda r: ROOT_LABELS.index(r.label)
    )[:MAX_ROOTS]
    base = LEVEL_RANK[level] / 4
    # Both directions of every edge, except into a party node (an enterprise, a buyer …):
    # paths may end at a party but never pass through one, as a trace never expands it.
    graph = nx.DiGraph()
    truncated = False
    missing: list[str] = []
    for root in roots:
        directions = (
            [Direction.FORWARD]
            if root.label in ("Batch", "Product")
            else [Direction.BACKWARD, Direction.FORWARD]
        )
        try:
            subs = store.subgraphs(root, directions, depth, max_nodes)
        except LookupError:  # not in the graph (yet): nothing to propagate over
            missing.append(f"{root.label}:{root.key}")
            continue
        for sub in subs:
            truncated = truncated or sub.truncated
            for ref in sub.nodes:
                graph.add_node(ref)
            for edge in sub.edges:
                graph.add_edge(edge.src, edge.dst, type=edge.type, src=edge.src)
                if not SCHEMA.labels[edge.dst.label].party:
                    graph.add_edge(edge.dst, edge.src, type=edge.type, src=edge.src)
    best: dict[NodeRef, tuple[int, list[NodeRef]]] = {}
    for root in roots:
        if root not in graph:
            continue
        for node, path in nx.single_source_shortest_path(graph, root, cutoff=depth).items():
            hops = len(path) - 1
            if node not in best or hops < best[node][0]:
                best[node] = (hops, path)
    affected: list[dict[str, Any]] = []
    for node, (hops, path) in best.items():
        steps = []
        for a, b in itertools.pairwise(path):
            data = graph.edges[a, b]
            arrow = "→" if data["src"] == a else "←"
            steps.append(f"{a} -[{data['type']}]{arrow} {b}")
        affected.append(
            {
                "node": f"{node.label}:{node.key}",
                "label": node.label,
                "hops": hops,
                "score": round(base * decay**hops, 4),
                "path": steps,
            }
        )
    affected.sort(key=lambda a: (-a["score"], a["node"]))
    return {
        "roots": [f"{r.label}:{r.key}" for r in roots],
        "missing_roots": missing,
        "depth": depth,
        "decay": decay,
        "cap": max_nodes,
        "nodes": graph.number_of_nodes(),
        "truncated": truncated,
        "affected_total": len(affected),
        "affected": affected[:MAX_LISTED],
    }
