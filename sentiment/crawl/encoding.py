"""Decoding Chinese pages without mojibake.

Order: the Content-Type header's charset, then the document's own declaration (BOM,
``<meta charset>``, ``<meta http-equiv>``, ``<?xml encoding?>``), then detection from the
bytes (charset-normalizer).  GBK and GB2312 are decoded as GB18030, their superset: pages
labelled GB2312 routinely contain GBK-only characters.  A declared charset that fails to
decode strictly is not trusted (nor is a GB label on bytes that are valid UTF-8, since
GB18030 decodes almost any bytes into mojibake); the next step is tried, and if nothing
decodes cleanly the page is rejected rather than stored with replacement characters.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
            "euc-cn": "gb18030", "cp936": "gb18030", "hz-gb-2312": "gb18030"}  # fmt: skip
# The HTML prescan (WHATWG "prescan a byte stream"): a declaration in the first KiB or so.
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_XML = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-.]+)""", re.I)
_HEADER = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class UndecodableError(ValueError):
    """No candidate encoding decodes the bytes cleanly."""


def canonical(name: str) -> str | None:
    name = name.strip().lower()
    try:
        found = codecs.lookup(_ALIASES.get(name, name)).name
    except LookupError:
        return None
    return _ALIASES.get(found, found)


def declared_in_document(body: bytes) -> str | None:
    head = body[:4096]
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    match = _META.search(head) or _XML.search(head)
    return match.group(1).decode("ascii", "ignore") if match else None


def declared_in_header(content_type: str | None) -> str | None:
    match = _HEADER.search(content_type or "")
    return match.group(1) if match else None


def decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    """(text, encoding used); raises :class:`UndecodableError` rather than guess wrong."""
    tried: list[str] = []
    if not body.isascii():
        try:
            utf8 = body.decode("utf-8")
        except UnicodeDecodeError:
            utf8 = None
        if utf8 is not None:
            # Valid multi-byte UTF-8 is practically never GBK text, but GB18030 decodes
            # almost any bytes: a page mislabelled GBK is UTF-8, not mojibake to store.
            return utf8, "utf-8"
    for declared in (declared_in_header(content_type), declared_in_document(body)):
        name = canonical(declared) if declared else None
        if name and name not in tried:
            tried.append(name)
            try:
                return body.decode(name), name
            except UnicodeDecodeError:
                continue
    best = from_bytes(body[:200_000]).best()
    if best is not None:
        name = canonical(best.encoding) or best.encoding
        if name not in tried:
            tried.append(name)
            try:
                return body.decode(name), name
            except (UnicodeDecodeError, LookupError):
                pass
    for name in ("utf-8", "gb18030"):
        if name not in tried:
            try:
                return body.decode(name), name
            except UnicodeDecodeError:
                continue
    raise UndecodableError(f"无法可靠解码（尝试过 {', '.join(tried) or '无'}）")
