"""Read EPCIS 2.0 documents (JSON-LD or XML) into the normalised form of :mod:`.model`.

Parsing only answers "is this a well-formed EPCIS document, and what are its events?".
Whether the events are *valid* is :mod:`.validate`'s question; nothing here touches a store.
Bad bytes get a zh-CN message with the English EPCIS exception type: malformed JSON or
XML, a wrong encoding, a DTD or entity declaration, or a document over the size limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from traceability.epcis.errors import EpcisError, too_large, validation
from traceability.epcis.model import Document, Event
from traceability.epcis.vocab import CODE_LISTS, DEFAULT_NAMESPACES, to_bare

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
UTF8_BOM = b"\xef\xbb\xbf"


def syntax_of(data: bytes) -> str:
    """``json`` or ``xml`` from the first significant byte; anything else is refused."""
    head = data[:64].lstrip(b" \t\r\n")
    if head.startswith(UTF8_BOM):
        head = head[3:].lstrip()
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith(b"<") or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "xml"
    raise validation("无法识别的文档格式：既不是 JSON-LD 也不是 XML")


def parse_document(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Parse an EPCIS document or query document from untrusted bytes."""
    if len(data) > max_bytes:
        raise too_large(f"文档过大: {len(data)} 字节，上限 {max_bytes} 字节")
    if not data.strip():
        raise validation("空文档")
    if syntax_of(data) == "xml":
        # Imported here: xml.py builds on this module (normalise_vocabulary), so a top-level
        # import would be circular.
        from traceability.epcis.xml import parse_xml_document

        return parse_xml_document(data, max_bytes)
    return json_document(load_json(data))


def load_json(data: bytes) -> Any:
    if data.startswith(UTF8_BOM):
        data = data[3:]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        message = str(exc)
        if "utf-8" in message.lower() or "surrogate" in message.lower():
            raise validation(
                f"文档编码错误：JSON 必须是 UTF-8 编码（{message}）"
            ) from None  # fmt: skip
        raise validation(f"JSON 格式错误: {message}") from None


def json_document(doc: Any) -> Document:
    if not isinstance(doc, dict):
        raise validation("EPCIS 文档必须是 JSON 对象")
    kind = doc.get("type")
    namespaces = context_namespaces(doc.get("@context"))
    if kind == "EPCISDocument":
        body = doc.get("epcisBody")
        events = body.get("eventList") if isinstance(body, dict) else None
        if events is None and isinstance(body, dict) and isinstance(body.get("event"), dict):
            events = [body["event"]]
    elif kind == "EPCISQueryDocument":
        body = doc.get("epcisBody")
        results = body.get("queryResults") if isinstance(body, dict) else None
        results_body = results.get("resultsBody") if isinstance(results, dict) else None
        events = results_body.get("eventList") if isinstance(results_body, dict) else None
    else:
        raise validation(f"type 应为 EPCISDocument，收到 {kind!r}")
    if not isinstance(events, list):
        raise validation("EPCIS 文档缺少 epcisBody.eventList")
    header = doc.get("epcisHeader")
    master = header.get("epcisMasterData") if isinstance(header, dict) else None
    vocabularies = master.get("vocabularyList") if isinstance(master, dict) else None
    return Document(
        events=[json_event(e, namespaces) for e in events],
        raw=doc,
        syntax="json",
        namespaces=namespaces,
        vocabularies=vocabularies if isinstance(vocabularies, list) else [],
        kind=kind,
    )


def context_namespaces(context: Any) -> dict[str, str]:
    """Prefix bindings declared in a JSON-LD ``@context`` (later entries win)."""
    namespaces: dict[str, str] = {}
    items = context if isinstance(context, list) else [context]
    for item in items:
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key.startswith("@") or ":" in key:
                continue
            if isinstance(value, str):
                namespaces[key] = value
            elif isinstance(value, dict) and isinstance(value.get("@id"), str):
                namespaces[key] = value["@id"]
    return namespaces


def json_event(event: Any, namespaces: Mapping[str, str]) -> Event:
    """One JSON-LD event in normalised form (the input is not modified)."""
    if not isinstance(event, dict):
        return Event({"type": None, "_invalid": event})
    body = dict(event)
    own = context_namespaces(body.get("@context")) if "@context" in body else {}
    scope = {**DEFAULT_NAMESPACES, **namespaces, **own}
    normalise_vocabulary(body)
    return Event(body, bind_prefixes(prefixes_in(body), scope))


def normalise_vocabulary(body: dict[str, Any]) -> None:
    """Fold every spelling of a standard CBV term to its bare JSON-LD term, in place."""
    for name in ("bizStep", "disposition"):
        value = body.get(name)
        if isinstance(value, str):
            body[name] = to_bare(name, value)
    persistent = body.get("persistentDisposition")
    if isinstance(persistent, dict):
        body["persistentDisposition"] = {
            k: [to_bare("disposition", v) if isinstance(v, str) else v for v in values]
            if isinstance(values, list) and k in ("set", "unset") else values
            for k, values in persistent.items()
        }  # fmt: skip
    for name, list_name in (
        ("bizTransactionList", "bizTransactionType"),
        ("sourceList", "sourceDestType"),
        ("destinationList", "sourceDestType"),
    ):
        items = body.get(name)
        if isinstance(items, list):
            body[name] = [_typed(item, list_name) for item in items]
    declaration = body.get("errorDeclaration")
    if isinstance(declaration, dict) and isinstance(declaration.get("reason"), str):
        body["errorDeclaration"] = {
            **declaration, "reason": to_bare("errorReason", declaration["reason"])
        }  # fmt: skip
    elements = body.get("sensorElementList")
    if isinstance(elements, list):
        body["sensorElementList"] = [_sensor_element(e) for e in elements]


def _typed(item: Any, list_name: str) -> Any:
    if isinstance(item, dict) and isinstance(item.get("type"), str):
        return {**item, "type": to_bare(list_name, item["type"])}
    return item


def _gs1_term(list_name: str, value: Any) -> Any:
    if isinstance(value, str) and value.startswith("gs1:"):
        term = value[4:]
        if term in CODE_LISTS[list_name].terms:
            return term
    return value


def _sensor_element(element: Any) -> Any:
    if not isinstance(element, dict):
        return element
    reports = element.get("sensorReport")
    if not isinstance(reports, list):
        return element
    fixed = []
    for report in reports:
        if isinstance(report, dict):
            report = dict(report)
            if "type" in report:
                report["type"] = _gs1_term("measurementType", report["type"])
            if "exception" in report:
                report["exception"] = _gs1_term("sensorAlertType", report["exception"])
            if isinstance(report.get("component"), str):
                report["component"] = to_bare("component", report["component"])
        fixed.append(report)
    return {**element, "sensorReport": fixed}


def prefixes_in(value: Any, found: set[str] | None = None) -> set[str]:
    """Every ``prefix`` of a ``prefix:local`` member name anywhere in ``value``."""
    found = set() if found is None else found
    if isinstance(value, dict):
        for key, item in value.items():
            if ":" in key and not key.startswith("@"):
                found.add(key.split(":", 1)[0])
            if isinstance(item, dict | list):
                prefixes_in(item, found)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list):
                prefixes_in(item, found)
    return found


def bind_prefixes(prefixes: Iterable[str], scope: Mapping[str, str]) -> dict[str, str]:
    return {p: scope[p] for p in sorted(prefixes) if p in scope}


def read_events(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Event]:
    """The events of a document, for callers that need nothing else (``epcis hash``)."""
    return parse_document(data, max_bytes).events


__all__ = ["DEFAULT_MAX_BYTES", "EpcisError", "parse_document", "read_events"]
