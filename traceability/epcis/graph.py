"""EPCIS events as graph records: lots, products and the enterprises that make them.

An LGTIN (GTIN + lot, as an EPC class URN or a GS1 Digital Link) is a ``Batch`` keyed
``GTIN-14:lot``, the same key CEB orders use, so production events and orders meet in one
graph; a GLN/PGLN party is an ``Enterprise`` keyed by its 13-digit GLN.

* A commissioning ObjectEvent (action ADD) of LGTIN quantities: Batch + Product
  (HAS_BATCH), PRODUCED by the owning party of its sourceList.
* A TransformationEvent: every input lot TRANSFORMED_INTO every output lot; the outputs
  are produced by the owning party.
* Other events (shipping, receiving, aggregation, transactions …) name lots and parties:
  the lots' Batch/Product nodes and the parties' Enterprise nodes are upserted, but
  graph_schema declares no relationship for custody or shipment yet, so no edge is added.
* An event with an errorDeclaration contributes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from traceability.epcis import digital_link
from traceability.formats.ceb.times import CHINA_TZ
from traceability.ingest.mapping import GraphBatch, MappingError
from traceability.store.port import NodeRef

_LGTIN = re.compile(r"https://id\.gs1\.org/01/(\d{14})/10/(.+)\Z")
_PARTY = re.compile(r"https://id\.gs1\.org/(?:417|414)/(\d{13})(?:/254/.*)?\Z")


def lgtin_to_key(uri: str) -> tuple[str, str]:
    """An LGTIN (``urn:epc:class:lgtin:…`` or Digital Link ``…/01/…/10/…``) to (GTIN-14, lot)."""
    match = _LGTIN.match(digital_link.canonical(uri) or "")
    if match is None:
        raise MappingError(f"不是 LGTIN 批次标识: {uri!r}")
    return match[1], unquote(match[2])


def party_to_gln(uri: str) -> str:
    """A PGLN/SGLN URN or GLN Digital Link (``…/417/…``, ``…/414/…``) to the 13-digit GLN."""
    match = _PARTY.match(digital_link.canonical(uri) or "")
    if match is None:
        raise MappingError(f"不是 PGLN/SGLN/GLN: {uri!r}")
    return match[1]


def china_time(value: str | None) -> str | None:
    """EPCIS timestamps (any offset) in China time, to sort with CEB times."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"eventTime 格式错误: {value!r}") from None
    if moment.tzinfo is None:
        raise MappingError(f"eventTime 缺少时区: {value!r}")
    return moment.astimezone(CHINA_TZ).isoformat()


def _lots(quantities: Iterable[Any] | None) -> list[tuple[str, str]]:
    """The LGTIN lots of a quantity list; class patterns (no lot) are not batches."""
    lots = []
    for element in quantities or ():
        if isinstance(element, Mapping) and isinstance(element.get("epcClass"), str):
            try:
                lots.append(lgtin_to_key(element["epcClass"]))
            except MappingError:
                continue
    return lots


def _party(batch: GraphBatch, uri: str, master: Mapping[str, Mapping[str, str]]) -> NodeRef | None:
    try:
        gln = party_to_gln(uri)
    except MappingError:
        return None
    attrs = master.get(uri) or master.get(gln) or {}
    return batch.node(
        "Enterprise", gln, gln=gln, name=attrs.get("name"), country=attrs.get("country")
    )


def _owner(event: Mapping[str, Any]) -> str | None:
    for item in event.get("sourceList") or ():
        if isinstance(item, Mapping) and item.get("type") == "owning_party":
            return item.get("source")
    return None


def event_records(
    event: Mapping[str, Any],
    master: Mapping[str, Mapping[str, str]],
    event_id: str | None = None,
) -> GraphBatch:
    """The graph records one normalised event asserts (nothing if declared in error)."""
    batch = GraphBatch()
    if event.get("errorDeclaration"):
        return batch
    kind = event.get("type")
    time = china_time(event.get("eventTime"))
    event_id = event_id or event.get("eventID")
    owner_uri = _owner(event)
    maker = _party(batch, owner_uri, master) if owner_uri else None
    found = event.get("ilmd")
    ilmd: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    if (
        kind == "ObjectEvent"
        and event.get("action") == "ADD"
        and event.get("bizStep") in ("commissioning", None)
    ):
        for gtin, lot in _lots(event.get("quantityList")):
            _lot(batch, gtin, lot, time, event_id, ilmd, maker, master)
    elif kind == "TransformationEvent":
        inputs = _lots(event.get("inputQuantityList"))
        for gtin, lot in _lots(event.get("outputQuantityList")):
            out = _lot(batch, gtin, lot, time, event_id, ilmd, maker, master)
            for in_gtin, in_lot in inputs:
                source = batch.node("Batch", f"{in_gtin}:{in_lot}", gtin=in_gtin, lot=in_lot)
                batch.edge("TRANSFORMED_INTO", source, out, eventID=event_id, time=time)
    else:
        for field in ("quantityList", "childQuantityList", "inputQuantityList",
                      "outputQuantityList"):  # fmt: skip
            for gtin, lot in _lots(event.get(field)):
                batch.node("Batch", f"{gtin}:{lot}", gtin=gtin, lot=lot)
        for field, member in (("sourceList", "source"), ("destinationList", "destination")):
            for item in event.get(field) or ():
                if (
                    isinstance(item, Mapping)
                    and item.get("type") in ("owning_party", "possessing_party")
                    and isinstance(item.get(member), str)
                ):
                    _party(batch, item[member], master)
    return batch


def _lot(
    batch: GraphBatch,
    gtin: str,
    lot: str,
    time: str | None,
    event_id: str | None,
    ilmd: Mapping[str, Any],
    maker: NodeRef | None,
    master: Mapping[str, Mapping[str, str]],
) -> NodeRef:
    product_attrs = master.get(gtin, {})
    product = batch.node(
        "Product",
        gtin,
        name=product_attrs.get("name"),
        originCountry=product_attrs.get("countryOfOrigin"),
    )
    expiry = ilmd.get("cbvmda:itemExpirationDate") or ilmd.get("cbvmda:bestBeforeDate")
    lot_ref = batch.node(
        "Batch",
        f"{gtin}:{lot}",
        gtin=gtin,
        lot=lot,
        time=time,
        eventID=event_id,
        expiry=expiry if isinstance(expiry, str) else None,
    )
    batch.edge("HAS_BATCH", product, lot_ref)
    if maker:
        batch.edge("PRODUCED", maker, lot_ref)
    return lot_ref


def epcis_event(event: Mapping[str, Any], master: Mapping[str, Mapping[str, str]]) -> GraphBatch:
    """Drop-in replacement for ``traceability.ingest.mapping.epcis_event``."""
    return event_records(event, master)
