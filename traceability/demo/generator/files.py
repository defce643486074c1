"""Write a planned world as the files real systems exchange, plus a manifest of its stories."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from traceability import epcis
from traceability.demo.generator.world import (
    Lot,
    Transaction,
    WorldPlan,
    defective_lot_story,
    iter_transactions,
    plan_world,
)
from traceability.formats.ceb.spec import MAX_RECORDS_PER_MESSAGE
from traceability.formats.ceb.xml import Record, write_message
from traceability.ingest.registry import REGISTRY_FILE, REGISTRY_HEADER

EVENTS_PER_DOCUMENT = 500
_EVENT_NS = uuid.UUID("6f1c3e9a-5b7d-4c1e-9a2f-3d8e7b6a5c40")


def _utc(moment: dt.datetime) -> str:
    """Naive China-time generator moments to EPCIS UTC timestamps."""
    return (moment - dt.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _ilmd(lot: Lot) -> dict[str, str]:
    return {"cbvmda:lotNumber": lot.lot, "cbvmda:itemExpirationDate": lot.expiry.isoformat()}


def production_events(plan: WorldPlan) -> Iterator[dict[str, Any]]:
    """Commissioning ObjectEvents for lots made from scratch, TransformationEvents for blends."""
    for lot in sorted(plan.all_lots, key=lambda lot: (lot.produced, lot.key)):
        maker = lot.product.manufacturer
        common: dict[str, Any] = {
            "eventID": f"urn:uuid:{uuid.uuid5(_EVENT_NS, lot.key)}",
            "eventTime": _utc(lot.produced),
            "eventTimeZoneOffset": "+00:00",
            "bizStep": "commissioning",
            "disposition": "active",
            "readPoint": {"id": maker.sgln},
            "bizLocation": {"id": maker.sgln},
            "sourceList": [{"type": "owning_party", "source": maker.pgln}],
            "ilmd": _ilmd(lot),
        }
        if lot.inputs:
            yield {
                "type": "TransformationEvent",
                **common,
                "inputQuantityList": [
                    {"epcClass": source.product.lgtin(source.lot), "quantity": 250, "uom": "KGM"}
                    for source in lot.inputs
                ],
                "outputQuantityList": [{"epcClass": lot.product.lgtin(lot.lot), "quantity": 2000}],
            }
        else:
            quantity = {"epcClass": lot.product.lgtin(lot.lot), "quantity": 2000}
            if lot.product.ingredient:
                quantity = {**quantity, "quantity": 5000, "uom": "KGM"}
            yield {"type": "ObjectEvent", "action": "ADD", **common, "quantityList": [quantity]}


#: The storage limits the generated products carry (dry goods: formula below 25 °C).
COLD_CHAIN_LIMITS = {"Temperature": (0.0, 25.0, "CEL")}


def _shipping(lot: Lot, when: dt.datetime, celsius: float, **extra: Any) -> dict[str, Any]:
    """A shipping ObjectEvent of a lot from its maker, with a temperature logger's report."""
    maker = lot.product.manufacturer
    moment = _utc(when)
    return {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{uuid.uuid5(_EVENT_NS, f'ship:{lot.key}:{moment}')}",
        "eventTime": moment,
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": maker.sgln},
        "quantityList": [{"epcClass": lot.product.lgtin(lot.lot), "quantity": 400}],
        "sensorElementList": [
            {
                "sensorMetadata": {
                    "time": moment,
                    "deviceID": f"urn:epc:id:giai:{maker.company_prefix}.T{lot.lot}",
                },
                "sensorReport": [
                    {"type": "gs1:Temperature", "value": celsius, "uom": "CEL"},
                ],
            }
        ],
        **extra,
    }


def logistics_events(
    plan: WorldPlan, lot_orders: dict[str, list[str]], stories: bool, taken: set[str]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Shipping events with temperature readings (in range) for the lots that were sold;
    with stories, one lot's reading is out of its limits and another lot is recalled."""
    sold = [lot for lot in plan.all_lots if lot_orders.get(lot.key) and lot.key not in taken]
    events = [
        _shipping(lot, lot.produced + dt.timedelta(days=3), 18.0 + (i % 5))
        for i, lot in enumerate(sold[:12])
    ]
    found: dict[str, dict[str, Any]] = {}
    if stories and len(sold) >= 2:
        ordered = sorted(sold, key=lambda lot: (-len(lot_orders[lot.key]), lot.key))
        hot, recalled = ordered[0], ordered[1]
        events.append(_shipping(hot, hot.produced + dt.timedelta(days=9), 38.5))
        found["cold_chain_excursion"] = {
            "what": "运输途中温度记录 38.5 °C，超出产品储存上限 25 °C",
            "batch": hot.key, "value": 38.5, "limit": COLD_CHAIN_LIMITS["Temperature"][1],
            "orders": lot_orders[hot.key][:5], "order_count": len(lot_orders[hot.key]),
        }  # fmt: skip
        when = _utc(recalled.produced + dt.timedelta(days=60))
        events.append({
            "type": "ObjectEvent",
            "eventID": f"urn:uuid:{uuid.uuid5(_EVENT_NS, f'recall:{recalled.key}')}",
            "eventTime": when, "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
            "bizStep": "holding", "disposition": "recalled",
            "readPoint": {"id": recalled.product.manufacturer.sgln},
            "quantityList": [{"epcClass": recalled.product.lgtin(recalled.lot), "quantity": 400}],
        })  # fmt: skip
        found["recalled_lot"] = {
            "what": "生产企业召回该批次（EPCIS 处置状态 recalled）",
            "batch": recalled.key, "orders": lot_orders[recalled.key][:5],
            "order_count": len(lot_orders[recalled.key]),
        }  # fmt: skip
    return events, found


def master_data(plan: WorldPlan) -> list[dict[str, Any]]:
    products = plan.products + plan.ingredients
    classes = {
        p.class_pattern: {
            epcis.MDA + "descriptionShort": p.name,
            epcis.MDA + "countryOfOrigin": p.country,
        }
        for p in products
    }
    parties = {
        p.manufacturer.pgln: {
            epcis.MDA + "name": p.manufacturer.name,
            epcis.MDA + "countryCode": p.manufacturer.country,
        }
        for p in products
    }
    return [
        epcis.vocabulary(epcis.VTYPE_CLASS, classes),
        epcis.vocabulary(epcis.VTYPE_PARTY, parties),
    ]


class _CebWriter:
    """Buffers records per message type and writes 100-record messages."""

    PARTS: ClassVar[dict[str, Callable[[Transaction], Record | None]]] = {
        "CEB311": lambda tx: tx.order,
        "CEB411": lambda tx: tx.payment,
        "CEB511": lambda tx: tx.waybill,
        "CEB621": lambda tx: tx.inventory,
        "CEB622": lambda tx: tx.receipt,
    }

    # Who sends each message: the BaseTransfer copCode.
    SENDER_FIELD: ClassVar[dict[str, str]] = {
        "CEB311": "ebpCode", "CEB411": "payCode", "CEB511": "logisticsCode",
        "CEB621": "agentCode", "CEB622": "customsCode",
    }  # fmt: skip

    def __init__(self, out: Path, plan: WorldPlan) -> None:
        self.out = out
        self.plan = plan
        self.buffers: dict[str, list[Record]] = {code: [] for code in self.PARTS}
        self.files: dict[str, int] = dict.fromkeys(self.PARTS, 0)
        for code in self.PARTS:
            (out / "ceb" / code).mkdir(parents=True, exist_ok=True)

    def add(self, tx: Transaction) -> None:
        for code, part in self.PARTS.items():
            record = part(tx)
            if record is not None:
                self.buffers[code].append(record)
                if len(self.buffers[code]) == MAX_RECORDS_PER_MESSAGE:
                    self.flush(code)

    def flush(self, code: str) -> None:
        records = self.buffers[code]
        if not records:
            return
        self.files[code] += 1
        number = self.files[code]
        sender = records[0].head.get(self.SENDER_FIELD[code], "")
        base = {"copCode": sender, "copName": "", "dxpMode": "DXP",
                "dxpId": f"DXPENT{sender}", "note": ""}  # fmt: skip
        guid = str(uuid.uuid5(_EVENT_NS, f"{self.plan.seed}:{code}:{number}")).upper()
        path = self.out / "ceb" / code / f"{code}_{number:06d}.xml"
        path.write_bytes(write_message(code, records, base, guid))
        self.buffers[code] = []


def write_registry(plan: WorldPlan, path: Path) -> None:
    """The enterprise filing list (企业备案名录): customs code, USCC, name, role."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REGISTRY_HEADER)
        for role, enterprises in sorted(plan.enterprises.items()):
            extra = [plan.late_seller] if role == "ebc" and plan.late_seller else []
            for enterprise in [*enterprises, *extra]:
                writer.writerow([enterprise.code, enterprise.uscc, enterprise.name, role])


def write_world(orders: int, seed: int, out: Path, *, stories: bool = True) -> dict[str, Any]:
    """Generate a world into ``out`` and return (and write) its manifest.

    ``stories=False`` writes the same kind of world without any injected risk story.
    """
    plan = plan_world(orders, seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "epcis").mkdir(exist_ok=True)
    defective = defective_lot_story(plan)
    recalled = set(defective["output_batches"])
    recall_orders: list[str] = []
    lot_orders: dict[str, list[str]] = {}
    writer = _CebWriter(out, plan)
    for tx in iter_transactions(plan, stories):
        writer.add(tx)
        head = tx.order.head
        lots = head["batchNumbers"].split(",")
        keys = {f"0{line['barCode']}:{lot}" for line, lot in zip(tx.order.lines, lots, strict=True)}
        order_key = f"{head['ebpCode']}:{head['orderNo']}"
        for key in sorted(keys):
            lot_orders.setdefault(key, []).append(order_key)
        if keys & recalled:
            recall_orders.append(order_key)
    for code in writer.PARTS:
        writer.flush(code)
    events = list(production_events(plan))
    created = "2026-11-20T00:00:00.000Z"
    vocabularies = master_data(plan)
    for number, start in enumerate(range(0, len(events), EVENTS_PER_DOCUMENT), 1):
        doc = epcis.document(events[start : start + EVENTS_PER_DOCUMENT], vocabularies, created)
        path = out / "epcis" / f"production_{number:04d}.jsonld"
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    taken = {defective["batch"], *recalled}
    shipped, found = logistics_events(plan, lot_orders, stories, taken)
    # Apart from the production documents, so that they keep their events.
    (out / "logistics").mkdir(exist_ok=True)
    doc = epcis.document(shipped, vocabularies, created)
    (out / "logistics" / "shipping_0001.jsonld").write_text(
        json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    write_registry(plan, out / "registry" / REGISTRY_FILE)
    defective["recall_orders"] = len(recall_orders)
    defective["sample_orders"] = recall_orders[:5]
    manifest = {
        "generator": "qtrace generate",
        "seed": seed,
        "orders": orders,
        "files": {**writer.files, "EPCIS": -(-len(events) // EVENTS_PER_DOCUMENT)},
        "counts": {
            "orders": orders,
            "lots": len(plan.all_lots),
            "products": len(plan.products) + len(plan.ingredients),
            "buyers": len(plan.buyers),
            "production_events": len(events),
            "logistics_events": len(shipped),
        },
        "stories": {"defective_lot": defective, **plan.stories, **found} if stories else {},
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return manifest
