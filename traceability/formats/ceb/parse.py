"""Hardened parsing of untrusted message bytes, including the encodings senders really use.

What arrives at a regulator is rarely textbook XML: files start with a UTF-8 BOM, or are
GBK/GB2312 because a Windows tool wrote them, or are UTF-16.  libxml2 (2.14, via iconv)
decodes ``GBK``/``GB2312`` *strictly*: a declared-GB2312 file with a GBK-only character
(``镕``, common in names) or a declared-GBK file with a GB18030 character is refused.  Real
senders mean the GB18030 superset, so GB-family documents are decoded here with Python's
``gb18030`` codec and handed to libxml2 as UTF-8.  UTF-16 is converted the same way, so the
DTD pre-check below always scans ASCII-compatible bytes.

Security: no DTDs or entity declarations (refused before parsing and re-checked after),
no entity resolution, no network, no huge-tree mode, and a byte-size limit checked before
any work is done.
"""

from __future__ import annotations

import re
import threading

from lxml import etree

from traceability.errors import InvalidInput

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# Markup bound before parsing: every element costs at least one ``<``, so this caps the
# elements libxml2 would allocate (a 100-record message with long line lists uses ~300k);
# 50 MB of ``<a/>`` would otherwise become ~12 million nodes and gigabytes of memory.
MAX_MARKUP = 1_000_000
UTF16_NAMES = frozenset({"utf-16", "utf-16le", "utf-16be", "utf16", "ucs-2", "iso-10646-ucs-2"})

GB_ENCODINGS = frozenset({
    "gbk", "gb2312", "gb_2312", "gb_2312-80", "gb18030", "gb-18030", "cp936", "ms936",
    "windows-936", "euc-cn", "euccn", "x-gbk", "x-euc-cn", "csgb2312", "chinese",
    "iso-ir-58", "csiso58gb231280",
})  # fmt: skip
UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_DECLARATION = re.compile(
    rb"<\?xml[^>]*?\sencoding\s*=\s*([\"'])([A-Za-z][A-Za-z0-9._:-]*)\1", re.ASCII
)
_DECLARATION_TEXT = re.compile(
    r"<\?xml[^>]*?\sencoding\s*=\s*([\"'])([A-Za-z][A-Za-z0-9._:-]*)\1", re.ASCII
)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_:]")
_ENCODING_ERRORS = {81, 32}  # XML_ERR_INVALID_ENCODING, XML_ERR_UNSUPPORTED_ENCODING


class MessageError(InvalidInput):
    """A message cannot be read; the text says why, in Chinese first."""


_local = threading.local()


def _parser() -> etree.XMLParser:
    """One hardened parser per thread (lxml parsers must not be shared across threads)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
            # whitespace between elements is never data here (values are stripped anyway);
            # dropping it saves libxml2 ~10% of the nodes it would allocate and free
            remove_blank_text=True,
        )
    return parser


def declared_encoding(data: bytes) -> str | None:
    """The ``encoding`` of the XML declaration, if any (BOM and leading space skipped)."""
    head = data[:256]
    if head.startswith(UTF8_BOM):
        head = head[3:]
    match = _DECLARATION.match(head.lstrip())
    return match.group(2).decode("ascii") if match else None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _as_utf8(text: str) -> bytes:
    """Re-label the declaration as UTF-8 and encode: libxml2 then reads it natively."""
    match = _DECLARATION_TEXT.match(text, 0, 256)
    if match:
        text = f"{text[: match.start(2)]}UTF-8{text[match.end(2) :]}"
    return text.encode("utf-8")


def normalise(data: bytes) -> tuple[bytes, str]:
    """Bytes libxml2 can read safely, and the encoding the sender used.

    UTF-8 (with or without BOM) passes through untouched, which is the fast path.
    """
    if data[:1].isspace():
        data = data.lstrip()  # whitespace before the declaration is a sender slip, not harm
    if data.startswith(UTF8_BOM):
        declared = declared_encoding(data)
        if declared is not None and declared.lower().replace("_", "-") not in ("utf-8", "utf8"):
            _contradiction("UTF-8 字节顺序标记 (BOM)", declared)
        return data, "UTF-8"
    if data.startswith(_UTF16_BOMS) or data[:2] in (b"<\x00", b"\x00<"):
        codec = "utf-16" if data.startswith(_UTF16_BOMS) else (
            "utf-16-le" if data[:1] == b"<" else "utf-16-be"
        )  # fmt: skip
        try:
            text = data.decode(codec).lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            raise MessageError(
                f"报文编码错误：UTF-16 报文在字节偏移 {exc.start} 处无法解码"
            ) from None
        match = _DECLARATION_TEXT.match(text, 0, 256)
        if match and match.group(2).lower().replace("_", "-") not in UTF16_NAMES:
            _contradiction("UTF-16 字节", match.group(2))
        return _as_utf8(text), "UTF-16"
    declared = declared_encoding(data)
    if declared is not None and declared.lower().replace("_", "-") in UTF16_NAMES:
        _contradiction("单字节兼容 (ASCII/UTF-8) 字节", declared)
    if declared is None or declared.lower() not in GB_ENCODINGS:
        return data, (declared or "UTF-8").upper()
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise MessageError(
            f"报文编码错误：声明编码为 {declared}（按 GB18030 解码），第 "
            f"{_line_of(data, exc.start)} 行附近（字节偏移 {exc.start}）有无法解码的字节 "
            f"{data[exc.start : exc.start + 4].hex(' ')}"
        ) from None
    return _as_utf8(text), declared.upper()


def _contradiction(found: str, declared: str) -> None:
    """Bytes and declaration disagree: refuse rather than guess which one is lying."""
    raise MessageError(
        f'报文编码矛盾：实际为 {found}，XML 声明却写 encoding="{declared}"；'
        "请按实际编码改正声明后重发"
    )


def _has_dtd(data: bytes) -> bool:
    """A DOCTYPE (the only place entities can be declared) may only precede the root
    element, so only the prolog is scanned; the parsed tree is checked again after."""
    first = _FIRST_ELEMENT.search(data)
    prolog = data[: first.start()] if first else data
    return b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog


def parse_document(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[etree._Element, str]:
    """Parse untrusted XML; returns the root element and the sender's encoding."""
    if len(data) > max_bytes:
        raise MessageError(f"报文过大: {len(data)} 字节，上限 {max_bytes} 字节")
    if not data or data.isspace():
        raise MessageError("空报文")
    data, encoding = normalise(data)
    if data.count(b"<") > MAX_MARKUP:
        raise MessageError(f"报文元素过多：标记数超过上限 {MAX_MARKUP}，已拒绝")
    if _has_dtd(data):
        raise MessageError("报文含 DTD 或实体声明，已拒绝 (XML with a DTD/entities is refused)")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        if exc.code in _ENCODING_ERRORS:
            raise MessageError(
                f"报文编码错误：字节与声明的编码 {encoding} 不符，或该编码不受支持"
                f"（{exc.msg}）。未声明编码时按 UTF-8 解析；GBK 报文须在 XML 声明中写明 "
                'encoding="GBK"'
            ) from None
        raise MessageError(f"XML 格式错误: {exc.msg}") from None
    if root is None:
        raise MessageError("空报文")
    if root.getroottree().docinfo.doctype:
        raise MessageError("报文含 DTD 或实体声明，已拒绝 (XML with a DTD/entities is refused)")
    return root, encoding


def local_name(tag: str) -> str:
    """``{namespace}name`` or ``prefix``-less ``name`` to ``name``: receipts vary."""
    return tag[tag.rfind("}") + 1 :]
