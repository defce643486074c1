"""GS1 EPCIS 2.0 JSON-LD documents: write production events, read them back.

Only what the traceability core needs is here: commissioning ObjectEvents of lots
(LGTIN, class-level quantities), TransformationEvents from ingredient lots to product
lots, and the master data (EPCClass and Party vocabularies) that names products and
manufacturers.  Full capture with schema validation and hash IDs is the ingestion issue.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from traceability.identifiers import gtin_check_digit

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
MDA = "urn:epcglobal:cbv:mda#"
VTYPE_CLASS = "urn:epcglobal:epcis:vtype:EPCClass"
VTYPE_PARTY = "urn:epcglobal:epcis:vtype:Party"

# Master data attribute URIs, and the short names the mapping layer uses.
_ATTRIBUTE_NAMES = {
    MDA + "descriptionShort": "name",
    MDA + "countryOfOrigin": "countryOfOrigin",
    MDA + "name": "name",
    MDA + "countryCode": "country",
}


class EpcisError(ValueError):
    """An EPCIS document cannot be read."""


def idpat_to_gtin(pattern: str) -> str:
    """``urn:epc:idpat:sgtin:4512345.012345.*`` to its GTIN-14."""
    prefix = "urn:epc:idpat:sgtin:"
    if not pattern.startswith(prefix):
        raise EpcisError(f"不是 SGTIN 模式: {pattern!r}")
    company, indicator_item = pattern[len(prefix) :].split(".")[:2]
    body = indicator_item[0] + company + indicator_item[1:]
    return body + gtin_check_digit(body)


def document(
    events: Iterable[dict[str, Any]],
    vocabularies: list[dict[str, Any]],
    created: str,
) -> dict[str, Any]:
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created,
        "epcisHeader": {"epcisMasterData": {"vocabularyList": vocabularies}},
        "epcisBody": {"eventList": list(events)},
    }


def vocabulary(vtype: str, elements: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A vocabulary of ``id -> {attribute URI: value}``."""
    return {
        "type": vtype,
        "vocabularyElementList": [
            {"id": element_id, "attributes": [{"id": k, "attribute": v} for k, v in attrs.items()]}
            for element_id, attrs in elements.items()
        ],
    }


def read_document(data: bytes) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """Events and master data (keyed by party URN or GTIN-14) of a JSON-LD document."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EpcisError(f"EPCIS JSON 格式错误: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "EPCISDocument":
        raise EpcisError("不是 EPCISDocument")
    events = doc.get("epcisBody", {}).get("eventList")
    if not isinstance(events, list):
        raise EpcisError("EPCISDocument 缺少 epcisBody.eventList")
    master: dict[str, dict[str, str]] = {}
    header = doc.get("epcisHeader", {}).get("epcisMasterData", {})
    for vocab in header.get("vocabularyList", []):
        for element in vocab.get("vocabularyElementList", []):
            element_id = element.get("id", "")
            attrs = {
                _ATTRIBUTE_NAMES[a["id"]]: a.get("attribute")
                for a in element.get("attributes", [])
                if a.get("id") in _ATTRIBUTE_NAMES
            }
            if vocab.get("type") == VTYPE_CLASS and element_id.startswith("urn:epc:idpat:sgtin:"):
                element_id = idpat_to_gtin(element_id)
            master[element_id] = attrs
    return events, master
