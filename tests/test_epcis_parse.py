"""Reading EPCIS documents: JSON-LD and XML agree, and hostile or broken input is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from traceability.epcis.errors import EpcisError
from traceability.epcis.hashing import hash_id
from traceability.epcis.parse import parse_document

DATA = Path(__file__).parent / "data" / "epcis" / "reference" / "examples"
PAIRS = ["ObjectEvent_all_possible_fields", "AggregationEvent_all_possible_fields",
         "TransactionEvent_all_possible_fields", "TransformationEvent_all_possible_fields",
         "AssociationEvent_all_possible_fields", "epcisDocWithVariousEventTypes"]  # fmt: skip


def _json_twin(name: str) -> Path:
    return next(p for p in DATA.glob(f"{name}.*") if p.suffix in (".json", ".jsonld"))


@pytest.mark.parametrize("name", PAIRS)
def test_xml_and_json_give_the_same_events(name: str) -> None:
    from_json = parse_document(_json_twin(name).read_bytes())
    from_xml = parse_document((DATA / f"{name}.xml").read_bytes())
    assert from_xml.syntax == "xml" and from_json.syntax == "json"
    assert [hash_id(e.body, e.namespaces) for e in from_xml.events] == [
        hash_id(e.body, e.namespaces) for e in from_json.events
    ]
    for x, j in zip(from_xml.events, from_json.events, strict=True):
        # The normalised form uses bare CBV terms and numbers whatever the syntax.
        for field in ("type", "action", "bizStep", "disposition"):
            assert x.body.get(field) == j.body.get(field), field


def test_xml_standard_values_become_bare_cbv_terms_and_numbers() -> None:
    event = parse_document((DATA / "ObjectEvent_all_possible_fields.xml").read_bytes()).events[0]
    body = event.body
    assert body["bizStep"] == "receiving" and body["disposition"] == "in_progress"
    assert body["quantityList"][0]["quantity"] == 200.0
    assert body["bizTransactionList"][0]["type"] == "po"
    assert body["sourceList"][0]["type"] == "location"
    assert body["persistentDisposition"]["set"] == ["completeness_verified"]
    report = body["sensorElementList"][0]["sensorReport"][0]
    assert report["type"] == "Temperature" and report["booleanValue"] is True
    assert body["ilmd"]["cbvmda:lotNumber"] == "ABC123"
    assert event.namespaces["cbvmda"] == "urn:epcglobal:cbv:mda"


HOSTILE = {
    "doctype": b'<?xml version="1.0"?><!DOCTYPE x [<!ELEMENT x ANY>]>'
               b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"/>',
    "external entity": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                       b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2">&e;'
                       b"</epcis:EPCISDocument>",
    "entity bomb": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                   b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                   b"<lolz>&lol2;</lolz>",
    "network dtd": b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">'
                   b"<x/>",
}  # fmt: skip


@pytest.mark.parametrize("data", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_xml_is_refused_before_parsing(data: bytes) -> None:
    with pytest.raises(EpcisError) as caught:
        parse_document(data)
    assert caught.value.exception == "ValidationException"
    assert "DTD" in str(caught.value)


BROKEN = {
    "malformed json": (b'{"type": "EPCISDocument", ', "JSON 格式错误"),
    "malformed xml": (b"<epcis:EPCISDocument><EventList></epcis:EPCISDocument>", "XML 格式错误"),
    "gbk bytes in json": ('{"type": "EPCISDocument", "x": "批次"}'.encode("gbk"), "UTF-8"),
    "undeclared gbk xml": ('<?xml version="1.0"?><a>批次</a>'.encode("gbk"), "编码"),
    "not a document": (b'{"type": "ObjectEvent"}', "EPCISDocument"),
    "no event list": (b'{"type": "EPCISDocument", "epcisBody": {}}', "eventList"),
    "neither": (b"hello", "格式"),
    "empty": (b"   ", "空"),
}


@pytest.mark.parametrize(("data", "words"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_input_gets_a_clear_zh_message(data: bytes, words: str) -> None:
    with pytest.raises(EpcisError) as caught:
        parse_document(data)
    assert words in str(caught.value)


def test_oversize_documents_are_refused_with_the_capture_limit_exception() -> None:
    with pytest.raises(EpcisError) as caught:
        parse_document(b"{" + b" " * 2000 + b"}", max_bytes=1000)
    assert caught.value.exception == "CaptureLimitExceededException"
    assert caught.value.status == 413


def test_gbk_declared_xml_is_read() -> None:
    xml = (
        '<?xml version="1.0" encoding="GBK"?>'
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:x="urn:x:">'
        "<EPCISBody><EventList><ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime>"
        "<eventTimeZoneOffset>+08:00</eventTimeZoneOffset><epcList/><action>OBSERVE</action>"
        "<x:note>批次</x:note></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
    ).encode("gbk")
    event = parse_document(xml).events[0]
    assert event.body["x:note"] == "批次"
