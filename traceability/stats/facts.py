"""One statistical fact per declared inventory (CEB621), read from the embedded file.

A fact is what the monthly tables count about one 申报清单: its period (the declaration
day, China time), its dimensions, its values and its customs outcome.  It is assembled by
SQL from the graph tables (the Inventory node, its Clearance receipt, the Order it declares,
the order's consignee district, the waybill) and the compliance ledger (cancellation and
return status, the amount left after a partial return, active findings), all in the same
SQLite file.  A fact is a plain JSON-able dict so that its fingerprint is stable: the
incremental computation compares fingerprints to find the inventories that changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from traceability.stats.config import StatsConfig
from traceability.store.port import GraphStore

EXPORT_TRADE_MODES = frozenset({"9710", "9810"})

# One row per Inventory node; the newest consignee/waybill wins if a correction added one.
_INVENTORY_SQL = """
SELECT i.key, i.props, c.props AS receipt, o.props AS ord, o.id AS order_id,
  (SELECT n.props ->> '$.district' FROM edges e JOIN nodes n ON n.id = e.dst
     WHERE e.src = o.id AND e.type = 'SHIP_TO' ORDER BY n.id DESC LIMIT 1) AS district,
  (SELECT n.key FROM edges e JOIN nodes n ON n.id = e.dst
     WHERE e.src = i.id AND e.type = 'INVENTORY_WAYBILL' ORDER BY n.id DESC LIMIT 1) AS waybill,
  d.status AS ledger_status, d.amount AS ledger_amount,
  (i.props ->> '$.ebpCode') || ':' || (i.props ->> '$.orderNo') AS order_key
FROM nodes i
LEFT JOIN nodes c ON c.label = 'Clearance' AND c.key = i.key
LEFT JOIN nodes o ON o.label = 'Order'
  AND o.key = (i.props ->> '$.ebpCode') || ':' || (i.props ->> '$.orderNo')
LEFT JOIN compliance_documents d ON d.kind = 'inventory' AND d.key = i.key
WHERE i.label = 'Inventory' {where}
"""

_ORDER_SQL = """
SELECT o.key, o.props ->> '$.time', o.props ->> '$.goodsValue', o.props ->> '$.acturalPaid',
  o.props ->> '$.deleted',
  EXISTS (SELECT 1 FROM edges e JOIN nodes i ON i.id = e.dst
          WHERE e.src = o.id AND e.type = 'DECLARED_IN' AND i.props ->> '$.time' IS NOT NULL
            AND coalesce(i.props ->> '$.deleted', 0) = 0
            AND coalesce(i.props ->> '$.cancelled', 0) = 0)
FROM nodes o WHERE o.label = 'Order' AND o.props ->> '$.orderNo' IS NOT NULL {where}
"""


def dec(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def text(value: Decimal) -> str:
    """A canonical decimal string (no exponent, no trailing zeros) for fingerprints."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def loads(data: str | bytes) -> Any:
    return orjson.loads(data)


def dumps(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


def fingerprint(salt: str, row: tuple[Any, ...], codes: set[str]) -> str:
    """A digest of everything a fact is built from (the raw row, its findings, the method):
    equal digests mean an unchanged fact, without building it."""
    digest = hashlib.sha1(salt.encode())
    for value in row:
        digest.update(b"\x1f" + (b"\x00" if value is None else str(value).encode()))
    digest.update(b"\x1e" + ",".join(sorted(codes)).encode())
    return digest.hexdigest()


def has_table(db: sqlite3.Connection, name: str) -> bool:
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row.fetchone() is not None


def finding_codes(db: sqlite3.Connection) -> dict[str, set[str]]:
    """Active finding codes by every document key they name."""
    by_key: dict[str, set[str]] = defaultdict(set)
    if not has_table(db, "compliance_findings"):
        return by_key
    rows = db.execute(
        "SELECT f.code, k.value FROM compliance_findings f, json_each(f.keys) k WHERE f.active = 1"
    )
    for code, key in rows:
        by_key[str(key)].add(code)
    return by_key


def _hours(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        delta = dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)
    except ValueError:
        return None
    hours = delta.total_seconds() / 3600
    return round(hours, 4) if hours >= 0 else None


def _receipt(config: StatsConfig, props: dict[str, Any], decl_time: str | None) -> dict[str, Any]:
    """Customs outcome from the Clearance node: the latest status, plus earlier statuses
    when the graph keeps them (``seen<status>`` properties holding the receipt time)."""
    rules = config.receipt_rules
    latest = str(props.get("returnStatus") or "")
    seen = {key[4:]: value for key, value in props.items() if key.startswith("seen")}
    if latest and latest not in seen:
        seen[latest] = props.get("time")
    statuses = set(seen)
    times = [seen[s] for s in statuses & rules.released if seen.get(s)]
    released_at = min(times) if times else None
    low, high = rules.detention
    return {
        "status": latest,
        "released": bool(statuses & rules.released),
        "inspected": bool(statuses & rules.inspection),
        "detained": any(s.isdigit() and low <= int(s) <= high for s in statuses),
        "abroad": bool(statuses & rules.returned_abroad),
        "hours": _hours(decl_time, released_at),
    }


def build_fact(config: StatsConfig, row: tuple[Any, ...], codes: set[str]) -> dict[str, Any] | None:
    """The fact of one inventory row of :data:`_INVENTORY_SQL`; None for a stub."""
    key, props_text, receipt_text, order_text, _, district, waybill, ledger_status, amount, _ = row
    props = loads(props_text)
    time = props.get("time")
    if not time or not props.get("orderNo"):
        return None  # known only from a receipt or a cancellation so far
    order = loads(order_text) if order_text else {}
    lines = loads(props.get("linesJson") or "[]")
    gross = sum((dec(line.get("totalPrice")) for line in lines), Decimal(0))
    freight, insured = dec(props.get("freight")), dec(props.get("insuredFee"))
    tax_parts = [props.get(f) for f in ("customsTax", "valueAddedTax", "consumptionTax")]
    if any(p not in (None, "") for p in tax_parts):
        tax = sum((dec(p) for p in tax_parts), Decimal(0))
    else:
        tax = dec(order.get("taxTotal"))
    state = "valid"
    if props.get("deleted") or ledger_status == "deleted":
        state = "deleted"
    elif props.get("cancelled") or ledger_status == "cancelled":
        state = "cancelled"
    returned = "none"
    returned_goods = Decimal(0)
    if ledger_status == "refunded":
        returned, returned_goods = "full", gross
    elif amount is not None and props.get("refundDeclared"):
        left = dec(amount) - freight - insured
        if left < gross:
            returned, returned_goods = "partial", max(gross - max(left, Decimal(0)), Decimal(0))
    elif props.get("refundDeclared") and ledger_status is None:
        returned, returned_goods = "full", gross  # no ledger row: the CEB625 names no lines
    trade = str(props.get("tradeMode") or "")
    if props.get("ieFlag") in ("I", "E"):
        direction = "export" if props["ieFlag"] == "E" else "import"
    elif order.get("orderType") in ("I", "E"):
        direction = "export" if order["orderType"] == "E" else "import"
    else:
        direction = "export" if trade in EXPORT_TRADE_MODES else "import"
    receipt = _receipt(config, loads(receipt_text) if receipt_text else {}, time)
    order_key = f"{props.get('ebpCode')}:{props.get('orderNo')}"
    return {
        "cop": key,
        "day": time[:10],
        "month": time[:7],
        "state": state,
        "app": str(props.get("appType") or "1"),
        "trade": trade,
        "dir": direction,
        "customs": str(props.get("customsCode") or ""),
        "platform": str(props.get("ebpCode") or ""),
        "logistics": waybill.split(":", 1)[0] if waybill else "",
        "district": str(district or ""),
        "buyer": str(props.get("buyerIdHash") or order.get("buyerIdHash") or ""),
        "order": order_key,
        "hasOrder": bool(order.get("time")),
        "waybill": waybill or "",
        "goods": text(gross),
        "freight": text(freight),
        "insured": text(insured),
        "tax": text(tax),
        "ret": returned,
        "retGoods": text(returned_goods),
        "lines": [
            [
                str(line.get("gcode") or ""),
                str(line.get("country") or props.get("country") or ""),
                text(dec(line.get("totalPrice"))),
            ]
            for line in lines
        ],
        **receipt,
        "findings": sorted(codes),
    }


def scan(
    db: sqlite3.Connection, config: StatsConfig, month: str | None = None
) -> dict[str, tuple[str, tuple[Any, ...], set[str]]]:
    """Fingerprint, raw row and finding codes of every inventory (or of one month's, with
    those counted in that month before); facts are built only for the changed ones."""
    params: tuple[Any, ...] = ()
    where = ""
    if month:
        where = "AND (substr(i.props ->> '$.time', 1, 7) = ?"
        params = (month,)
        if has_table(db, "stats_facts"):
            where += " OR i.key IN (SELECT cop_no FROM stats_facts WHERE month = ?)"
            params = (month, month)
        where += ")"
    sql = _INVENTORY_SQL
    if not has_table(db, "compliance_documents"):
        sql = sql.replace(
            "LEFT JOIN compliance_documents d ON d.kind = 'inventory' AND d.key = i.key",
            "LEFT JOIN (SELECT NULL AS key, NULL AS status, NULL AS amount) d ON 0",
        )
    findings = finding_codes(db)
    salt = config.digest
    scanned: dict[str, tuple[str, tuple[Any, ...], set[str]]] = {}
    empty: set[str] = set()
    for row in db.execute(sql.format(where=where), params):
        row = tuple(row)
        key = row[0]
        codes = empty
        if findings:
            codes = findings.get(key, empty) | findings.get(row[9] or "", empty)
        scanned[key] = (fingerprint(salt, row, codes), row, codes)
    return scanned


def read_facts(
    db: sqlite3.Connection, config: StatsConfig, month: str | None = None
) -> dict[str, dict[str, Any]]:
    """Facts of every inventory (or of one month's), built from :func:`scan`."""
    facts = {}
    for _, row, codes in scan(db, config, month).values():
        fact = build_fact(config, row, codes)
        if fact is not None:
            facts[fact["cop"]] = fact
    return facts


def read_orders(db: sqlite3.Connection, month: str | None = None) -> dict[str, dict[str, Any]]:
    """Orders per month for the reconciliation: count, values, how many were declared."""
    where = ""
    params: tuple[str, ...] = ()
    if month:
        where, params = "AND substr(o.props ->> '$.time', 1, 7) = ?", (month,)
    months: dict[str, dict[str, Any]] = {}
    for _, time, goods, paid, deleted, declared in db.execute(
        _ORDER_SQL.format(where=where), params
    ):
        if not time or deleted:
            continue
        m = months.setdefault(
            time[:7], {"orders": 0, "declared": 0, "goods": Decimal(0), "paid": Decimal(0)}
        )
        m["orders"] += 1
        m["declared"] += 1 if declared else 0
        m["goods"] += dec(goods)
        m["paid"] += dec(paid)
    return months


class PortSource:
    """The same raw rows as :func:`scan` and :func:`read_orders`, read through the graph
    store port (``iter_nodes``/``iter_edges``): for a Neo4j graph, whose nodes are not in
    the embedded file.  The ledger and findings still come from the embedded file."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def _nodes(self, label: str) -> dict[str, dict[str, Any]]:
        return {n.key: dict(n.props) for page in self.store.iter_nodes(label) for n in page}

    def _edges(self, rel_type: str) -> list[tuple[str, str]]:
        return [(e.src.key, e.dst.key) for page in self.store.iter_edges(rel_type) for e in page]

    def names(self) -> dict[str, str]:
        return {k: p["name"] for k, p in self._nodes("Enterprise").items() if p.get("name")}

    def scan(self, db: sqlite3.Connection, config: StatsConfig, month: str | None = None
             ) -> dict[str, tuple[str, tuple[Any, ...], set[str]]]:  # fmt: skip
        inventories = self._nodes("Inventory")
        if month:
            known: set[str] = set()
            if has_table(db, "stats_facts"):
                rows = db.execute("SELECT cop_no FROM stats_facts WHERE month = ?", (month,))
                known = {r[0] for r in rows}
            inventories = {
                k: p
                for k, p in inventories.items()
                if str(p.get("time") or "")[:7] == month or k in known
            }
        clearances = self._nodes("Clearance")
        orders = self._nodes("Order")
        districts = {k: p.get("district") for k, p in self._nodes("Consignee").items()}
        ship_to = {src: districts.get(dst) for src, dst in self._edges("SHIP_TO")}
        waybills = dict(self._edges("INVENTORY_WAYBILL"))
        ledger: dict[str, tuple[Any, Any]] = {}
        if has_table(db, "compliance_documents"):
            rows = db.execute(
                "SELECT key, status, amount FROM compliance_documents WHERE kind = 'inventory'"
            )
            ledger = {key: (status, amount) for key, status, amount in rows}
        findings = finding_codes(db)
        salt = config.digest
        scanned: dict[str, tuple[str, tuple[Any, ...], set[str]]] = {}
        for key, props in inventories.items():
            order_key = f"{props.get('ebpCode')}:{props.get('orderNo')}"
            order = orders.get(order_key)
            clearance = clearances.get(key)
            status, amount = ledger.get(key, (None, None))
            row = (
                key, dumps(props), dumps(clearance) if clearance is not None else None,
                dumps(order) if order is not None else None, None, ship_to.get(order_key),
                waybills.get(key), status, amount, order_key,
            )  # fmt: skip
            codes = findings.get(key, set()) | findings.get(order_key, set())
            scanned[key] = (fingerprint(salt, row, codes), row, codes)
        return scanned

    def read_orders(self, month: str | None = None) -> dict[str, dict[str, Any]]:
        inventories = self._nodes("Inventory")
        valid = {
            k for k, p in inventories.items()
            if p.get("time") and not p.get("deleted") and not p.get("cancelled")
        }  # fmt: skip
        declared = {src for src, dst in self._edges("DECLARED_IN") if dst in valid}
        months: dict[str, dict[str, Any]] = {}
        for key, props in self._nodes("Order").items():
            time = props.get("time")
            if not props.get("orderNo") or not time or props.get("deleted"):
                continue
            if month and time[:7] != month:
                continue
            m = months.setdefault(
                time[:7], {"orders": 0, "declared": 0, "goods": Decimal(0), "paid": Decimal(0)}
            )
            m["orders"] += 1
            m["declared"] += 1 if key in declared else 0
            m["goods"] += dec(props.get("goodsValue"))
            m["paid"] += dec(props.get("acturalPaid"))
        return months
