"""Trace (溯源/去向), responsibility chain (责任可究) and recall scope, over any graph store.

Results are plain JSON-ready dicts with the shape the CLI's ``--json`` and the API share:
``nodes`` (label, key, props), ``edges`` (type, from, to), ``responsibility`` (ordered
hops) and ``summary``.  Every list is in a deterministic order.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from graph_schema import SCHEMA, STAGE_ORDER
from traceability.analysis.keys import InvalidKey, parse_key
from traceability.errors import NotFound
from traceability.store.port import Direction, GraphStore, Node, NodeRef, Subgraph

# Pseudonymous linkage values stay inside the store; they mean nothing to a reader.
_HIDDEN_SUFFIX = "Hash"


_RECALL_PARTIES = ("buyers", "districts", "platforms", "carriers")


@dataclass(frozen=True, slots=True)
class TraceLimits:
    max_depth: int = 12
    max_nodes: int = 5000


def node_id(ref: NodeRef) -> str:
    return f"{ref.label}:{ref.key}"


def public_props(props: dict[str, Any] | Any) -> dict[str, Any]:
    """Props as shown to users: hashes hidden, JSON line items decoded."""
    shown: dict[str, Any] = {}
    for name, value in props.items():
        if name.endswith(_HIDDEN_SUFFIX):
            continue
        if name == "linesJson" and isinstance(value, str):
            shown["lines"] = json.loads(value)
            continue
        shown[name] = value
    return shown


def _node_json(node: Node, depth: int) -> dict[str, Any]:
    label = SCHEMA.label(node.label)
    return {
        "id": node_id(node.ref),
        "label": node.label,
        "labelZh": label.zh,
        "key": node.key,
        "depth": depth,
        "props": public_props(node.props),
    }


def _merge(subgraphs: Sequence[Subgraph]) -> tuple[dict[NodeRef, Node], dict[NodeRef, int], list]:
    nodes: dict[NodeRef, Node] = {}
    depth: dict[NodeRef, int] = {}
    edges: dict[tuple[NodeRef, str, NodeRef], Any] = {}
    for sub in subgraphs:
        nodes.update(sub.nodes)
        for ref, d in sub.depth.items():
            depth[ref] = min(d, depth.get(ref, d))
        for edge in sub.edges:
            edges[edge.ident] = edge
    return nodes, depth, [edges[k] for k in sorted(edges)]


def layers(nodes: Iterable[NodeRef], edges: Iterable[Any]) -> dict[NodeRef, int]:
    """Column of each node, upstream left: longest-path layering of the edge DAG."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((e.src, e.dst) for e in edges)
    try:
        generations = list(nx.topological_generations(graph))
    except nx.NetworkXUnfeasible:  # a cycle: fall back to one column per weakly connected rank
        generations = [sorted(graph.nodes)]
    return {ref: column for column, refs in enumerate(generations) for ref in refs}


def responsibility(nodes: dict[NodeRef, Node], edges: Iterable[Any]) -> list[dict[str, Any]]:
    """One hop per (role, enterprise, record): who is accountable, in chain order."""
    hops: list[dict[str, Any]] = []
    for edge in edges:
        role = SCHEMA.rel(edge.type).role
        if role is None:
            continue
        party_ref, via_ref = (
            (edge.dst, edge.src) if SCHEMA.label(edge.dst.label).party else (edge.src, edge.dst)
        )
        party = nodes[party_ref]
        via = nodes[via_ref]
        time_prop = SCHEMA.label(via.label).time_prop
        hops.append(
            {
                "stage": role.stage.value,
                "role": role.code,
                "roleZh": role.zh,
                "roleEn": role.en,
                "enterprise": {
                    "id": node_id(party_ref),
                    "label": party.label,
                    "key": party.key,
                    "name": party.props.get("name"),
                    "uscc": party.props.get("uscc"),
                    "customsCode": party.props.get("customsCode"),
                    "gln": party.props.get("gln"),
                },
                "time": via.props.get(time_prop) if time_prop else None,
                "via": {"id": node_id(via_ref), "label": via.label, "key": via.key},
            }
        )
    hops.sort(
        key=lambda h: (
            STAGE_ORDER[next(r.stage for r in SCHEMA.roles.values() if r.code == h["role"])],
            h["time"] or "",
            h["role"],
            h["enterprise"]["key"],
            h["via"]["id"],
        )
    )
    return hops


class TraceService:
    def __init__(self, store: GraphStore, limits: TraceLimits | None = None) -> None:
        self.store = store
        self.limits = limits or TraceLimits()

    def _walk(self, ref: NodeRef, direction: Direction) -> list[Subgraph]:
        walks = (
            [Direction.BACKWARD, Direction.FORWARD] if direction is Direction.BOTH else [direction]
        )
        depth, cap = self.limits.max_depth, self.limits.max_nodes
        try:
            return list(self.store.subgraphs(ref, walks, depth, cap))
        except KeyError:
            raise NotFound(f"未找到 {SCHEMA.label(ref.label).zh} {ref.key}") from None

    def trace(self, kind: str, key: str, direction: str = "both") -> dict[str, Any]:
        try:
            walk_direction = Direction(direction)
        except ValueError:
            raise InvalidKey(f"方向应为 back、forward 或 both，收到 {direction!r}") from None
        parsed = parse_key(kind, key)
        subgraphs = self._walk(parsed.ref, walk_direction)
        nodes, depth, edges = _merge(subgraphs)
        column = layers(nodes, edges)
        node_list = sorted(nodes.values(), key=lambda n: (depth[n.ref], n.label, n.key))
        by_label = Counter(n.label for n in node_list)
        return {
            "root": {"id": node_id(parsed.ref), "kind": parsed.kind, "key": parsed.ref.key},
            "direction": walk_direction.value,
            "nodes": [_node_json(n, depth[n.ref]) | {"column": column[n.ref]} for n in node_list],
            "edges": [
                {
                    "type": e.type,
                    "typeZh": SCHEMA.rel(e.type).zh,
                    "from": node_id(e.src),
                    "to": node_id(e.dst),
                    "props": dict(e.props),
                }
                for e in edges
            ],
            "responsibility": responsibility(nodes, edges),
            "summary": {
                "nodeCount": len(node_list),
                "edgeCount": len(edges),
                "byLabel": dict(sorted(by_label.items())),
                "truncated": any(s.truncated for s in subgraphs),
                "maxDepth": self.limits.max_depth,
                "maxNodes": self.limits.max_nodes,
            },
        }

    def recall(self, batch_keys: Sequence[str]) -> dict[str, Any]:
        if not batch_keys:
            raise InvalidKey("至少需要一个批次键 GTIN:LOT")
        refs = list(dict.fromkeys(parse_key("batch", k).ref for k in batch_keys))
        found = self.store.get_nodes(refs)
        missing = [r.key for r in refs if r not in found]
        if missing:
            raise NotFound(f"未找到批次 {', '.join(missing)}")
        rows = self.store.recall_rows(refs, self.limits.max_depth)
        # One pass, plain dicts: this loop runs once per affected order (thousands), and
        # was most of a recall's time.  Party details are the store's display fields,
        # copied once per distinct party (the store never shares them with an order).
        orders: dict[str, dict[str, Any]] = {}
        per_batch: dict[str, int] = {}
        tallies: dict[str, dict[str, int]] = {name: {} for name in _RECALL_PARTIES}
        details: dict[str, dict[str, Any]] = {name: {} for name in _RECALL_PARTIES}
        buyer_n, district_n, platform_n, carrier_n = (tallies[n] for n in _RECALL_PARTIES)
        buyer_d, district_d, platform_d, carrier_d = (details[n] for n in _RECALL_PARTIES)
        for row in rows:
            batch_key = row.batch.key
            per_batch[batch_key] = per_batch.get(batch_key, 0) + 1  # distinct (batch, order)
            order_key = row.order.key
            entry = orders.get(order_key)
            if entry is not None:
                entry["batches"].append(batch_key)
                continue
            buyer, platform, carrier, district = row.buyer, row.platform, row.carrier, row.district
            entry = {"key": order_key}
            for name, value in row.order_props.items():
                if value is not None:
                    entry[name] = value
            entry["batches"] = [batch_key]
            entry["buyer"] = dict(buyer.props) if buyer else None
            entry["platform"] = platform.props.get("name") if platform else None
            entry["carrier"] = carrier.props.get("name") if carrier else None
            entry["district"] = {"code": district.key, **district.props} if district else None
            orders[order_key] = entry
            # Each order counts once per party, however many recalled lots it carries.
            for party, counts, shown in (
                (buyer, buyer_n, buyer_d),
                (district, district_n, district_d),
                (platform, platform_n, platform_d),
                (carrier, carrier_n, carrier_d),
            ):
                if party is not None:
                    key = party.key
                    count = counts.get(key)
                    if count is None:
                        counts[key] = 1
                        shown[key] = party.props
                    else:
                        counts[key] = count + 1

        def finish(name: str) -> list[dict[str, Any]]:
            shown = details[name]
            items = [
                {"key": key, **shown[key], "orders": count} for key, count in tallies[name].items()
            ]
            return sorted(items, key=lambda v: (-v["orders"], v["key"]))

        return {
            "batches": [
                {
                    "key": r.key,
                    "product": found[r].props.get("gtin"),
                    "orders": per_batch.get(r.key, 0),
                }
                for r in refs
            ],
            "orders": [orders[k] for k in sorted(orders)],
            "buyers": finish("buyers"),
            "districts": finish("districts"),
            "platforms": finish("platforms"),
            "carriers": finish("carriers"),
            "summary": {
                "orders": len(orders),
                "buyers": len(tallies["buyers"]),
                "districts": len(tallies["districts"]),
                "platforms": len(tallies["platforms"]),
                "carriers": len(tallies["carriers"]),
            },
        }
