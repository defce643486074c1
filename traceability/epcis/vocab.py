"""CBV 2.0 code lists and the namespaces EPCIS documents use.

The code lists are the ``enum``s of the official JSON Schema (schema/: the vendored file plus
qtrace's patch that brings it level with the current gs1/EPCIS schema), read once, so that
the schema and the CBV check can never disagree.  A standard value may arrive in
four spellings: bare (``receiving``, the JSON-LD form), a CBV web URI
(``https://ref.gs1.org/cbv/BizStep-receiving``), a CURIE (``cbv:BizStep-receiving``) or an
EPCIS 1.x URN (``urn:epcglobal:cbv:bizstep:receiving``, the XML form).  ``to_bare`` folds
them all to the bare term; anything else must be a URI of the sender's own vocabulary.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).with_name("schema")
SCHEMA_PATH = SCHEMA_DIR / "epcis-json-schema.json"
SCHEMA_PATCH_PATH = SCHEMA_DIR / "epcis-json-schema.patch.json"
CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://ref.gs1.org/voc/"
EPCIS_NS = "urn:epcglobal:epcis:xsd:2"
CBVMDA = "urn:epcglobal:cbv:mda"

# Prefixes every document may use without declaring them.  The hash of an extension key
# ``cbvmda:lotNumber`` is ``{urn:epcglobal:cbv:mda}lotNumber`` whether the document came
# as XML (where the namespace has no trailing separator) or as JSON-LD.
DEFAULT_NAMESPACES: dict[str, str] = {
    "cbvmda": CBVMDA,
    "gs1": GS1_VOC,
    "cbv": CBV,
    "epcis": "https://ref.gs1.org/epcis/",
}


@dataclass(frozen=True, slots=True)
class CodeList:
    """One CBV vocabulary: its schema definition, web-URI prefix and legacy URN prefix."""

    name: str
    zh: str
    definition: str
    web_prefix: str
    urn_prefix: str | None
    curie_prefix: str

    @property
    def terms(self) -> frozenset[str]:
        return _enum_terms(self.definition)


CODE_LISTS: dict[str, CodeList] = {
    c.name: c
    for c in (
        CodeList("bizStep", "业务步骤", "bizStep", CBV + "BizStep-",
                 "urn:epcglobal:cbv:bizstep:", "cbv:BizStep-"),
        CodeList("disposition", "处置状态", "disposition", CBV + "Disp-",
                 "urn:epcglobal:cbv:disp:", "cbv:Disp-"),
        CodeList("bizTransactionType", "业务交易类型", "bizTransaction-type", CBV + "BTT-",
                 "urn:epcglobal:cbv:btt:", "cbv:BTT-"),
        CodeList("sourceDestType", "来源/去向类型", "source-dest-type", CBV + "SDT-",
                 "urn:epcglobal:cbv:sdt:", "cbv:SDT-"),
        CodeList("errorReason", "错误声明原因", "error-reason", CBV + "ER-",
                 "urn:epcglobal:cbv:er:", "cbv:ER-"),
        CodeList("component", "传感器分量", "component", CBV + "Comp-",
                 "urn:epcglobal:cbv:comp:", "cbv:Comp-"),
        CodeList("measurementType", "测量类型", "measurementType", GS1_VOC, None, "gs1:"),
        CodeList("sensorAlertType", "传感器告警类型", "sensorAlertType", GS1_VOC, None, "gs1:"),
    )
}  # fmt: skip

# EPCIS 1.x URNs of standard vocabularies and their CBV 2.0 web URIs (hash rule 14).
URN_TO_WEB: tuple[tuple[str, str], ...] = tuple(
    (c.urn_prefix, c.web_prefix) for c in CODE_LISTS.values() if c.urn_prefix
)


# GS1 Web Vocabulary properties whose values are code-list terms, with the prefix of their
# terms' local names.  A bare code under one of these (unprefixed) property names stands for
# the term's IRI: ``"locationRoleType": "BACKROOM"`` is
# ``https://ref.gs1.org/voc/LocationRoleType-BACKROOM``, as the GS1 Web Vocabulary JSON-LD
# context expands it (the hash reference implementation's vectors depend on it).
GS1_CODE_PROPERTIES: dict[str, str] = {
    "locationRoleType": "LocationRoleType-",
    "regulationType": "RegulationTypeCode-",
    "regulatoryIdentifierType": "RegulatoryIdentifierType-",
    "acceptedPaymentMethod": "PaymentMethod-",
    "additiveLevelOfContainment": "LevelOfContainmentCode-",
    "allergenLevelOfContainmentCode": "LevelOfContainmentCode-",
    "allergenType": "AllergenTypeCode-",
}
_CODE = re.compile(r"[A-Za-z0-9_%.-]+")


def _load(path: Path) -> Any:
    with path.open("rb") as handle:
        return json.load(handle)


def apply_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """Apply RFC 6902 ``add`` operations in place (all the schema patch needs)."""
    for operation in operations:
        if operation.get("op") != "add":
            raise ValueError(f"unsupported patch operation {operation.get('op')!r}")
        *parents, last = [
            part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]
        ]
        target = document
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target.insert(len(target) if last == "-" else int(last), operation["value"])
        else:
            target[last] = operation["value"]
    return document


@functools.cache
def official_schema() -> dict[str, Any]:
    """The vendored EPCIS 2.0 JSON Schema with qtrace's patch applied (see schema/README.md)."""
    return apply_patch(_load(SCHEMA_PATH), _load(SCHEMA_PATCH_PATH)["operations"])


@functools.cache
def _enum_terms(definition: str) -> frozenset[str]:
    spec = official_schema()["definitions"][definition]
    terms: set[str] = set()
    for option in spec.get("anyOf", [spec]):
        terms.update(option.get("enum", ()))
    return frozenset(terms)


def to_bare(list_name: str, value: str) -> str:
    """Fold any spelling of a standard term to the bare term; other values unchanged."""
    code = CODE_LISTS[list_name]
    for prefix in (code.web_prefix, code.curie_prefix, code.urn_prefix):
        if prefix and value.startswith(prefix):
            term = value[len(prefix) :]
            if term in code.terms:
                return term
    return value


def standard_term_iri(list_name: str, value: str) -> str | None:
    """The CBV/GS1 web URI of a bare standard term (``receiving``), or None if not a term."""
    code = CODE_LISTS[list_name]
    return code.web_prefix + value if value in code.terms else None


def gs1_code_iri(prop: str, value: str) -> str | None:
    """The GS1 Web Vocabulary IRI of a bare code under a code-list property, else None."""
    prefix = GS1_CODE_PROPERTIES.get(prop)
    if prefix is None or not _CODE.fullmatch(value):
        return None
    return GS1_VOC + (value if value.startswith(prefix) else prefix + value)


def unknown_standard_term(list_name: str, value: str) -> str | None:
    """The term, if ``value`` claims the CBV namespace but is not in the code list."""
    code = CODE_LISTS[list_name]
    if value in code.terms:
        return None
    prefixes = [code.curie_prefix, code.urn_prefix]
    if code.web_prefix == CBV + code.curie_prefix.removeprefix("cbv:"):
        prefixes.append(code.web_prefix)
    for prefix in prefixes:
        if prefix and value.startswith(prefix):
            term = value[len(prefix) :]
            return None if term in code.terms else term
    return None
