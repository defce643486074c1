"""Small EPCIS documents built in code, with answers known by construction."""

from __future__ import annotations

from typing import Any

from traceability.epcis.writer import EPCIS_CONTEXT

LGTIN_A = "urn:epc:class:lgtin:4012345.012345.L1"
LGTIN_B = "urn:epc:class:lgtin:4012345.067890.L2"
SGTIN_1 = "urn:epc:id:sgtin:4012345.012345.1001"
SGTIN_2 = "urn:epc:id:sgtin:4012345.012345.1002"
SGTIN_2_DL = "https://id.gs1.org/01/04012345123456/21/1002"
SSCC = "urn:epc:id:sscc:4012345.0000000001"
GRAI = "urn:epc:id:grai:4012345.00022.7"
GIAI = "urn:epc:id:giai:4012345.D1"
PLANT = "urn:epc:id:sgln:4012345.00001.0"
PLANT_DL = "https://id.gs1.org/414/4012345000016"
DOCK = "urn:epc:id:sgln:4012345.00002.0"
MAKER = "urn:epc:id:pgln:4012345.00000"
PO1 = "urn:epcglobal:cbv:bt:4012345000009:PO1"
BUYER = "urn:epc:id:pgln:4000001.00000"


def events() -> list[dict[str, Any]]:
    """Six events, one or more of each type, on consecutive days of January 2026."""
    return [
        {"type": "ObjectEvent", "eventTime": "2026-01-01T08:00:00+08:00",
         "eventTimeZoneOffset": "+08:00", "action": "ADD", "bizStep": "commissioning",
         "disposition": "active", "readPoint": {"id": PLANT}, "bizLocation": {"id": PLANT},
         "quantityList": [{"epcClass": LGTIN_A, "quantity": 100, "uom": "KGM"}],
         "sourceList": [{"type": "owning_party", "source": MAKER}],
         "bizTransactionList": [{"type": "po", "bizTransaction": PO1}],
         "ilmd": {"cbvmda:lotNumber": "L1"}},
        {"type": "AggregationEvent", "eventTime": "2026-01-02T08:00:00+08:00",
         "eventTimeZoneOffset": "+08:00", "action": "ADD", "bizStep": "packing",
         "parentID": SSCC, "childEPCs": [SGTIN_1, SGTIN_2], "readPoint": {"id": DOCK}},
        {"type": "TransactionEvent", "eventTime": "2026-01-03T08:00:00+08:00",
         "eventTimeZoneOffset": "+08:00", "action": "ADD", "bizStep": "shipping",
         "disposition": "in_transit", "epcList": [SGTIN_1], "readPoint": {"id": DOCK},
         "bizTransactionList": [
             {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO1"},
             {"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:INV1"}],
         "sourceList": [{"type": "owning_party", "source": MAKER}],
         "destinationList": [{"type": "owning_party", "destination": BUYER}]},
        {"type": "TransformationEvent", "eventTime": "2026-01-04T08:00:00+08:00",
         "eventTimeZoneOffset": "+08:00", "bizStep": "commissioning",
         "inputQuantityList": [{"epcClass": LGTIN_A, "quantity": 50, "uom": "KGM"}],
         "outputQuantityList": [{"epcClass": LGTIN_B, "quantity": 500}],
         "readPoint": {"id": PLANT}, "sourceList": [{"type": "owning_party", "source": MAKER}]},
        {"type": "AssociationEvent", "eventTime": "2026-01-05T08:00:00+08:00",
         "eventTimeZoneOffset": "+08:00", "action": "ADD", "bizStep": "assembling",
         "parentID": GRAI, "childEPCs": [GIAI], "readPoint": {"id": DOCK}},
        {"type": "ObjectEvent", "eventTime": "2026-01-06T08:00:00+08:00",
         "eventTimeZoneOffset": "+08:00", "action": "OBSERVE", "bizStep": "receiving",
         "disposition": "in_progress", "epcList": [SGTIN_2_DL], "readPoint": {"id": PLANT_DL}},
    ]  # fmt: skip


def document(items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-07T00:00:00Z",
        "epcisBody": {"eventList": events() if items is None else items},
    }
