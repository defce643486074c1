"""CBV 2.0 code lists and the namespaces EPCIS documents use.

The code lists are the ``enum``s of the vendored official JSON Schema (schema/), read once,
so that the schema and the CBV check can never disagree.  A standard value may arrive in
four spellings: bare (``receiving``, the JSON-LD form), a CBV web URI
(``https://ref.gs1.org/cbv/BizStep-receiving``), a CURIE (``cbv:BizStep-receiving``) or an
EPCIS 1.x URN (``urn:epcglobal:cbv:bizstep:receiving``, the XML form).  ``to_bare`` folds
them all to the bare term; anything else must be a URI of the sender's own vocabulary.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("schema") / "epcis-json-schema.json"
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


@functools.cache
def official_schema() -> dict[str, Any]:
    with SCHEMA_PATH.open("rb") as handle:
        return json.load(handle)


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
