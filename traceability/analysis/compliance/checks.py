"""The checks themselves: pure functions from document facts to findings.

A document's *facts* are the few values checks need, with personal data already hashed.
Checks on one document run when it arrives; checks on a pair (order and payment, order and
waybill, order and inventory) run whichever of the two arrives second, and return ``None``
for a pair that agrees, so that a corrected document resolves an earlier finding.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from traceability.analysis.compliance.findings import Finding
from traceability.formats.identifiers import is_valid_hs_code, is_valid_resident_id, is_valid_uscc

FEN = Decimal("0.01")


def dec(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(FEN))


def differs(a: Decimal | None, b: Decimal | None, tolerance: Decimal) -> bool:
    """True when both are known and differ by more than the tolerance, compared to the fen."""
    if a is None or b is None:
        return False
    return abs(a.quantize(FEN) - b.quantize(FEN)) > tolerance


@dataclass(slots=True)
class Doc:
    """One CEB document as the ledger keeps it."""

    kind: str  # order | payment | waybill | inventory
    key: str
    guid: str
    app_type: str
    time: str | None
    order_key: str | None = None
    order_no: str | None = None
    invt_no: str | None = None
    buyer_hash: str | None = None
    year: int | None = None
    amount: Decimal | None = None
    facts: dict[str, Any] = field(default_factory=dict)


# -- one document ----------------------------------------------------------------------


def line_totals(key: str, lines: list[dict[str, str]], tolerance: Decimal) -> list[Finding]:
    found = []
    for line in lines:
        price, qty = dec(line.get("price")), dec(line.get("qty"))
        total = dec(line.get("totalPrice"))
        if price is not None and qty is not None and differs(price * qty, total, tolerance):
            found.append(
                Finding(
                    "LINE_TOTAL", (key, f"gnum={line.get('gnum')}"), money(price * qty),
                    money(total), f"第 {line.get('gnum')} 项", f"line gnum {line.get('gnum')}",
                )
            )  # fmt: skip
    return found


def order_arithmetic(key: str, head: dict[str, str], lines: list[dict[str, str]],
                     tolerance: Decimal) -> list[Finding]:  # fmt: skip
    found = []
    parts = [dec(head.get(f)) for f in ("goodsValue", "freight", "taxTotal", "discount")]
    paid = dec(head.get("acturalPaid"))
    goods, freight, tax, discount = (p or Decimal(0) for p in parts)
    expected = goods + freight + tax - discount
    if differs(expected, paid, tolerance):
        found.append(Finding("ORDER_ARITHMETIC", (key,), money(expected), money(paid)))
    totals = [dec(line.get("totalPrice")) for line in lines]
    if lines and all(t is not None for t in totals):
        line_sum = sum((t for t in totals if t is not None), Decimal(0))
        if differs(line_sum, dec(head.get("goodsValue")), tolerance):
            found.append(
                Finding("ORDER_GOODS_VALUE", (key,), money(line_sum), head.get("goodsValue"))
            )
    return found + line_totals(key, lines, tolerance)


def id_number(key: str, id_type: str | None, number: str | None, role: str) -> list[Finding]:
    """Type 1 is the resident ID card; other document types have no check character."""
    if (id_type or "1") != "1" or not number:
        return []
    if is_valid_resident_id(number):
        return []
    masked = number[:4] + "*" * max(0, len(number) - 8) + number[-4:]
    return [Finding("BAD_ID_NUMBER", (key, role), "GB 11643 校验通过", masked, role, role)]


def uscc_code(key: str, code: str | None, role: str) -> list[Finding]:
    """Codes in enterprise fields are 10-character customs codes or 18-character USCCs."""
    if not code or len(code) != 18 or is_valid_uscc(code):
        return []
    return [Finding("BAD_USCC", (key, role), "GB 32100 校验通过", code, role, role)]


def hs_codes(key: str, lines: list[dict[str, str]]) -> list[Finding]:
    return [
        Finding("BAD_HS_CODE", (key, f"gnum={line.get('gnum')}"), "10 位数字", line.get("gcode"))
        for line in lines
        if not is_valid_hs_code(line.get("gcode") or "")
    ]


def single_limit(key: str, amount: Decimal, limit: Decimal, time: str | None) -> list[Finding]:
    if amount <= limit:
        return []
    return [Finding("SINGLE_LIMIT_EXCEEDED", (key,), f"≤ {limit}", money(amount), time=time)]


# -- pairs -----------------------------------------------------------------------------


def payment_vs_order(order: Doc, payment: Doc, tolerance: Decimal) -> dict[str, Finding | None]:
    keys = (order.key, payment.key)
    paid, amount = dec(order.facts.get("acturalPaid")), dec(payment.facts.get("amountPaid"))
    result: dict[str, Finding | None] = {"PAYMENT_AMOUNT_MISMATCH": None}
    if differs(paid, amount, tolerance):
        result["PAYMENT_AMOUNT_MISMATCH"] = Finding(
            "PAYMENT_AMOUNT_MISMATCH", keys, money(paid), money(amount), time=payment.time
        )
    fields = {"buyerIdHash": "payerIdHash", "buyerNameHash": "payerNameHash"}
    different = [
        buyer for buyer, payer in fields.items()
        if order.facts.get(buyer) and payment.facts.get(payer)
        and order.facts[buyer] != payment.facts[payer]
    ]  # fmt: skip
    result["BUYER_PAYER_MISMATCH"] = None
    if different:
        names = {"buyerIdHash": ("证件号码", "ID number"), "buyerNameHash": ("姓名", "name")}
        result["BUYER_PAYER_MISMATCH"] = Finding(
            "BUYER_PAYER_MISMATCH", keys,
            {names[d][1]: order.facts.get(f"{d[:-4]}Masked") for d in different},
            {names[d][1]: payment.facts.get(f"{fields[d][:-4]}Masked") for d in different},
            "、".join(names[d][0] for d in different) + "不同",
            ", ".join(names[d][1] for d in different) + " differ",
            time=payment.time,
        )  # fmt: skip
    return result


CONSIGNEE_FIELDS = {"name": ("姓名", "name"), "phone": ("电话", "phone"),
                    "address": ("地址", "address")}  # fmt: skip


def waybill_vs_order(order: Doc, waybill: Doc) -> dict[str, Finding | None]:
    ours, theirs = order.facts.get("consignee") or {}, waybill.facts.get("consignee") or {}
    different = [f for f in CONSIGNEE_FIELDS if ours.get(f) and theirs.get(f)
                 and ours[f]["hash"] != theirs[f]["hash"]]  # fmt: skip
    if not different:
        return {"CONSIGNEE_MISMATCH": None}
    return {
        "CONSIGNEE_MISMATCH": Finding(
            "CONSIGNEE_MISMATCH", (order.key, waybill.key),
            {f: ours[f]["masked"] for f in different},
            {f: theirs[f]["masked"] for f in different},
            "、".join(CONSIGNEE_FIELDS[f][0] for f in different) + "不同",
            ", ".join(CONSIGNEE_FIELDS[f][1] for f in different) + " differ",
            time=waybill.time,
        )
    }  # fmt: skip


def inventory_vs_order(order: Doc, inventory: Doc) -> dict[str, Finding | None]:
    order_lines: dict[str, str] = order.facts.get("lines") or {}
    inventory_lines: dict[str, str] = inventory.facts.get("lines") or {}
    problems_zh, problems_en = [], []
    if set(order_lines) != set(inventory_lines):
        problems_zh.append("商品序号不能一一对应")
        problems_en.append("gnum sets differ")
    renamed = sorted(
        g for g in set(order_lines) & set(inventory_lines) if order_lines[g] != inventory_lines[g]
    )
    if renamed:
        problems_zh.append(f"第 {','.join(renamed)} 项名称不同")
        problems_en.append(f"gname differs on gnum {','.join(renamed)}")
    if not problems_zh:
        return {"INVENTORY_LINES_MISMATCH": None}
    return {
        "INVENTORY_LINES_MISMATCH": Finding(
            "INVENTORY_LINES_MISMATCH", (order.key, inventory.key), order_lines, inventory_lines,
            "；".join(problems_zh), "; ".join(problems_en), time=inventory.time,
        )
    }  # fmt: skip


def annual_quota(buyer_hash: str, buyer_masked: str | None, year: int, total: Decimal,
                 limit: Decimal, inventories: list[str]) -> Finding | None:  # fmt: skip
    if total <= limit:
        return None
    return Finding(
        "ANNUAL_QUOTA_EXCEEDED", (f"buyer:{buyer_hash}", f"year:{year}"), f"≤ {limit}",
        money(total), f"{buyer_masked or ''} {year} 年累计 {money(total)} 元",
        f"{year} total {money(total)} CNY", extra={"inventories": inventories},
    )  # fmt: skip


def year_of(time: str | None) -> int | None:
    if not time:
        return None
    try:
        return dt.datetime.fromisoformat(time).year
    except ValueError:
        return None
