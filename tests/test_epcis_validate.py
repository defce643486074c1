"""Validation with the official EPCIS 2.0 JSON Schema (formats checked) and the CBV lists."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from traceability.epcis.errors import EpcisError
from traceability.epcis.parse import json_document, parse_document
from traceability.epcis.validate import check_document, document_problems

DATA = Path(__file__).parent / "data" / "epcis" / "reference" / "examples"


@pytest.mark.parametrize("path", sorted(p for p in DATA.iterdir() if p.suffix != ".hashes"),
                         ids=lambda p: p.name)  # fmt: skip
def test_reference_examples_are_valid(path: Path) -> None:
    assert document_problems(parse_document(path.read_bytes())) == []


def _doc(**changes: Any) -> dict[str, Any]:
    doc = orjson.loads((DATA / "ObjectEvent_all_possible_fields.json").read_bytes())
    event = doc["epcisBody"]["eventList"][0]
    for key, value in changes.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return doc


def _problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(EpcisError) as caught:
        check_document(json_document(copy.deepcopy(doc)))
    assert caught.value.exception == "ValidationException" and caught.value.status == 400
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("changes", "pointer", "words"),
    [
        ({"eventTime": None}, "/epcisBody/eventList/0", "缺少必填字段 eventTime"),
        ({"action": None}, "/epcisBody/eventList/0", "缺少必填字段 action"),
        ({"eventTime": "yesterday"}, "/eventTime", "date-time"),
        ({"eventTimeZoneOffset": "+25:00"}, "/eventTimeZoneOffset", "格式不正确"),
        ({"bizStep": "shelving"}, "/bizStep", "不是 CBV 标准值，也不是 URI"),
        ({"bizStep": "urn:epcglobal:cbv:bizstep:shelving"}, "/bizStep", "不在 CBV 2.0 代码表"),
        ({"disposition": "https://ref.gs1.org/cbv/Disp-nonsense"}, "/disposition",
         "不在 CBV 2.0 代码表"),
        ({"readPoint": {"id": "not a uri"}}, "/readPoint/id", "URI"),
        ({"action": "MOVE"}, "/action", "MOVE"),
        ({"myField": "x"}, "/epcisBody/eventList/0", "不认识的字段 'myField'"),
        ({"quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.1",
                            "quantity": "ten"}]},
         "/quantityList/0/quantity", "数字"),
    ],
)  # fmt: skip
def test_each_problem_is_named_with_its_place(
    changes: dict[str, Any], pointer: str, words: str
) -> None:
    problems = _problems(_doc(**changes))
    assert any(pointer in p and words in p for p in problems), problems


def test_custom_vocabulary_uris_are_accepted() -> None:
    doc = _doc(bizStep="https://example.com/vocab/bizstep/blending",
               disposition="urn:example:disp:quarantined")  # fmt: skip
    assert document_problems(json_document(doc)) == []


def test_every_bad_event_is_reported_at_once() -> None:
    doc = _doc(action=None)
    doc["epcisBody"]["eventList"].append(copy.deepcopy(doc["epcisBody"]["eventList"][0]))
    doc["epcisBody"]["eventList"][1]["bizStep"] = "shelving"
    problems = _problems(doc)
    assert any("/eventList/0" in p for p in problems) and any("/eventList/1" in p for p in problems)


def test_document_envelope_is_checked_too() -> None:
    doc = _doc()
    del doc["schemaVersion"]
    assert any("schemaVersion" in p for p in _problems(doc))


def test_generator_documents_are_valid(tmp_path: Path) -> None:
    from traceability.demo.generator.files import write_world

    write_world(40, 5, tmp_path)
    for path in sorted((tmp_path / "epcis").iterdir()):
        assert document_problems(parse_document(path.read_bytes())) == [], path
