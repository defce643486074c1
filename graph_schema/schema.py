"""The chain graph's labels, relationship types, business keys, constraints and indexes.

This module is the single source of truth: the embedded SQLite adapter and the Neo4j
adapter both derive their tables, constraints, indexes and traversal rules from it, and
the store port refuses any label or relationship type that is not declared here.

Direction convention: every relationship is stored ``source -> target``.  Its ``flow``
says what that direction means to a trace:

* ``CHAIN``     source is *upstream* of target (goods or value flow from source to target).
                A backward trace (溯源) follows chain edges against their direction, a
                forward trace (去向) follows them along it.
* ``DOCUMENT``  source and target are documents of the same cross-border transaction
                (the order, its payment, waybill, inventory and customs outcome).  A trace
                that reaches one document of a transaction takes in all of them, in both
                directions.
* ``PARTY``     target is an actor or place that source involves (an enterprise in a role,
                a customs office, a district, a person).  Party nodes are shown but never
                expanded: a platform is attached to millions of orders, and walking through
                it would turn every trace into the whole graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Flow(StrEnum):
    CHAIN = "chain"
    DOCUMENT = "document"
    PARTY = "party"


class Stage(StrEnum):
    """Where in the chain a responsible party acts; orders the responsibility chain."""

    PRODUCTION = "production"
    TRADE = "trade"
    PAYMENT = "payment"
    CUSTOMS = "customs"
    LOGISTICS = "logistics"


STAGE_ORDER: dict[Stage, int] = {stage: i for i, stage in enumerate(Stage)}


@dataclass(frozen=True, slots=True)
class Role:
    """A role an enterprise (or customs office) plays in a transaction."""

    code: str
    zh: str
    en: str
    stage: Stage


@dataclass(frozen=True, slots=True)
class Label:
    name: str
    zh: str
    key_fields: tuple[str, ...]
    description: str
    # Properties looked up by value (ring detection, search by code).  Both adapters index them.
    indexed: tuple[str, ...] = ()
    # The property holding the node's event time (ISO 8601), used by the responsibility chain.
    time_prop: str | None = None
    # Party labels are attached to chains but never expanded by a trace.
    party: bool = False

    def key_of(self, values: dict[str, object]) -> str:
        """Join business-key field values with ``:`` (the CLI and URL form of a key)."""
        return ":".join(str(values[f]) for f in self.key_fields)

    def split_key(self, key: str) -> dict[str, str]:
        """Inverse of :meth:`key_of`; only the last field may itself contain ``:``."""
        parts = key.split(":", len(self.key_fields) - 1)
        if len(parts) != len(self.key_fields) or any(p == "" for p in parts):
            fields = ":".join(f.upper() for f in self.key_fields)
            raise ValueError(f"{self.name} 的业务键应为 {fields}，收到 {key!r}")
        return dict(zip(self.key_fields, parts, strict=True))


@dataclass(frozen=True, slots=True)
class RelType:
    name: str
    zh: str
    source: str
    target: str
    flow: Flow
    description: str
    role: Role | None = None


@dataclass(frozen=True)
class GraphSchema:
    version: int
    labels: dict[str, Label]
    relationships: dict[str, RelType]
    roles: dict[str, Role] = field(default_factory=dict)

    def label(self, name: str) -> Label:
        try:
            return self.labels[name]
        except KeyError:
            raise UndeclaredError(f"label {name!r} is not declared in graph_schema") from None

    def rel(self, name: str) -> RelType:
        try:
            return self.relationships[name]
        except KeyError:
            raise UndeclaredError(
                f"relationship type {name!r} is not declared in graph_schema"
            ) from None

    def types_with_flow(self, flow: Flow) -> tuple[str, ...]:
        return tuple(sorted(r.name for r in self.relationships.values() if r.flow is flow))


class UndeclaredError(ValueError):
    """Code used a label or relationship type that graph_schema does not declare."""


def _roles() -> dict[str, Role]:
    roles = [
        Role("manufacturer", "生产企业", "manufacturer", Stage.PRODUCTION),
        Role("ebp", "电商平台", "e-commerce platform", Stage.TRADE),
        Role("ebc", "电商企业", "seller", Stage.TRADE),
        Role("pay", "支付企业", "payment company", Stage.PAYMENT),
        Role("agent", "申报企业", "customs declarant", Stage.CUSTOMS),
        Role("assure", "担保企业", "guarantor", Stage.CUSTOMS),
        Role("warehouse", "区内企业/保税仓库", "bonded warehouse", Stage.CUSTOMS),
        Role("customs", "申报海关", "customs office", Stage.CUSTOMS),
        Role("logistics", "物流企业", "logistics company", Stage.LOGISTICS),
    ]
    return {r.code: r for r in roles}


ROLES = _roles()

_LABELS = [
    Label(
        "Enterprise",
        "企业",
        ("code",),
        "An enterprise in any role, keyed by its 18-character unified social credit code "
        "(统一社会信用代码), its 10-character customs registration code, or a GS1 GLN for "
        "overseas manufacturers.",
        indexed=("uscc",),
        party=True,
    ),
    Label(
        "Product",
        "商品",
        ("gtin",),
        "A trade item (SKU) identified by its GTIN, with HS code and origin country.",
    ),
    Label(
        "Batch",
        "批次",
        ("gtin", "lot"),
        "A production lot (GS1 LGTIN = GTIN + lot number).",
        time_prop="time",
    ),
    Label(
        "Order",
        "订单",
        ("ebpCode", "orderNo"),
        "A CEB311/CEB303 e-commerce order with its lines.",
        time_prop="time",
    ),
    Label(
        "Payment",
        "支付单",
        ("payCode", "payTransactionId"),
        "A CEB411 payment record.",
        time_prop="time",
    ),
    Label(
        "Waybill",
        "运单",
        ("logisticsCode", "logisticsNo"),
        "A CEB511/CEB505 logistics waybill.",
        time_prop="time",
    ),
    Label(
        "Inventory",
        "申报清单",
        ("copNo",),
        "A CEB621/CEB603 customs declaration list (申报清单); preNo and invtNo join later.",
        indexed=("invtNo",),
        time_prop="time",
    ),
    Label(
        "Clearance",
        "通关结果",
        ("copNo",),
        "The customs outcome of an inventory (release, inspection, detention), from receipts.",
        time_prop="time",
    ),
    Label(
        "Buyer",
        "订购人/支付人",
        ("idHash",),
        "A natural person who orders or pays, keyed by a keyed hash of the resident ID "
        "number.  Only masked forms and hashes are stored in the graph.",
        indexed=("phoneHash",),
        party=True,
    ),
    Label(
        "Consignee",
        "收货人",
        ("consigneeHash",),
        "The receiver of a parcel, keyed by a keyed hash of name, phone and address.",
        indexed=("phoneHash", "addressHash"),
    ),
    Label(
        "District",
        "行政区划",
        ("code",),
        "A county-level administrative division (GB/T 2260 code).",
        party=True,
    ),
    Label(
        "Port",
        "海关/口岸",
        ("code",),
        "A customs office (关区代码).",
        party=True,
    ),
]

_R = ROLES
_RELS = [
    RelType(
        "PRODUCED",
        "生产",
        "Enterprise",
        "Batch",
        Flow.CHAIN,
        "The manufacturer commissioned this lot.",
        _R["manufacturer"],
    ),
    RelType("HAS_BATCH", "批次", "Product", "Batch", Flow.CHAIN, "The lot is of this product."),
    RelType(
        "TRANSFORMED_INTO",
        "加工转化",
        "Batch",
        "Batch",
        Flow.CHAIN,
        "An ingredient lot became (part of) an output lot (EPCIS TransformationEvent).",
    ),
    RelType("SOLD_IN", "售出", "Batch", "Order", Flow.CHAIN, "An order line carries this lot."),
    RelType(
        "SHIP_TO",
        "收货",
        "Order",
        "Consignee",
        Flow.CHAIN,
        "The order asks for delivery to this consignee (CEB311 consignee fields).",
    ),
    RelType(
        "DELIVERED_TO",
        "派送",
        "Waybill",
        "Consignee",
        Flow.CHAIN,
        "The parcel is delivered to this consignee.",
    ),
    RelType("PAID_WITH", "支付", "Order", "Payment", Flow.DOCUMENT, "The order's payment."),
    RelType("SHIPPED_AS", "运输", "Order", "Waybill", Flow.DOCUMENT, "The order's waybill."),
    RelType(
        "DECLARED_IN",
        "申报",
        "Order",
        "Inventory",
        Flow.DOCUMENT,
        "The order is declared to customs in this inventory.",
    ),
    RelType(
        "INVENTORY_WAYBILL",
        "清单运单",
        "Inventory",
        "Waybill",
        Flow.DOCUMENT,
        "The inventory names this waybill (logisticsCode + logisticsNo).",
    ),
    RelType(
        "CLEARED_AS",
        "通关",
        "Inventory",
        "Clearance",
        Flow.DOCUMENT,
        "The customs outcome of the inventory.",
    ),
    RelType("ON_PLATFORM", "电商平台", "Order", "Enterprise", Flow.PARTY, "", _R["ebp"]),
    RelType("SOLD_BY", "电商企业", "Order", "Enterprise", Flow.PARTY, "", _R["ebc"]),
    RelType("PLACED_BY", "订购人", "Order", "Buyer", Flow.PARTY, "The person who ordered."),
    RelType("PAID_BY", "支付人", "Payment", "Buyer", Flow.PARTY, "The person who paid."),
    RelType("PROCESSED_BY", "支付企业", "Payment", "Enterprise", Flow.PARTY, "", _R["pay"]),
    RelType("CARRIED_BY", "物流企业", "Waybill", "Enterprise", Flow.PARTY, "", _R["logistics"]),
    RelType("DECLARED_BY", "申报企业", "Inventory", "Enterprise", Flow.PARTY, "", _R["agent"]),
    RelType("GUARANTEED_BY", "担保企业", "Inventory", "Enterprise", Flow.PARTY, "", _R["assure"]),
    RelType("STORED_AT", "区内企业", "Inventory", "Enterprise", Flow.PARTY, "", _R["warehouse"]),
    RelType("DECLARED_AT", "申报海关", "Inventory", "Port", Flow.PARTY, "", _R["customs"]),
    RelType("LOCATED_IN", "所在地区", "Consignee", "District", Flow.PARTY, "Delivery district."),
]

# Bookkeeping labels an adapter may keep beside the chain graph (the applied schema
# version), never returned by traversals or counted as chain data.
INTERNAL_LABELS = frozenset({"QtraceMeta"})

SCHEMA = GraphSchema(
    version=1,
    labels={label.name: label for label in _LABELS},
    relationships={rel.name: rel for rel in _RELS},
    roles=ROLES,
)


def _check_consistency(schema: GraphSchema) -> None:
    for rel in schema.relationships.values():
        for end in (rel.source, rel.target):
            schema.label(end)
        if rel.flow is Flow.PARTY and not schema.labels[rel.target].party:
            raise AssertionError(f"{rel.name}: party edges must point at a party label")
        if rel.flow is not Flow.PARTY and schema.labels[rel.target].party:
            raise AssertionError(f"{rel.name}: only party edges may point at a party label")


_check_consistency(SCHEMA)
