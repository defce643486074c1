"""Collect: turn what the other parts of qtrace recorded into risk signals, since watermarks.

Each source reads rows after its watermark, writes signals (``INSERT`` keyed by a dedupe
identity, so a repeated read changes nothing) and moves the watermark in the same
transaction: a run that crashes part-way is simply repeated.

Sources (all in the embedded SQLite file, read only if their tables exist; the graph is
read through the store port, so it works on Neo4j too):

* ``finding``  compliance findings of the ledger (refreshed when they are re-recorded or
  resolved), with the orders, enterprises and buyer they name;
* ``order``    orders of the ledger, with buyer, consignee phone/address hashes, amount,
  platform and seller (the input of the fraud and credit rules);
* ``opinion``  spike and silent-source signals of the opinions feature;
* ``epcis``    EPCIS events with a non-conformant disposition (damaged, recalled …), and
  sensor reports outside the storage limits (a cold-chain excursion, ``type`` =
  ``sensor_excursion``) or flagged by the device (``exception``);
* ``customs``  customs receipts (Clearance nodes) that report rejection, inspection,
  detention or return;
* ``notice`` / ``negative``  regulator notices and negative-list entries entered here.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from alerts.db import RiskDB, dumps, iso, now_utc, parse_time
from traceability.store.port import GraphStore, NodeRef

BATCH = 2000

NONCONFORMANT = frozenset(
    {
        "damaged",
        "recalled",
        "non_conformant",
        "nonconformant",
        "destroyed",
        "expired",
        "disposed",
        "stolen",
        "mismatch_instance",
        "mismatch_class",
        "mismatch_quantity",
        "needs_replacement",
        "no_pedigree_match",
        "returned",
        "unavailable",
    }
)
#: Storage limits by sensor measurement type: (minimum, maximum, unit).  The generated and
#: pilot goods are dry goods stored at ambient temperature (infant formula below 25 °C).
SENSOR_LIMITS: dict[str, tuple[float, float, str]] = {
    "Temperature": (0.0, 25.0, "CEL"),
    "RelativeHumidity": (0.0, 75.0, "A93"),
}
#: Units convertible to the limits' unit.
_TO_CELSIUS = {"FAH": lambda v: (v - 32) * 5 / 9, "KEL": lambda v: v - 273.15}
#: Customs receipt statuses worth a signal: 退单, 查验, 扣留 (4 kinds), 退运.
CUSTOMS_STATUSES = frozenset({"100", "500", "501", "502", "503", "599", "700"})
#: How long after its declaration an inventory's receipts are still looked for.
CUSTOMS_LOOKBACK = dt.timedelta(days=30)
_DOC_LABEL = {
    "order": "Order",
    "payment": "Payment",
    "waybill": "Waybill",
    "inventory": "Inventory",
}


@dataclass(slots=True)
class Signal:
    kind: str
    dedupe: str
    time: dt.datetime
    entity: str | None
    entities: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)


def disposition_name(value: str | None) -> str:
    """``https://ref.gs1.org/cbv/Disp-damaged`` / ``urn:epcglobal:cbv:disp:damaged`` → damaged."""
    if not value:
        return ""
    tail = value.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail.removeprefix("Disp-").lower()


def _term(value: Any) -> str:
    """``gs1:Temperature`` / ``https://gs1.org/voc/Temperature`` → Temperature."""
    return str(value or "").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removeprefix("MeasurementType-")


def excursions(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The sensor reports of an event outside :data:`SENSOR_LIMITS` or with an exception."""
    found = []
    for element in body.get("sensorElementList") or []:
        if not isinstance(element, dict):
            continue
        for report in element.get("sensorReport") or []:
            if not isinstance(report, dict):
                continue
            kind = _term(report.get("type"))
            limits = SENSOR_LIMITS.get(kind)
            alarm = _term(report.get("exception")) if report.get("exception") else None
            values = []
            for name in ("value", "minValue", "maxValue", "meanValue"):
                raw = report.get(name)
                if isinstance(raw, int | float) and not isinstance(raw, bool):
                    convert = _TO_CELSIUS.get(str(report.get("uom") or ""))
                    values.append(float(convert(raw)) if kind == "Temperature" and convert
                                  else float(raw))  # fmt: skip
            outside = [v for v in values if limits is not None and not limits[0] <= v <= limits[1]]
            if outside or alarm:
                worst = max(outside, key=lambda v: abs(v - sum(limits[:2]) / 2)) if (
                    outside and limits) else (values[0] if values else None)  # fmt: skip
                found.append({
                    "sensor": kind, "value": worst, "uom": limits[2] if limits else
                    report.get("uom"), "min": limits[0] if limits else None,
                    "max": limits[1] if limits else None, "exception": alarm,
                    "time": report.get("time") or (element.get("sensorMetadata") or {}).get("time"),
                })  # fmt: skip
    return found


def _ms(millis: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def _dedupe_entities(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


class Collector:
    """Reads each source since its watermark; ``sources`` may be replaced in tests."""

    def __init__(self, rdb: RiskDB, store: GraphStore) -> None:
        self.rdb = rdb
        self.store = store
        self.sources: dict[str, Callable[[], int]] = {
            "finding": self.findings,
            "order": self.orders,
            "opinion": self.opinions,
            "epcis": self.epcis,
            "customs": self.customs,
            "notice": self.notices,
            "negative": self.negative,
            "statistics": self.statistics,
        }

    # -- writing -------------------------------------------------------------------------

    def _write(self, conn: sqlite3.Connection, signals: list[Signal], update: bool) -> int:
        now = iso(now_utc())
        sql = (
            "INSERT INTO risk_signals (kind, dedupe, time, entity, entities, attrs,"
            " collected_at) VALUES (?,?,?,?,?,?,?)"
        )
        if update:
            sql += (
                " ON CONFLICT (dedupe) DO UPDATE SET time = excluded.time,"
                " entity = excluded.entity, entities = excluded.entities,"
                " attrs = excluded.attrs, collected_at = excluded.collected_at"
                " WHERE attrs != excluded.attrs"
                " OR entities != excluded.entities"
            )
        else:
            sql += " ON CONFLICT (dedupe) DO NOTHING"
        before = conn.total_changes
        conn.executemany(
            sql,
            [
                (s.kind, s.dedupe, iso(s.time), s.entity, dumps(s.entities), dumps(s.attrs), now)
                for s in signals
            ],
        )
        return conn.total_changes - before

    # -- helpers -------------------------------------------------------------------------

    def _sellers(self, order_keys: Iterable[str]) -> dict[str, str]:
        """Order key → seller (ebcCode) from the graph, through the port."""
        refs = [NodeRef("Order", key) for key in set(order_keys)]
        found: dict[str, str] = {}
        for start in range(0, len(refs), 1000):
            for ref, node in self.store.get_nodes(refs[start : start + 1000]).items():
                ebc = node.props.get("ebcCode")
                if ebc:
                    found[ref.key] = str(ebc)
        return found

    def _ledger_orders(self, inventory_keys: Iterable[str]) -> dict[str, str]:
        keys = list(set(inventory_keys))
        if not keys or not self.rdb.has_table("compliance_documents"):
            return {}
        rows = self.rdb.db.execute(
            "SELECT d.key, d.order_key FROM json_each(?) j JOIN compliance_documents d"
            " ON d.kind = 'inventory' AND d.key = j.value",
            (json.dumps(keys),),
        ).fetchall()
        return {r[0]: r[1] for r in rows if r[1]}

    # -- sources -------------------------------------------------------------------------

    def findings(self) -> int:
        if not self.rdb.has_table("compliance_findings"):
            return 0
        written = 0
        mark = self.rdb.watermark("collect:finding", "|")
        while True:
            seen, fid = mark.split("|", 1)
            rows = self.rdb.db.execute(
                "SELECT id, code, severity, keys, body, time, first_seen, last_seen, active"
                " FROM compliance_findings WHERE last_seen > ? OR (last_seen = ? AND id > ?)"
                " ORDER BY last_seen, id LIMIT ?",
                (seen, seen, fid, BATCH),
            ).fetchall()
            if not rows:
                break
            bodies = [json.loads(r["body"]) for r in rows]
            orders: list[str] = []
            inventories: list[str] = []
            for body in bodies:
                for record in body.get("records", []):
                    if record["kind"] == "order":
                        orders.append(record["key"])
                    elif record["kind"] == "inventory":
                        inventories.append(record["key"])
            inv_orders = self._ledger_orders(inventories)
            sellers = self._sellers([*orders, *inv_orders.values()])
            signals = []
            for row, body in zip(rows, bodies, strict=True):
                signals.append(self._finding_signal(row, body, inv_orders, sellers))
            with self.rdb.transaction() as conn:
                written += self._write(conn, signals, update=True)
                mark = f"{rows[-1]['last_seen']}|{rows[-1]['id']}"
                self.rdb.set_watermark(conn, "collect:finding", mark)
        written += self._refresh_findings()
        return written

    def _finding_signal(
        self,
        row: sqlite3.Row,
        body: dict[str, Any],
        inv_orders: dict[str, str],
        sellers: dict[str, str],
    ) -> Signal:
        entities: list[str] = []
        order_keys: list[str] = []
        for record in body.get("records", []):
            label = _DOC_LABEL.get(record["kind"])
            if label:
                entities.append(f"{label}:{record['key']}")
            if record["kind"] == "order":
                order_keys.append(record["key"])
            elif record["kind"] == "inventory" and record["key"] in inv_orders:
                order_keys.append(inv_orders[record["key"]])
            elif record["kind"] in ("payment", "waybill"):
                entities.append(f"Enterprise:{record['key'].split(':', 1)[0]}")
        buyer = None
        for key in json.loads(row["keys"]):
            if key.startswith("buyer:"):
                buyer = key.split(":", 1)[1]
                entities.append(f"Buyer:{buyer}")
        if buyer and not order_keys:
            order_keys = self._buyer_orders(buyer, body)
        for order in order_keys:
            entities.append(f"Order:{order}")
            entities.append(f"Enterprise:{order.split(':', 1)[0]}")
            if order in sellers:
                entities.append(f"Enterprise:{sellers[order]}")
        entities = _dedupe_entities(entities)
        # A finding about a pattern (a yearly quota) has no time of its own: its latest order's.
        time = (
            parse_time(row["time"])
            or self._latest_order_time(order_keys)
            or parse_time(row["first_seen"])
            or now_utc()
        )
        attrs = {
            "code": row["code"],
            "finding": row["id"],
            "severity": row["severity"],
            "active": bool(row["active"]),
            "orders": _dedupe_entities(order_keys),
            "message": body.get("message_zh", ""),
        }
        return Signal(
            "finding",
            f"finding:{row['id']}",
            time,
            entities[0] if entities else None,
            entities,
            attrs,
        )

    def _latest_order_time(self, order_keys: list[str]) -> dt.datetime | None:
        if not order_keys or not self.rdb.has_table("compliance_documents"):
            return None
        times = [
            t
            for (value,) in self.rdb.db.execute(
                "SELECT d.time FROM json_each(?) j JOIN compliance_documents d"
                " ON d.kind = 'order' AND d.key = j.value",
                (json.dumps(order_keys),),
            )
            if (t := parse_time(value)) is not None
        ]
        return max(times) if times else None

    def _buyer_orders(self, buyer: str, body: dict[str, Any]) -> list[str]:
        if not self.rdb.has_table("compliance_documents"):
            return []
        rows = self.rdb.db.execute(
            "SELECT DISTINCT order_key FROM compliance_documents WHERE buyer_hash = ?"
            " AND kind = 'inventory' AND status = 'active' AND order_key IS NOT NULL"
            " ORDER BY order_key",
            (buyer,),
        ).fetchall()
        return [r[0] for r in rows]

    def _refresh_findings(self) -> int:
        """A finding resolved by the ledger (no last_seen change) clears its signal."""
        rows = self.rdb.db.execute(
            "SELECT s.id, s.attrs, f.active FROM risk_signals s JOIN compliance_findings f"
            " ON f.id = json_extract(s.attrs, '$.finding') WHERE s.kind = 'finding'"
            " AND json_extract(s.attrs, '$.active') != f.active"
        ).fetchall()
        if not rows:
            return 0
        with self.rdb.transaction() as conn:
            for row in rows:
                attrs = json.loads(row["attrs"])
                attrs["active"] = bool(row["active"])
                conn.execute(
                    "UPDATE risk_signals SET attrs = ?, collected_at = ? WHERE id = ?",
                    (dumps(attrs), iso(now_utc()), row["id"]),
                )
        return len(rows)

    def orders(self) -> int:
        if not self.rdb.has_table("compliance_documents"):
            return 0
        written = 0
        mark = int(self.rdb.watermark("collect:order", "0"))
        while True:
            rows = self.rdb.db.execute(
                "SELECT rowid, key, buyer_hash, time, facts FROM compliance_documents"
                " WHERE kind = 'order' AND rowid > ? ORDER BY rowid LIMIT ?",
                (mark, BATCH),
            ).fetchall()
            if not rows:
                break
            sellers = self._sellers(r["key"] for r in rows)
            signals = []
            for row in rows:
                facts = json.loads(row["facts"])
                consignee = facts.get("consignee") or {}
                ebp = row["key"].split(":", 1)[0]
                ebc = sellers.get(row["key"])
                try:
                    amount = float(facts.get("acturalPaid") or 0)
                except ValueError:
                    amount = 0.0
                enterprises = _dedupe_entities(
                    [f"Enterprise:{ebp}", f"Enterprise:{ebc}" if ebc else None]
                )
                attrs = {
                    "order": row["key"],
                    "buyer": row["buyer_hash"],
                    "ebp": ebp,
                    "ebc": ebc,
                    "consignee_phone": (consignee.get("phone") or {}).get("hash"),
                    "consignee_address": (consignee.get("address") or {}).get("hash"),
                    "amount": amount,
                    "enterprises": enterprises,
                }
                entities = _dedupe_entities(
                    [
                        f"Order:{row['key']}",
                        f"Buyer:{row['buyer_hash']}" if row["buyer_hash"] else None,
                        *enterprises,
                    ]
                )
                signals.append(
                    Signal(
                        "order",
                        f"order:{row['key']}",
                        parse_time(row["time"]) or now_utc(),
                        f"Order:{row['key']}",
                        entities,
                        attrs,
                    )
                )
            with self.rdb.transaction() as conn:
                written += self._write(conn, signals, update=False)
                mark = rows[-1]["rowid"]
                self.rdb.set_watermark(conn, "collect:order", str(mark))
        return written

    def opinions(self) -> int:
        if not self.rdb.has_table("opinion_signals"):
            return 0
        written = 0
        mark = int(self.rdb.watermark("collect:opinion", "0"))
        while True:
            rows = self.rdb.db.execute(
                "SELECT id, kind, entity, entity_name, category, source, detected_at, count,"
                " baseline, score, message, evidence FROM opinion_signals WHERE id > ?"
                " ORDER BY id LIMIT ?",
                (mark, BATCH),
            ).fetchall()
            if not rows:
                break
            signals = []
            for row in rows:
                entity = row["entity"] or (f"Source:{row['source']}" if row["source"] else None)
                attrs = {
                    "type": row["kind"],
                    "entity_name": row["entity_name"],
                    "category": row["category"],
                    "source": row["source"],
                    "count": row["count"],
                    "baseline": row["baseline"],
                    "score": row["score"],
                    "message": row["message"],
                    "opinion_signal": row["id"],
                    "documents": json.loads(row["evidence"] or "[]")[:20],
                }
                signals.append(
                    Signal(
                        "opinion",
                        f"opinion:{row['id']}",
                        parse_time(row["detected_at"]) or now_utc(),
                        entity,
                        _dedupe_entities([entity]),
                        attrs,
                    )
                )
            with self.rdb.transaction() as conn:
                written += self._write(conn, signals, update=False)
                mark = rows[-1]["id"]
                self.rdb.set_watermark(conn, "collect:opinion", str(mark))
        return written

    def epcis(self) -> int:
        if not self.rdb.has_table("epcis_events"):
            return 0
        from traceability.epcis.graph import lgtin_to_key  # the feature may be switched off

        written = 0
        mark = int(self.rdb.watermark("collect:epcis", "0"))
        while True:
            rows = self.rdb.db.execute(
                "SELECT id, event_id, hash_id, event_time, biz_step, disposition, read_point,"
                " biz_location, error_declared, CASE WHEN instr(body, '\"sensorElementList\"')"
                " THEN body END AS sensors FROM epcis_events WHERE id > ?"
                " ORDER BY id LIMIT ?",
                (mark, BATCH * 5),
            ).fetchall()
            if not rows:
                break
            signals = []
            for row in rows:
                if row["error_declared"]:
                    continue
                disposition = disposition_name(row["disposition"])
                readings = excursions(json.loads(row["sensors"])) if row["sensors"] else []
                if disposition not in NONCONFORMANT and not readings:
                    continue
                ids = self.rdb.db.execute(
                    "SELECT value FROM epcis_event_ids WHERE event = ? ORDER BY value",
                    (row["id"],),
                ).fetchall()
                entities = []
                for (value,) in ids:
                    try:
                        gtin, lot = lgtin_to_key(value)
                    except ValueError:
                        continue
                    entities.append(f"Batch:{gtin}:{lot}")
                entities = _dedupe_entities(entities)
                attrs = {
                    "disposition": disposition,
                    "biz_step": row["biz_step"],
                    "location": row["biz_location"] or row["read_point"],
                    "read_point": row["read_point"],
                    "event": row["event_id"] or row["hash_id"],
                    "identifiers": [v for (v,) in ids][:20],
                }
                time = _ms(row["event_time"])
                first = entities[0] if entities else None
                if disposition in NONCONFORMANT:
                    signals.append(
                        Signal("epcis", f"epcis:{row['hash_id']}", time, first, entities, attrs)
                    )
                if readings:
                    worst = readings[0]
                    excursion = {
                        **attrs, "type": "sensor_excursion", "readings": readings[:20],
                        **{k: worst[k] for k in ("sensor", "value", "uom", "min", "max")},
                    }  # fmt: skip
                    signals.append(Signal("epcis", f"epcis-sensor:{row['hash_id']}", time,
                                          first, entities, excursion))  # fmt: skip
            with self.rdb.transaction() as conn:
                written += self._write(conn, signals, update=False)
                mark = rows[-1]["id"]
                self.rdb.set_watermark(conn, "collect:epcis", str(mark))
        return written

    def customs(self) -> int:
        """Customs receipts: the Clearance node of each inventory, read through the port.

        Receipts only change the Clearance node, which the port cannot list by change, so
        this reads the inventories declared since the watermark and those of the last
        ``CUSTOMS_LOOKBACK`` (when later receipts arrive); the dedupe key
        (inventory + status) keeps a re-read from counting twice.
        """
        if not self.rdb.has_table("compliance_documents"):
            return 0
        mark = int(self.rdb.watermark("collect:customs", "0"))
        recent = iso(now_utc() - CUSTOMS_LOOKBACK)
        rows = self.rdb.db.execute(
            "SELECT rowid, key, order_key FROM compliance_documents WHERE kind = 'inventory'"
            " AND (rowid > ? OR time > ?) ORDER BY rowid",
            (mark, recent),
        ).fetchall()
        if not rows:
            return 0
        written = 0
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            refs = [NodeRef("Clearance", r["key"]) for r in chunk]
            orders = {r["key"]: r["order_key"] for r in chunk}
            nodes = self.store.get_nodes(refs).values()
            flagged = [n for n in nodes if str(n.props.get("returnStatus")) in CUSTOMS_STATUSES]
            sellers = self._sellers(o for n in flagged if (o := orders.get(n.key)))
            signals = []
            for node in flagged:
                status = str(node.props.get("returnStatus"))
                order = orders.get(node.key)
                ebc = sellers.get(order) if order else None
                entities = _dedupe_entities([
                    f"Inventory:{node.key}", f"Order:{order}" if order else None,
                    f"Enterprise:{order.split(':', 1)[0]}" if order else None,
                ])  # fmt: skip
                attrs = {
                    "status": status, "info": node.props.get("returnInfo"),
                    "customs": node.props.get("customsCode"), "inventory": node.key,
                    "order": order, "ebc": ebc,
                    "seller": f"Enterprise:{ebc}" if ebc else None,
                }  # fmt: skip
                when = parse_time(str(node.props.get("time") or "")) or now_utc()
                signals.append(Signal("customs", f"customs:{node.key}:{status}", when,
                                      f"Inventory:{node.key}", entities, attrs))  # fmt: skip
            with self.rdb.transaction() as conn:
                written += self._write(conn, signals, update=False)
                top = max(mark, max(r["rowid"] for r in chunk))
                self.rdb.set_watermark(conn, "collect:customs", str(top))
        return written

    def notices(self) -> int:
        written = 0
        mark = int(self.rdb.watermark("collect:notice", "0"))
        rows = self.rdb.db.execute(
            "SELECT * FROM risk_notices WHERE id > ? ORDER BY id", (mark,)
        ).fetchall()
        if not rows:
            return 0
        signals = []
        for row in rows:
            for entity in json.loads(row["entities"]):
                attrs = {
                    "ref": row["ref"],
                    "issuer": row["issuer"],
                    "title": row["title"],
                    "measure": row["measure"],
                    "severity": row["severity"],
                    "withdrawn": row["withdrawn_at"] is not None,
                }
                signals.append(
                    Signal(
                        "notice",
                        f"notice:{row['ref']}:{entity}",
                        parse_time(row["published"]) or now_utc(),
                        entity,
                        [entity],
                        attrs,
                    )
                )
        with self.rdb.transaction() as conn:
            written += self._write(conn, signals, update=False)
            self.rdb.set_watermark(conn, "collect:notice", str(rows[-1]["id"]))
        return written

    def negative(self) -> int:
        rows = self.rdb.db.execute(
            "SELECT * FROM risk_negative_list WHERE added_at > ? ORDER BY added_at, entity",
            (self.rdb.watermark("collect:negative", ""),),
        ).fetchall()
        if not rows:
            return 0
        signals = [
            Signal(
                "negative",
                f"negative:{r['entity']}:{r['added_at']}",
                parse_time(r["added_at"]) or now_utc(),
                r["entity"],
                [r["entity"]],
                {"reason": r["reason"], "source": r["source"]},
            )
            for r in rows
        ]
        with self.rdb.transaction() as conn:
            written = self._write(conn, signals, update=False)
            self.rdb.set_watermark(conn, "collect:negative", rows[-1]["added_at"])
        return written

    def statistics(self) -> int:
        """Monitoring signals of the statistics feature (``stats_signals``), after the last
        ``seq`` read; a changed or withdrawn one comes again and updates its signal."""
        if not self.rdb.has_table("stats_signals"):
            return 0
        written = 0
        while True:
            mark = int(self.rdb.watermark("collect:statistics", "0"))
            rows = self.rdb.db.execute(
                "SELECT seq, dedupe, time, entity, entities, attrs FROM stats_signals"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (mark, BATCH),
            ).fetchall()
            if not rows:
                return written
            signals = [
                Signal("statistics", r["dedupe"], parse_time(r["time"]) or now_utc(),
                       r["entity"], json.loads(r["entities"]), json.loads(r["attrs"]))
                for r in rows
            ]  # fmt: skip
            with self.rdb.transaction() as conn:
                written += self._write(conn, signals, update=True)
                self.rdb.set_watermark(conn, "collect:statistics", str(rows[-1]["seq"]))

    def run(self, errors: list[dict[str, Any]]) -> dict[str, int]:
        """Every source; one failing source is recorded and does not stop the others."""
        counts: dict[str, int] = {}
        for name, source in self.sources.items():
            try:
                counts[name] = source()
            except Exception as exc:
                errors.append({"source": name, "error": f"{type(exc).__name__}: {exc}"})
        return counts
