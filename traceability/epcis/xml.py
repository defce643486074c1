"""EPCIS 2.0 XML to the normalised JSON-LD form, with a hardened parser.

The XML is parsed by :func:`traceability.formats.ceb.parse.parse_document`: no DTD (a DOCTYPE or
entity declaration is refused before parsing), no entity resolution, no network, no huge
trees, a size limit, and the encodings senders really use.  The element mapping follows
the EPCIS 2.0 XML↔JSON correspondence: CBV URNs become bare terms, quantities numbers,
``bizTransaction``/``source``/``destination`` their ``type`` attribute plus text, and
every element or attribute in a foreign namespace an extension member ``prefix:local``.
EPCIS 1.x ``<extension>``/``<baseExtension>`` wrappers are looked through.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from traceability.epcis.errors import validation
from traceability.epcis.model import EVENT_TYPES, Document, Event
from traceability.epcis.parse import normalise_vocabulary
from traceability.epcis.vocab import DEFAULT_NAMESPACES
from traceability.epcis.writer import EPCIS_CONTEXT
from traceability.formats.ceb.parse import MessageError
from traceability.formats.ceb.parse import parse_document as parse_untrusted

XSI = "http://www.w3.org/2001/XMLSchema-instance"
_WRAPPERS = frozenset({"extension", "baseExtension"})
_EPC_LISTS = {"epcList", "childEPCs", "inputEPCList", "outputEPCList"}
_QUANTITY_LISTS = {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
_TYPED_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source",
                "destinationList": "destination"}  # fmt: skip
_NUMBERS = frozenset({"value", "minValue", "maxValue", "meanValue", "sDev", "percRank",
                      "percValue", "quantity"})  # fmt: skip


def _local(tag: str) -> tuple[str | None, str]:
    if tag[:1] == "{":
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return None, tag


def _children(element: etree._Element) -> list[etree._Element]:
    """Child elements, looking through EPCIS 1.x extension wrappers."""
    out = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag in _WRAPPERS:
            out.extend(_children(child))
        else:
            out.append(child)
    return out


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _number(raw: str) -> Any:
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw  # left for the schema to report


def _boolean(raw: str) -> Any:
    return {"true": True, "1": True, "false": False, "0": False}.get(raw, raw)


class _Prefixes:
    """Names extension namespaces ``prefix:``; keeps one binding per prefix per event."""

    def __init__(self) -> None:
        self.bindings: dict[str, str] = {}

    def key(self, element_or_tag: Any, prefix_hint: str | None = None) -> str:
        namespace, local = _local(element_or_tag)
        if namespace is None:
            return local
        for known, bound in self.bindings.items():
            if bound == namespace and (prefix_hint is None or known == prefix_hint):
                return f"{known}:{local}"
        prefix = prefix_hint or ""
        if not prefix or (prefix in self.bindings and self.bindings[prefix] != namespace):
            prefix = (
                next(
                    (p for p, ns in DEFAULT_NAMESPACES.items() if ns == namespace),
                    None,
                )
                or f"ns{len(self.bindings) + 1}"
            )
            while prefix in self.bindings and self.bindings[prefix] != namespace:
                prefix = f"ns{len(self.bindings) + 2}"
        self.bindings[prefix] = namespace
        return f"{prefix}:{local}"

    def element_key(self, element: etree._Element) -> str:
        return self.key(element.tag, element.prefix)

    def attribute_key(self, name: str, element: etree._Element) -> str:
        namespace, _ = _local(name)
        hint = None
        if namespace is not None:
            hint = next((p for p, ns in element.nsmap.items() if ns == namespace and p), None)
        return self.key(name, hint)


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Repeated elements of one name become a JSON array, as in the JSON binding."""
    if key in target:
        known = target[key]
        if isinstance(known, list):
            known.append(value)
        else:
            target[key] = [known, value]
    else:
        target[key] = value


def _extension(element: etree._Element, names: _Prefixes) -> Any:
    attributes = {
        names.attribute_key(k, element): v
        for k, v in element.attrib.items()
        if not k.startswith(f"{{{XSI}}}")
    }
    children = _children(element)
    if not children and not attributes:
        return _text(element)
    value: dict[str, Any] = dict(attributes)
    for child in children:
        _put(value, names.element_key(child), _extension(child, names))
    if _text(element):
        value["#text"] = _text(element)
    return value


def _with_extensions(
    element: etree._Element, names: _Prefixes, standard: dict[str, Any]
) -> dict[str, Any]:
    """Foreign-namespace attributes and children of a standard element, as members."""
    for key, raw in element.attrib.items():
        if _local(key)[0] not in (None, XSI):
            standard[names.attribute_key(key, element)] = raw
    for child in _children(element):
        if _local(child.tag)[0] is not None:
            _put(standard, names.element_key(child), _extension(child, names))
    return standard


def _sensor_element(element: etree._Element, names: _Prefixes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    reports = []
    for child in _children(element):
        namespace, local = _local(child.tag)
        if namespace is not None:
            _put(out, names.element_key(child), _extension(child, names))
            continue
        fields: dict[str, Any] = {}
        for key, raw in child.attrib.items():
            if _local(key)[0] is not None:
                continue
            if local == "sensorReport" and key in _NUMBERS:
                fields[key] = _number(raw)
            elif key == "booleanValue":
                fields[key] = _boolean(raw)
            else:
                fields[key] = raw
        _with_extensions(child, names, fields)
        if local == "sensorMetadata":
            out["sensorMetadata"] = fields
        elif local == "sensorReport":
            reports.append(fields)
    out["sensorReport"] = reports
    return out


def _event(element: etree._Element) -> Event:
    names = _Prefixes()
    _, kind = _local(element.tag)
    body: dict[str, Any] = {"type": kind}
    for child in _children(element):
        namespace, name = _local(child.tag)
        if namespace is not None:
            _put(body, names.element_key(child), _extension(child, names))
        elif name in _EPC_LISTS:
            body[name] = [_text(e) for e in _children(child)]
        elif name in _QUANTITY_LISTS:
            body[name] = [_quantity(q) for q in _children(child)]
        elif name in _TYPED_LISTS:
            member = _TYPED_LISTS[name]
            body[name] = [
                {**({"type": e.get("type")} if e.get("type") else {}), member: _text(e)}
                for e in _children(child)
            ]
        elif name in ("readPoint", "bizLocation"):
            place: dict[str, Any] = {}
            for part in _children(child):
                if _local(part.tag)[0] is None and _local(part.tag)[1] == "id":
                    place["id"] = _text(part)
            body[name] = _with_extensions(child, names, place)
        elif name == "persistentDisposition":
            groups: dict[str, list[str]] = {}
            for part in _children(child):
                groups.setdefault(_local(part.tag)[1], []).append(_text(part))
            body[name] = groups
        elif name == "sensorElementList":
            body[name] = [_sensor_element(e, names) for e in _children(child)]
        elif name == "ilmd":
            ilmd: dict[str, Any] = {}
            for part in _children(child):
                _put(ilmd, names.element_key(part), _extension(part, names))
            body[name] = ilmd
        elif name == "errorDeclaration":
            body[name] = _error_declaration(child, names)
        elif name == "certificationInfo":
            _put(body, name, _text(child))
        else:
            body[name] = _text(child)
    normalise_vocabulary(body)
    return Event(body, dict(sorted(names.bindings.items())))


def _quantity(element: etree._Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in _children(element):
        _, name = _local(part.tag)
        out[name] = _number(_text(part)) if name == "quantity" else _text(part)
    return out


def _error_declaration(element: etree._Element, names: _Prefixes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in _children(element):
        namespace, name = _local(part.tag)
        if namespace is not None:
            _put(out, names.element_key(part), _extension(part, names))
        elif name == "correctiveEventIDs":
            out[name] = [_text(e) for e in _children(part)]
        else:
            out[name] = _text(part)
    return out


def _vocabularies(root: etree._Element) -> list[dict[str, Any]]:
    found = []
    for vocabulary in root.iter("Vocabulary"):
        elements = []
        for element in vocabulary.iter("VocabularyElement"):
            attributes = [
                {"id": a.get("id"), "attribute": _text(a)} for a in element.iter("attribute")
            ]
            elements.append({"id": element.get("id"), "attributes": attributes})
        found.append({"type": vocabulary.get("type"), "vocabularyElementList": elements})
    return found


def parse_xml_document(data: bytes, max_bytes: int) -> Document:
    try:
        root, _ = parse_untrusted(data, max_bytes)
    except MessageError as exc:
        raise validation(str(exc).replace("报文", "文档")) from None
    _, kind = _local(root.tag)
    if kind not in ("EPCISDocument", "EPCISQueryDocument"):
        raise validation(f"XML 根元素应为 epcis:EPCISDocument，收到 {kind}")
    event_list = next((e for e in root.iter("EventList")), None)
    if event_list is None:
        raise validation("EPCIS 文档缺少 EPCISBody/EventList")
    events = []
    for element in _children(event_list):
        _, name = _local(element.tag)
        if name not in EVENT_TYPES:
            raise validation(f"不支持的事件类型 {name}（只接受 {', '.join(EVENT_TYPES)}）")
        events.append(_event(element))
    namespaces: dict[str, str] = {}
    for event in events:
        namespaces.update(event.namespaces)
    raw = {
        "@context": [EPCIS_CONTEXT, *([namespaces] if namespaces else [])],
        "type": "EPCISDocument",
        "schemaVersion": root.get("schemaVersion", ""),
        "creationDate": root.get("creationDate", ""),
        "epcisBody": {"eventList": [e.body for e in events]},
    }
    return Document(events, raw, "xml", namespaces, _vocabularies(root), kind)
