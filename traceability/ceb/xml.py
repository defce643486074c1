"""Read and write CEB message XML.

Reading uses a hardened lxml parser: no DTDs, no entity resolution, no network, and a size
limit; elements are matched by local name, so the ``ceb:`` prefix, a default namespace and
no namespace at all (common on receipts) are all accepted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from traceability.ceb.spec import (
    BASE_TRANSFER_FIELDS,
    CEB_NS,
    MAX_RECORDS_PER_MESSAGE,
    MESSAGES,
    MessageSpec,
)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


class MessageError(ValueError):
    """A message cannot be read; the text says why, in Chinese first."""


@dataclass(slots=True)
class Record:
    head: dict[str, str]
    lines: list[dict[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Message:
    spec: MessageSpec
    guid: str
    records: list[Record]
    base_transfer: dict[str, str] = field(default_factory=dict)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted XML: refuse oversize input and any DTD before the parser sees it."""
    if len(data) > max_bytes:
        raise MessageError(f"报文过大: {len(data)} 字节，上限 {max_bytes} 字节")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise MessageError("报文含 DTD 或实体声明，已拒绝 (XML with a DTD/entities is refused)")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise MessageError(f"XML 格式错误: {exc}") from None
    if root is None:
        raise MessageError("空报文")
    return root


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _fields(element: etree._Element) -> dict[str, str]:
    return {local(child): (child.text or "").strip() for child in element}


def read_message(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Message:
    root = parse_xml(data, max_bytes)
    name = local(root)
    code = name.removesuffix("Message")
    spec = MESSAGES.get(code)
    if spec is None or not name.endswith("Message"):
        raise MessageError(f"不支持的报文类型: {name}")
    records: list[Record] = []
    base_transfer: dict[str, str] = {}
    for child in root:
        tag = local(child)
        if tag == spec.record:
            records.append(_read_record(spec, child))
        elif tag == "BaseTransfer":
            base_transfer = _fields(child)
        # ds:Signature and unknown siblings are preserved by the caller's raw copy, ignored here
    if not records:
        raise MessageError(f"{spec.code} 报文中没有 {spec.record} 记录")
    if len(records) > MAX_RECORDS_PER_MESSAGE:
        raise MessageError(f"{spec.code} 报文记录数 {len(records)} 超过上限 100")
    return Message(spec, root.get("guid", ""), records, base_transfer)


def _read_record(spec: MessageSpec, element: etree._Element) -> Record:
    if spec.head is None:
        return Record(_fields(element))
    head: dict[str, str] | None = None
    lines = []
    for child in element:
        tag = local(child)
        if tag == spec.head:
            head = _fields(child)
        elif tag == spec.lines:
            lines.append(_fields(child))
    if head is None:
        raise MessageError(f"{spec.record} 缺少 {spec.head}")
    return Record(head, lines)


def _append_fields(
    parent: etree._Element, tag: str, fields: Sequence[str], values: Mapping[str, str]
) -> None:
    element = etree.SubElement(parent, f"{{{CEB_NS}}}{tag}")
    for name in fields:
        etree.SubElement(element, f"{{{CEB_NS}}}{name}").text = values.get(name, "")


def write_message(
    code: str,
    records: Sequence[Record],
    base_transfer: Mapping[str, str],
    guid: str | None = None,
) -> bytes:
    """Serialise records as a CEB message, fields in schema order."""
    spec = MESSAGES[code]
    if not 0 < len(records) <= MAX_RECORDS_PER_MESSAGE:
        raise ValueError(f"a {code} message holds 1..100 records, got {len(records)}")
    root = etree.Element(
        f"{{{CEB_NS}}}{spec.root}",
        nsmap={"ceb": CEB_NS},
        guid=guid or str(uuid.uuid4()).upper(),
        version="1.0",
    )
    for record in records:
        if spec.head is None:
            _append_fields(root, spec.record, spec.head_fields, record.head)
            continue
        container = etree.SubElement(root, f"{{{CEB_NS}}}{spec.record}")
        _append_fields(container, spec.head, spec.head_fields, record.head)
        for line in record.lines:
            _append_fields(container, spec.lines or "", spec.line_fields, line)
    if not spec.receipt:
        _append_fields(root, "BaseTransfer", BASE_TRANSFER_FIELDS, base_transfer)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
