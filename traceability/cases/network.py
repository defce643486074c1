"""Who is linked to whom: parties and the identifiers they share, read through the port.

The graph store holds orders, payments and waybills with their parties; the links a
network search follows are the identifiers that parties share:

- a buyer and a phone (the buyer's own, or the consignee phone of an order the buyer
  placed), a buyer and an address (the consignee address of the buyer's orders) —
  so that buyers sharing a phone or address with a suspect are two hops away;
- a payer and each platform it paid on, when one payer paid on two platforms or more
  (payments from one account across platforms);
- an enterprise and its legal representative or address, when the enterprise nodes carry
  ``legalRepHash`` / ``addressHash`` (the CEB messages do not; a site that loads a company
  register adds them).

Everything is read through the port (``iter_nodes``/``iter_edges``), so the same answer
comes from SQLite and Neo4j.  The index is cached until the store's counts change.
Identifiers shared by more than ``max_shared`` parties (a warehouse address, a platform)
are hubs: reported, but never walked through.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from traceability.store.port import GraphStore

KIND_ZH = {
    "buyer": "订购人/支付人",
    "phone": "电话",
    "address": "地址",
    "enterprise": "企业",
    "legal_rep": "法定代表人",
}
PERSONAL_KINDS = frozenset({"buyer", "phone", "address", "legal_rep"})


def link_id(kind: str, key: str) -> str:
    return f"{kind}:{key}"


@dataclass
class LinkIndex:
    graph: nx.Graph
    display: dict[str, str]
    # Case entities that are documents map to parties: order -> buyer, payment -> payer,
    # waybill -> consignee phone and address.
    documents: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def attach(self, kind: str, key: str) -> list[tuple[str, str]]:
        """Link nodes a case entity stands for, each with how (a zh-CN phrase)."""
        if kind in ("buyer", "phone", "address", "enterprise"):
            return [(link_id(kind, key), "")]
        return self.documents.get(f"{kind}:{key}", [])


def _edge(graph: nx.Graph, a: str, b: str, relation: str, via: str) -> None:
    if graph.has_edge(a, b):
        graph[a][b]["count"] += 1
        return
    graph.add_edge(a, b, relation=relation, via=via, count=1)


def build_index(store: GraphStore) -> LinkIndex:
    graph: nx.Graph = nx.Graph()
    display: dict[str, str] = {}
    documents: dict[str, list[tuple[str, str]]] = defaultdict(list)
    consignees: dict[str, dict[str, Any]] = {}
    for chunk in store.iter_nodes("Buyer"):
        for node in chunk:
            buyer = link_id("buyer", node.key)
            props = node.props
            display[buyer] = (
                " ".join(str(v) for v in (props.get("nameMasked"), props.get("idMasked")) if v)
                or "订购人"
            )
            graph.add_node(buyer)
            phone = props.get("phoneHash")
            if phone:
                pid = link_id("phone", str(phone))
                display.setdefault(pid, str(props.get("phoneMasked") or "电话"))
                _edge(graph, buyer, pid, "本人电话", "")
    for chunk in store.iter_nodes("Consignee"):
        for node in chunk:
            consignees[node.key] = dict(node.props)
    for chunk in store.iter_nodes("Enterprise"):
        for node in chunk:
            ent = link_id("enterprise", node.key)
            display[ent] = str(node.props.get("name") or node.key)
            for prop, kind, relation in (
                ("legalRepHash", "legal_rep", "法定代表人"),
                ("addressHash", "address", "注册地址"),
            ):
                value = node.props.get(prop)
                if value:
                    target = link_id(kind, str(value))
                    display.setdefault(target, KIND_ZH[kind])
                    _edge(graph, ent, target, relation, "")
    ship_to: dict[str, str] = {}
    for links in store.iter_edges("SHIP_TO"):
        for edge in links:
            ship_to[edge.src.key] = edge.dst.key
    for links in store.iter_edges("DELIVERED_TO"):
        for edge in links:
            props = consignees.get(edge.dst.key, {})
            for prop, kind in (("phoneHash", "phone"), ("addressHash", "address")):
                if props.get(prop):
                    documents[f"waybill:{edge.src.key}"].append(
                        (link_id(kind, str(props[prop])), "运单收货" + KIND_ZH[kind])
                    )
    for links in store.iter_edges("PLACED_BY"):
        for edge in links:
            order, buyer = edge.src.key, link_id("buyer", edge.dst.key)
            documents[f"order:{order}"].append((buyer, "订单的订购人"))
            props = consignees.get(ship_to.get(order, ""), {})
            for prop, masked, kind, relation in (
                ("phoneHash", "phoneMasked", "phone", "收货电话"),
                ("addressHash", "addressMasked", "address", "收货地址"),
            ):
                value = props.get(prop)
                if value:
                    target = link_id(kind, str(value))
                    display.setdefault(target, str(props.get(masked) or KIND_ZH[kind]))
                    _edge(graph, buyer, target, relation, f"订单 {order}")
    platforms: dict[str, dict[str, str]] = defaultdict(dict)
    for links in store.iter_edges("PAID_BY"):
        for edge in links:
            payer = link_id("buyer", edge.dst.key)
            documents[f"payment:{edge.src.key}"].append((payer, "支付单的支付人"))
            platform = edge.src.key  # payCode:payTransactionId; the platform is on the order
            platforms[payer].setdefault(platform, "")
    # The platform of each payment: the order it pays (PAID_WITH order -> payment).
    order_platform: dict[str, str] = {}
    for links in store.iter_edges("ON_PLATFORM"):
        for edge in links:
            order_platform[edge.src.key] = edge.dst.key
    payment_order: dict[str, str] = {}
    for links in store.iter_edges("PAID_WITH"):
        for edge in links:
            payment_order[edge.dst.key] = edge.src.key
    for payer, payments in platforms.items():
        used: dict[str, str] = {}
        for payment in payments:
            ebp = order_platform.get(payment_order.get(payment, ""))
            if ebp:
                used.setdefault(ebp, payment)
        if len(used) >= 2:  # one payer on several platforms
            for ebp, payment in used.items():
                ent = link_id("enterprise", ebp)
                display.setdefault(ent, ebp)
                _edge(graph, payer, ent, "在该平台支付", f"支付单 {payment}")
    return LinkIndex(graph, display, dict(documents))


class NetworkIndex:
    """The link index of a store, rebuilt when the store's counts change."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, int], ...] | None = None
        self._index: LinkIndex | None = None

    def get(self) -> LinkIndex:
        stamp = tuple(sorted(self.store.counts().items()))
        with self._lock:
            if self._index is None or stamp != self._stamp:
                self._index = build_index(self.store)
                self._stamp = stamp
            return self._index


def reach(
    index: LinkIndex, root: str, hops: int, max_shared: int
) -> tuple[dict[str, list[str]], list[str]]:
    """Breadth-first from ``root`` up to ``hops``; hubs end paths (met, never walked through).

    Returns each reached node's predecessors on its shortest paths (the root has none), and
    the hubs met.  :func:`shortest_paths` lists the paths.
    """
    graph = index.graph
    parents: dict[str, list[str]] = {root: []}
    if root not in graph:
        return parents, []
    depth = {root: 0}
    frontier = [root]
    hubs: list[str] = []
    for level in range(1, hops + 1):
        following: list[str] = []
        for node in frontier:
            if node != root and graph.degree(node) > max_shared:
                if node not in hubs:
                    hubs.append(node)
                continue
            for neighbour in sorted(graph.neighbors(node)):
                if neighbour not in depth:
                    depth[neighbour] = level
                    parents[neighbour] = [node]
                    following.append(neighbour)
                elif depth[neighbour] == level:
                    parents[neighbour].append(node)
        frontier = following
    return parents, hubs


def shortest_paths(parents: dict[str, list[str]], node: str, limit: int = 5) -> list[list[str]]:
    """Up to ``limit`` shortest paths from the root to ``node`` (root first)."""
    if node not in parents:
        return []
    if not parents[node]:
        return [[node]]
    found: list[list[str]] = []
    for parent in parents[node]:
        for path in shortest_paths(parents, parent, limit):
            found.append([*path, node])
            if len(found) >= limit:
                return found
    return found
