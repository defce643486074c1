"""The EPCIS 2.0 REST binding under ``/epcis``: capture jobs, events, SimpleEventQuery.

The blueprint joins the app through the EPCIS feature (:mod:`traceability.epcis.feature`).
Errors are RFC 7807 problem+json whose ``type`` is the EPCIS exception
(``epcisException:ValidationException`` …) and whose text is zh-CN.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, g, json, request

from traceability.epcis.errors import (
    not_found,
    too_large,
    unsupported_media,
    validation,
)
from traceability.epcis.hashing import hash_id
from traceability.epcis.model import Event
from traceability.epcis.parse import context_namespaces, json_event, load_json, syntax_of
from traceability.epcis.query import run as run_query
from traceability.epcis.service import EpcisServices
from traceability.epcis.writer import EPCIS_CONTEXT
from traceability.errors import Forbidden
from traceability.ingest.ingestor import Submitter

epcis = Blueprint("epcis", __name__, url_prefix="/epcis")

VERSION_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
_JSON_TYPES = ("application/json", "application/ld+json")
_XML_TYPES = ("application/xml", "text/xml")


def services() -> EpcisServices:
    """The EPCIS service the composition root built for this app."""
    return current_app.extensions["qtrace"].feature("epcis")


@epcis.after_request
def _versions(response: Response) -> Response:
    for name, value in VERSION_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _body() -> bytes:
    limit = services().capture.max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise too_large(f"文档过大: {request.content_length} 字节，上限 {limit} 字节")
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise too_large(f"文档过大: 超过上限 {limit} 字节")
    return data


def _check_media(data: bytes) -> None:
    kind = (request.mimetype or "").lower()
    if kind and kind not in _JSON_TYPES + _XML_TYPES:
        raise unsupported_media(
            f"不支持的 Content-Type {kind}："
            "应为 application/ld+json、application/json 或 application/xml"
        )
    if kind in _XML_TYPES and syntax_of(data) != "xml":
        raise validation("Content-Type 为 XML，但请求体不是 XML")
    if kind in _JSON_TYPES and syntax_of(data) != "json":
        raise validation("Content-Type 为 JSON，但请求体不是 JSON")


def _json(data: Any, status: int = 200, **headers: str) -> Response:
    response = Response(json.dumps(data, ensure_ascii=False), status=status,
                        mimetype="application/ld+json")  # fmt: skip
    response.headers.update(headers)
    return response


def _owner_key(hash_id_: str) -> str:
    return f"epcis:{hash_id_}"


def _authorize(events: Sequence[Event]) -> Callable[[], None] | None:
    """An enterprise-bound caller may declare in error (retract) only events its own
    enterprise captured; returns what records the new events as its own afterwards."""
    submitter: Submitter | None = g.get("submitter")
    if submitter is None or not submitter.restricted or submitter.owners is None:
        return None
    owners, enterprise = submitter.owners, submitter.enterprise or ""
    store = services().events
    new: list[str] = []
    for index, event in enumerate(events):
        try:
            key = hash_id(event.body, event.namespaces)
        except Exception:  # an invalid event: validation rejects it later
            key = ""
        if event.body.get("errorDeclaration"):
            if owners.owner(_owner_key(key)) != enterprise:
                raise Forbidden(
                    f"第 {index + 1} 个事件声明另一事件有误 (errorDeclaration)，"
                    f"但该事件不是本企业 {enterprise} 采集的: {key}"
                )
        elif key and not store.contains(key):
            new.append(key)

    def claim() -> None:
        owners.claim([_owner_key(k) for k in new if store.contains(k)], enterprise,
                     submitter.user)  # fmt: skip

    return claim


@epcis.post("/capture")
def capture() -> Response:
    data = _body()
    _check_media(data)
    behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback").lower()
    document = services().capture.parse(data)
    claim = _authorize(document.events)
    on_done = (lambda _job_id: claim()) if claim is not None else None
    job_id = services().capture.submit(document, behaviour, on_done)
    location = f"/epcis/capture/{job_id}"
    response = Response(status=202, headers={"Location": location})
    response.headers["GS1-Capture-ID"] = job_id
    return response


@epcis.get("/capture/<job_id>")
def capture_job(job_id: str) -> Response:
    job = services().events.job(job_id)
    if job is None:
        raise not_found(f"采集任务 {job_id} 不存在")
    return _json(job)


@epcis.post("/events")
def capture_event() -> Response:
    data = _body()
    _check_media(data)
    if syntax_of(data) != "json":
        raise unsupported_media("单个事件只接受 JSON-LD")
    event = load_json(data)
    if not isinstance(event, dict):
        raise validation("请求体应为一个 EPCIS 事件 JSON 对象")
    namespaces = context_namespaces(event.get("@context"))
    claim = _authorize([json_event(event, namespaces)])
    key = services().capture.capture_event(event, namespaces)
    if claim is not None:
        claim()
    return Response(status=201, headers={"Location": f"/epcis/events/{quote(key, safe='')}"})


@epcis.get("/events")
def events() -> Response:
    args = {k: v for k, v in request.args.items()}
    page = run_query(services().events, args)
    body = {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": dt.datetime.now(dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": page.events},
            }
        },
    }
    headers = {}
    if page.next_token:
        query = urlencode({**args, "nextPageToken": page.next_token})
        headers["Link"] = f'<{request.base_url}?{query}>; rel="next"'
        headers["GS1-Next-Page-Token"] = page.next_token
    response = _json(body)
    response.headers.update(headers)
    return response


@epcis.get("/events/<path:event_id>")
def event(event_id: str) -> Response:
    if request.query_string and "?" not in event_id:
        # An unescaped hash ID puts its ``?ver=CBV2.0`` in the query string.
        event_id = f"{event_id}?{request.query_string.decode()}"
    found = services().events.get(event_id)
    if found is None and event_id.startswith("ni:/") and not event_id.startswith("ni:///"):
        found = services().events.get("ni:///" + event_id[4:].lstrip("/"))  # proxies fold //
    if found is None:
        raise not_found(f"事件 {event_id} 不存在")
    return _json(found)
