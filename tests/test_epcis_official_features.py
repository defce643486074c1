"""qtrace accepts every feature the official GS1 EPCIS 2.0 examples use.

The documents in tests/data/epcis/official_features are qtrace's own (see the README
there); together they use each member the current official schema allows in a sensor
report and sensor metadata — sensor metadata such as bizRules, deviceID and rawData inside a
sensorReport among them — every event type, and the other features of the official
examples.  The JSON-LD and XML serialisations of the same events must hash alike.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from traceability.epcis.errors import EpcisError
from traceability.epcis.hashing import hash_id
from traceability.epcis.model import EVENT_TYPES, Document
from traceability.epcis.parse import json_document, parse_document
from traceability.epcis.validate import check_document, document_problems
from traceability.epcis.vocab import official_schema

DATA = Path(__file__).parent / "data" / "epcis" / "official_features"
DOCUMENTS = sorted(p for p in DATA.iterdir() if p.suffix in (".jsonld", ".json", ".xml"))
SENSOR_DOC = DATA / "sensor-report-metadata.jsonld"


def _parsed(path: Path) -> Document:
    return parse_document(path.read_bytes())


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_feature_document_is_valid(path: Path) -> None:
    document = _parsed(path)
    assert document_problems(document) == []
    check_document(document)


def test_json_ld_and_xml_of_the_same_events_hash_alike() -> None:
    json_events = _parsed(DATA / "all-event-types.jsonld").events
    xml_events = _parsed(DATA / "all-event-types.xml").events
    assert [e.type for e in json_events] == list(EVENT_TYPES)
    assert [hash_id(e.body, e.namespaces) for e in json_events] == [
        hash_id(e.body, e.namespaces) for e in xml_events
    ]


def _members(documents: list[Document], kind: str) -> set[str]:
    found: set[str] = set()
    for document in documents:
        for event in document.events:
            for element in event.body.get("sensorElementList") or []:
                items = element.get(kind) or []
                for item in items if isinstance(items, list) else [items]:
                    found.update(item)
    return found


def _allowed(definition: str) -> set[str]:
    return set(official_schema()["definitions"][definition]["properties"])


def test_documents_use_every_sensor_member_of_the_official_schema() -> None:
    documents = [_parsed(p) for p in DOCUMENTS]
    assert _allowed("sensorReport") <= _members(documents, "sensorReport")
    assert _allowed("sensorMetadata") <= _members(documents, "sensorMetadata")


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def test_documents_use_the_other_features_of_the_official_examples() -> None:
    documents = [_parsed(p) for p in DOCUMENTS]
    keys = {key for d in documents for e in d.events for key in _walk(e.body)}
    assert {"certificationInfo", "persistentDisposition", "errorDeclaration",
            "correctiveEventIDs", "ilmd", "sourceList", "destinationList",
            "bizTransactionList", "quantityList", "childQuantityList", "inputQuantityList",
            "outputQuantityList", "transformationID", "eventID", "recordTime",
            "cbvmda:lotNumber"} <= keys  # fmt: skip
    assert {d.kind for d in documents} == {"EPCISDocument", "EPCISQueryDocument"}
    assert {d.syntax for d in documents} == {"json", "xml"}
    assert any(d.vocabularies for d in documents)
    assert {e.type for d in documents for e in d.events} == set(EVENT_TYPES)


def _sensor_doc() -> dict[str, Any]:
    return orjson.loads(SENSOR_DOC.read_bytes())


def _report(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["epcisBody"]["eventList"][0]["sensorElementList"][0]["sensorReport"][0]


def test_sensor_metadata_in_a_sensor_report_is_checked_like_any_member() -> None:
    doc = _sensor_doc()
    _report(doc)["bizRules"] = "not a uri"
    with pytest.raises(EpcisError) as caught:
        check_document(json_document(copy.deepcopy(doc)))
    assert any("/sensorReport/0/bizRules" in str(p) and "URI" in str(p)
               for p in caught.value.problems)  # fmt: skip


def test_an_unknown_sensor_report_member_is_named_in_chinese() -> None:
    doc = _sensor_doc()
    _report(doc)["bizRule"] = "https://qtrace.example.cn/rules/cold-chain-2-8"
    problems = [str(p) for p in document_problems(json_document(doc))]
    assert any("不认识的字段 'bizRule'" in p for p in problems), problems


def _with_biz_rules(path: Path, index: int, rules: str) -> tuple[str, str]:
    event = _parsed(path).events[index]
    changed = copy.deepcopy(event.body)
    changed["sensorElementList"][0]["sensorReport"][0]["bizRules"] = rules
    return hash_id(event.body, event.namespaces), hash_id(changed, event.namespaces)


def test_sensor_report_biz_rules_is_hashed_as_by_the_reference() -> None:
    """Hashed where the sensor element has no extension; the reference drops it otherwise."""
    rules = "https://qtrace.example.cn/rules/cold-chain-0-4"
    before, after = _with_biz_rules(DATA / "all-event-types.jsonld", 4, rules)
    assert before != after
    before, after = _with_biz_rules(SENSOR_DOC, 0, rules)  # qt: extensions in the element
    assert before == after
