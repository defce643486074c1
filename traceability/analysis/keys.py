"""Business keys as people type them: ``KIND KEY`` on the command line and in URLs."""

from __future__ import annotations

from dataclasses import dataclass

from graph_schema import SCHEMA
from traceability.errors import InvalidParameter
from traceability.formats.identifiers import gtin_check_digit
from traceability.store.port import NodeRef

# The kinds a user names, with the label each stands for.
KINDS: dict[str, str] = {
    "batch": "Batch",
    "product": "Product",
    "order": "Order",
    "payment": "Payment",
    "waybill": "Waybill",
    "inventory": "Inventory",
    "enterprise": "Enterprise",
}

KIND_ZH = {
    "batch": "批次",
    "product": "商品",
    "order": "订单",
    "payment": "支付单",
    "waybill": "运单",
    "inventory": "申报清单",
    "enterprise": "企业",
}


class InvalidKey(InvalidParameter):
    """A kind or key the user typed is malformed (distinct from a key that is not found)."""


@dataclass(frozen=True, slots=True)
class ParsedKey:
    kind: str
    ref: NodeRef


def normalize_gtin(value: str) -> str:
    """GTIN-8/12/13/14 to the 14-digit form GS1 uses as the canonical key."""
    digits = value.strip()
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        raise InvalidKey(f"GTIN 应为 8/12/13/14 位数字，收到 {value!r}")
    if gtin_check_digit(digits[:-1]) != digits[-1]:
        raise InvalidKey(f"GTIN {value} 校验位错误")
    return digits.zfill(14)


def parse_key(kind: str, key: str) -> ParsedKey:
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise InvalidKey(f"未知的追溯对象类型 {kind!r}，可选: {', '.join(KINDS)}")
    key = key.strip()
    if not key or len(key) > 200:
        raise InvalidKey("业务键为空或过长")
    label = SCHEMA.label(KINDS[kind])
    try:
        parts = label.split_key(key)
    except ValueError as exc:
        raise InvalidKey(str(exc)) from None
    if "gtin" in parts:
        parts["gtin"] = normalize_gtin(parts["gtin"])
    return ParsedKey(kind, NodeRef(label.name, label.key_of(dict(parts))))
