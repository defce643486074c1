"""The EPCIS REST binding at /epcis, through Flask's test client."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from config import load_settings
from tests import epcis_fixtures as fx
from traceability.app.web import close_app, create_app

DATA = Path(__file__).parent / "data" / "epcis" / "reference" / "examples"
LD = "application/ld+json"


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    environ = {"QTRACE_DATA_DIR": str(tmp_path), "QTRACE_EPCIS__MAX_BYTES": "200000"}
    app = create_app(load_settings(environ=environ))
    yield app
    close_app(app)


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    return app.test_client()


def assert_problem(response: Any, status: int, exception: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["type"] == f"epcisException:{exception}"
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def capture(app: Flask, http: FlaskClient, data: bytes, content_type: str = LD,
            **headers: str) -> dict[str, Any]:  # fmt: skip
    response = http.post("/epcis/capture", data=data, content_type=content_type, headers=headers)
    assert response.status_code == 202, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith("/epcis/capture/")
    app.extensions["qtrace"].feature("epcis").capture.wait()
    job = http.get(location)
    assert job.status_code == 200
    return job.get_json(force=True)


@pytest.fixture
def loaded(app: Flask, http: FlaskClient) -> FlaskClient:
    job = capture(app, http, orjson.dumps(fx.document()))
    assert job["success"] is True and job["eventsCaptured"] == 6, job
    return http


def _events(http: FlaskClient, query: str) -> list[dict[str, Any]]:
    response = http.get(f"/epcis/events?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json(force=True)
    assert body["type"] == "EPCISQueryDocument"
    return body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def _days(events: list[dict[str, Any]]) -> list[int]:
    return sorted(int(e["eventTime"][8:10]) for e in events)


def test_capture_job_then_status(app: Flask, http: FlaskClient) -> None:
    job = capture(app, http, orjson.dumps(fx.document()))
    assert job["running"] is False and job["success"] is True
    assert job["captureErrorBehaviour"] == "rollback" and "finishedAt" in job
    again = capture(app, http, orjson.dumps(fx.document()))
    assert again["eventsCaptured"] == 0 and again["eventsAlreadyKnown"] == 6


def test_xml_then_json_of_one_event_is_one_event(app: Flask, http: FlaskClient) -> None:
    xml = (DATA / "TransformationEvent_all_possible_fields.xml").read_bytes()
    assert capture(app, http, xml, "application/xml")["eventsCaptured"] == 1
    json_doc = (DATA / "TransformationEvent_all_possible_fields.json").read_bytes()
    job = capture(app, http, json_doc)
    assert job["eventsCaptured"] == 0 and job["eventsAlreadyKnown"] == 1
    assert len(_events(http, "eventType=TransformationEvent")) == 1


def test_invalid_document_rolls_back_and_reports_every_problem(
    app: Flask, http: FlaskClient
) -> None:
    items = fx.events()
    items[2]["bizStep"] = "shelving"
    del items[4]["eventTime"]
    job = capture(app, http, orjson.dumps(fx.document(items)))
    assert job["success"] is False and job["eventsCaptured"] == 0
    error = job["errors"][0]
    assert error["type"] == "epcisException:ValidationException"
    pointers = {e["pointer"] for e in error["errors"]}
    assert "/epcisBody/eventList/2/bizStep" in pointers and "/epcisBody/eventList/4" in pointers
    assert _events(http, "") == []


def test_proceed_captures_the_valid_events(app: Flask, http: FlaskClient) -> None:
    items = fx.events()
    items[2]["bizStep"] = "shelving"
    job = capture(app, http, orjson.dumps(fx.document(items)),
                  **{"GS1-Capture-Error-Behaviour": "proceed"})  # fmt: skip
    assert job["success"] is False and job["eventsCaptured"] == 5
    assert len(_events(http, "")) == 5


@pytest.mark.parametrize(
    ("data", "content_type", "status", "exception"),
    [
        (b'{"type": "EPCISDocument",', LD, 400, "ValidationException"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>', "application/xml",
         400, "ValidationException"),
        (b"{" + b" " * 300_000 + b"}", LD, 413, "CaptureLimitExceededException"),
        (b"hello", "text/plain", 415, "UnsupportedMediaTypeException"),
    ],
)  # fmt: skip
def test_unreadable_capture_is_refused_at_once(
    http: FlaskClient, data: bytes, content_type: str, status: int, exception: str
) -> None:
    response = http.post("/epcis/capture", data=data, content_type=content_type)
    assert_problem(response, status, exception)
    assert _events(http, "") == []


def test_unknown_capture_job_is_404(http: FlaskClient) -> None:
    assert_problem(http.get("/epcis/capture/nope"), 404, "NoSuchResourceException")


def test_single_event_201_then_409(http: FlaskClient) -> None:
    event = {"@context": [fx.document()["@context"][0]], **fx.events()[0]}
    created = http.post("/epcis/events", data=orjson.dumps(event), content_type=LD)
    assert created.status_code == 201, created.get_data(as_text=True)
    location = created.headers["Location"]
    fetched = http.get(location)
    assert fetched.status_code == 200
    body = fetched.get_json(force=True)
    assert body["eventID"].startswith("ni:///sha-256;") and body["bizStep"] == "commissioning"
    assert "recordTime" in body
    again = http.post("/epcis/events", data=orjson.dumps(event), content_type=LD)
    assert_problem(again, 409, "ResourceAlreadyExistsException")
    bad = http.post(
        "/epcis/events", data=orjson.dumps({**event, "action": "MOVE"}), content_type=LD
    )
    problem = assert_problem(bad, 400, "ValidationException")
    assert any(e["pointer"] == "/action" for e in problem["errors"])


def test_event_by_hash_id_and_by_declared_event_id(loaded: FlaskClient) -> None:
    first = _events(loaded, "eventType=AssociationEvent")[0]
    assert loaded.get(f"/epcis/events/{quote(first['eventID'], safe='')}").status_code == 200
    assert loaded.get(f"/epcis/events/{first['eventID']}").status_code == 200
    assert_problem(loaded.get("/epcis/events/urn:uuid:none"), 404, "NoSuchResourceException")


@pytest.mark.parametrize(
    ("query", "days"),
    [
        ("", [1, 2, 3, 4, 5, 6]),
        ("eventType=ObjectEvent", [1, 6]),
        ("eventType=AggregationEvent|AssociationEvent", [2, 5]),
        ("GE_eventTime=2026-01-03T00:00:00%2B08:00", [3, 4, 5, 6]),
        ("LT_eventTime=2026-01-03T00:00:00Z", [1, 2]),
        ("GE_eventTime=2026-01-02T00:00:00Z&LT_eventTime=2026-01-04T00:00:00Z", [2, 3]),
        ("GE_recordTime=2000-01-01T00:00:00Z", [1, 2, 3, 4, 5, 6]),
        ("LT_recordTime=2000-01-01T00:00:00Z", []),
        ("EQ_action=OBSERVE", [6]),
        ("EQ_action=ADD|DELETE", [1, 2, 3, 5]),
        ("EQ_bizStep=shipping|receiving", [3, 6]),
        ("EQ_bizStep=urn:epcglobal:cbv:bizstep:commissioning", [1, 4]),
        ("EQ_disposition=in_transit", [3]),
        (f"EQ_readPoint={fx.PLANT}", [1, 4, 6]),
        (f"EQ_bizLocation={fx.PLANT_DL}", [1]),
        (f"MATCH_epc={fx.SGTIN_2}", [2, 6]),
        (f"MATCH_epc={quote(fx.SGTIN_2_DL)}", [2, 6]),
        ("MATCH_epc=urn:epc:idpat:sgtin:4012345.012345.*", [2, 3, 6]),
        (f"MATCH_anyEPC={fx.SSCC}|{fx.GIAI}", [2, 5]),
        (f"MATCH_epcClass={fx.LGTIN_A}", [1]),
        ("MATCH_anyEPCClass=urn:epc:idpat:sgtin:4012345.012345.*", [1, 4]),
        (f"MATCH_inputEPCClass={fx.LGTIN_A}", [4]),
        (f"MATCH_outputEPCClass={fx.LGTIN_B}", [4]),
        (f"MATCH_parentID={fx.GRAI}", [5]),
        ("EQ_bizTransaction_po=urn:epcglobal:cbv:bt:4012345000009:PO1", [1, 3]),
        ("EQ_bizTransaction_inv=urn:epcglobal:cbv:bt:4012345000009:INV1", [3]),
        ("EQ_bizTransaction_inv=urn:epcglobal:cbv:bt:4012345000009:PO1", []),
    ],
)
def test_simple_event_query_parameters(loaded: FlaskClient, query: str, days: list[int]) -> None:
    assert _days(_events(loaded, query)) == days


def test_match_input_and_output_epcs(app: Flask, http: FlaskClient) -> None:
    items = [{**fx.events()[3], "inputEPCList": [fx.SGTIN_1], "outputEPCList": [fx.SGTIN_2]}]
    capture(app, http, orjson.dumps(fx.document(items)))
    assert len(_events(http, f"MATCH_inputEPC={fx.SGTIN_1}")) == 1
    assert _events(http, f"MATCH_inputEPC={fx.SGTIN_2}") == []
    assert len(_events(http, f"MATCH_outputEPC={fx.SGTIN_2}")) == 1


def test_order_and_pagination(loaded: FlaskClient) -> None:
    seen: list[int] = []
    url = "/epcis/events?orderBy=eventTime&orderDirection=DESC&perPage=4"
    pages = 0
    while url:
        response = loaded.get(url)
        body = response.get_json(force=True)
        seen += [
            int(e["eventTime"][8:10])
            for e in body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]
        link = response.headers.get("Link")
        url = link[1 : link.index(">")].replace("http://localhost", "") if link else ""
        pages += 1
    assert seen == [6, 5, 4, 3, 2, 1] and pages == 2
    token = loaded.get("/epcis/events?perPage=2").headers["GS1-Next-Page-Token"]
    tampered = loaded.get(f"/epcis/events?perPage=2&eventType=ObjectEvent&nextPageToken={token}")
    assert_problem(tampered, 400, "QueryParameterException")


@pytest.mark.parametrize(
    "query",
    ["colour=red", "eventType=MagicEvent", "GE_eventTime=yesterday", "orderBy=size",
     "perPage=0", "perPage=x", "nextPageToken=garbage", "orderDirection=UP", "EQ_bizStep="],
)  # fmt: skip
def test_bad_query_parameters(loaded: FlaskClient, query: str) -> None:
    assert_problem(loaded.get(f"/epcis/events?{query}"), 400, "QueryParameterException")


def test_error_declaration_marks_the_stored_event(app: Flask, http: FlaskClient) -> None:
    capture(app, http, orjson.dumps(fx.document()))
    declared = copy.deepcopy(fx.events()[0])
    declared["errorDeclaration"] = {
        "declarationTime": "2026-01-08T00:00:00Z",
        "reason": "incorrect_data",
    }
    job = capture(app, http, orjson.dumps(fx.document([declared])))
    assert job["success"] is True
    events = _events(http, "eventType=ObjectEvent&EQ_action=ADD")
    assert len(events) == 1 and events[0]["errorDeclaration"]["reason"] == "incorrect_data"


def test_version_headers_and_openapi_paths(loaded: FlaskClient) -> None:
    response = loaded.get("/epcis/events")
    assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
    from traceability.epcis.openapi import openapi_paths

    paths = openapi_paths()
    assert {"/epcis/capture", "/epcis/capture/{captureID}", "/epcis/events",
            "/epcis/events/{eventID}"} <= set(paths)  # fmt: skip
    time.sleep(0)
