"""One-line zh-CN descriptions of nodes, shared by the terminal and the browser."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from traceability.formats.ceb.spec import RETURN_STATUS_ZH
from traceability.formats.reference import country_name

Props = Mapping[str, Any]


def _day(value: Any) -> str:
    return str(value)[:10] if value else ""


def _money(value: Any) -> str:
    return f"{value} 元" if value not in (None, "") else ""


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _enterprise(key: str, p: Props) -> str:
    return _join(p.get("name") or key, f"({p['country']})" if p.get("country") else "")


def _product(key: str, p: Props) -> str:
    hs = f"HS {p['hsCode']}" if p.get("hsCode") else ""
    return _join(p.get("name", ""), hs, country_name(p.get("originCountry")))


def _district(key: str, p: Props) -> str:
    province, city = p.get("province", ""), p.get("city", "")
    return (province if province == city else province + city) + p.get("name", key)


_DESCRIBERS: dict[str, Callable[[str, Props], str]] = {
    "Enterprise": _enterprise,
    "Product": _product,
    "District": _district,
    "Batch": lambda key, p: f"批号 {p.get('lot', key)}  生产 {_day(p.get('time'))}".strip(),
    "Order": lambda key, p: f"实付 {_money(p.get('acturalPaid'))}  {_day(p.get('time'))}",
    "Payment": lambda key, p: f"支付 {_money(p.get('amountPaid'))}  {_day(p.get('time'))}",
    "Waybill": lambda key, p: f"运费 {_money(p.get('freight'))}  {_day(p.get('time'))}",
    "Inventory": lambda key, p: (
        f"清单 {p.get('invtNo') or p.get('copNo', key)}  {p.get('tradeMode', '')}"
        f"  {_day(p.get('time'))}"
    ),
    "Clearance": lambda key, p: (
        f"{RETURN_STATUS_ZH.get(str(p.get('returnStatus')), p.get('returnStatus', ''))}"
        f"  {_day(p.get('time'))}"
    ),
    "Buyer": lambda key, p: f"{p.get('nameMasked', '')} {p.get('idMasked', '')}".strip(),
    "Consignee": lambda key, p: f"{p.get('nameMasked', '')} {p.get('addressMasked', '')}".strip(),
    "Port": lambda key, p: f"{p.get('name', key)} ({key})",
}


def describe(label: str, key: str, props: Props) -> str:
    describer = _DESCRIBERS.get(label)
    text = describer(key, props).strip() if describer else key
    return f"{text}（已删除）" if props.get("deleted") else text
