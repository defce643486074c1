"""Write EPCIS 2.0 JSON-LD documents (the generator's side) and read their master data.

``document`` and ``vocabulary`` build what :mod:`traceability.demo.generator.files` writes;
``read_document`` returns a document's events and master data keyed by party URN or
GTIN-14, which is what the graph mapping names products and manufacturers from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from traceability.epcis.errors import EpcisError, validation
from traceability.epcis.parse import parse_document
from traceability.formats.identifiers import gtin_check_digit

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


def idpat_to_gtin(pattern: str) -> str:
    """``urn:epc:idpat:sgtin:4512345.012345.*`` to its GTIN-14."""
    prefix = "urn:epc:idpat:sgtin:"
    if not pattern.startswith(prefix):
        raise validation(f"不是 SGTIN 模式: {pattern!r}")
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


def master_data(vocabularies: Iterable[Any]) -> dict[str, dict[str, str]]:
    """Master data keyed by party URN or GTIN-14, attributes by their short names."""
    master: dict[str, dict[str, str]] = {}
    for vocab in vocabularies:
        if not isinstance(vocab, dict):
            continue
        for element in vocab.get("vocabularyElementList") or []:
            if not isinstance(element, dict):
                continue
            element_id = str(element.get("id", ""))
            attrs: dict[str, Any] = {
                _ATTRIBUTE_NAMES[a["id"]]: a.get("attribute")
                for a in element.get("attributes") or []
                if isinstance(a, dict) and a.get("id") in _ATTRIBUTE_NAMES
            }
            if vocab.get("type") == VTYPE_CLASS and element_id.startswith("urn:epc:idpat:sgtin:"):
                try:
                    element_id = idpat_to_gtin(element_id)
                except (EpcisError, IndexError, ValueError):
                    continue
            master[element_id] = attrs
    return master


def read_document(data: bytes) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """Events (normalised JSON-LD) and master data of a JSON-LD or XML document."""
    parsed = parse_document(data)
    return [e.body for e in parsed.events], master_data(parsed.vocabularies)
