"""The CBV 2.0 canonical event hash (``ni:///sha-256;…?ver=CBV2.0``).

The pre-hash string concatenates the event's data in the canonical property order, every
value canonicalised (UTC millisecond timestamps, numbers without trailing zeros, CBV URNs
and bare terms as CBV web URIs, EPC URIs as constrained GS1 Digital Links), lists sorted,
and then the parts that are not standard fields: extension content found inside standard
fields (readPoint, bizLocation, sensor elements), in canonical order, followed by the
sorted user extensions of the event itself.  ``eventID``, ``recordTime``,
``errorDeclaration`` and ``certificationInfo`` are left out, so that an event and its
error declaration share one ID.

Where the reference implementation's published test vectors and its README disagree we
follow the vectors; the tests in tests/test_epcis_hash.py hold every vector.

The input is the normalised JSON-LD form produced by :mod:`traceability.epcis.parse` plus
the namespaces of its extension prefixes, so an event hashes the same whether it arrived
as XML or JSON.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from traceability.epcis import digital_link
from traceability.epcis.vocab import CBV, CODE_LISTS, GS1_VOC, URN_TO_WEB

VERSION = "CBV2.0"
SKIPPED = frozenset({"type", "eventID", "recordTime", "errorDeclaration", "certificationInfo"})

EPC_LISTS = {"epcList", "inputEPCList", "childEPCs", "outputEPCList"}
QUANTITY_LISTS = {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
ORDER = (
    "eventTime", "eventTimeZoneOffset", "epcList", "parentID", "inputEPCList", "childEPCs",
    "quantityList", "childQuantityList", "inputQuantityList", "outputEPCList",
    "outputQuantityList", "action", "transformationID", "bizStep", "disposition",
    "persistentDisposition", "readPoint", "bizLocation", "bizTransactionList", "sourceList",
    "destinationList", "sensorElementList", "ilmd",
)  # fmt: skip
STANDARD = frozenset(ORDER) | SKIPPED
METADATA_FIELDS = ("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
                   "dataProcessingMethod", "bizRules")  # fmt: skip
REPORT_FIELDS = (
    "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
    "time", "microorganism", "chemicalSubstance", "value", "component", "stringValue",
    "booleanValue", "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev",
    "percRank", "percValue", "uom", "coordinateReferenceSystem",
)  # fmt: skip
_TIMES = frozenset({"time", "startTime", "endTime"})
# Bare JSON-LD terms of these fields stand for web URIs (hash rule 16).
_BARE = {
    "bizStep": CODE_LISTS["bizStep"].web_prefix,
    "disposition": CODE_LISTS["disposition"].web_prefix,
    "set": CODE_LISTS["disposition"].web_prefix,
    "unset": CODE_LISTS["disposition"].web_prefix,
    "bizTransactionType": CODE_LISTS["bizTransactionType"].web_prefix,
    "sourceDestType": CODE_LISTS["sourceDestType"].web_prefix,
    "type": GS1_VOC,
    "exception": GS1_VOC,
    "component": CODE_LISTS["component"].web_prefix,
}
_CURIES = (("gs1:", GS1_VOC), ("cbv:", CBV))
_MS = Decimal("0.001")
# What Decimal() may accept: optional space and sign, then a digit, a point, or a special.
_NUMERIC_START = re.compile(r"\s*[+-]?(?:[0-9.]|inf|nan|snan)", re.IGNORECASE)


def text(value: Any) -> str:
    """A JSON value as the reference reads it: booleans in lower case, numbers as written."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def canonical_number(value: str) -> str:
    """``26.0`` → ``26``, ``0.50`` → ``0.5``, exactly (no float rounding); else unchanged."""
    if not _NUMERIC_START.match(value):
        return value  # cheap reject: Decimal() raising costs more than the whole rest
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    whole = number.to_integral_value()
    return str(whole) if number == whole else format(number.normalize(), "f")


def canonical_value(value: Any) -> str:
    """Rules 5, 6, 14, 15 and 17/18 applied to one value."""
    return _canonical_text(text(value).strip())


@functools.lru_cache(maxsize=131072)
def _canonical_text(raw: str) -> str:
    for prefix, base in _CURIES:
        if raw.startswith(prefix):
            raw = base + raw[len(prefix) :]
            break
    for urn, web in URN_TO_WEB:
        if urn in raw:
            raw = raw.replace(urn, web)
    raw = canonical_number(raw)
    return digital_link.canonical(raw) or raw


def canonical_time(value: Any) -> str:
    """UTC with ``Z`` and exactly three fraction digits, half-up rounded (rules 8, 9)."""
    return _canonical_moment(text(value).strip())


@functools.lru_cache(maxsize=65536)
def _canonical_moment(raw: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return raw
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    fraction = _fraction(raw)
    moment = moment.replace(microsecond=0).astimezone(dt.UTC)
    millis = fraction.quantize(_MS, rounding=ROUND_HALF_UP)
    moment += dt.timedelta(milliseconds=int(millis * 1000))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _fraction(raw: str) -> Decimal:
    """The seconds fraction exactly as written (Python parses at most 6 digits)."""
    head = raw.split("T", 1)[-1]
    if "." not in head:
        return Decimal(0)
    digits = head.split(".", 1)[1]
    end = 0
    while end < len(digits) and digits[end].isdigit():
        end += 1
    try:
        return Decimal("0." + (digits[:end] or "0"))
    except InvalidOperation:
        return Decimal(0)


def _vocab(field: str, value: Any) -> str:
    raw = text(value).strip()
    if raw and ":" not in raw and field in _BARE:
        raw = _BARE[field] + raw
    return canonical_value(raw)


class _Keys:
    """Extension keys (``prefix:local``) to ``{namespace}local`` (rule 19/20)."""

    __slots__ = ("_cache", "_namespaces")

    def __init__(self, namespaces: Mapping[str, str]) -> None:
        self._namespaces = namespaces
        self._cache: dict[str, str] = {}

    def __call__(self, key: str) -> str:
        known = self._cache.get(key)
        if known is None:
            prefix, sep, local = key.partition(":")
            namespace = self._namespaces.get(prefix) if sep else None
            known = f"{{{namespace}}}{local}" if namespace is not None else key
            self._cache[key] = known
        return known


def _generic(key: str, value: Any, keys: _Keys) -> Iterator[str]:
    """One extension member as pre-hash substrings (a list yields one per item)."""
    if isinstance(value, list):
        for item in value:
            yield from _generic(key, item, keys)
        return
    name = keys(key)
    if isinstance(value, dict):
        own = value.get("#text")
        head = name + (f"={canonical_value(own)}" if own not in (None, "") else "")
        children = sorted(
            part
            for k, v in value.items()
            if k != "#text" and not k.startswith("@")
            for part in _generic(k, v, keys)
        )
        yield head + "".join(children)
        return
    if value is None:
        return
    raw = text(value).strip()
    yield name + (f"={canonical_value(raw)}" if raw else "")


def _extensions(items: Iterable[tuple[str, Any]], keys: _Keys) -> list[str]:
    return sorted(part for k, v in items for part in _generic(k, v, keys))


def _sensor_element(element: Mapping[str, Any], keys: _Keys) -> tuple[str, str]:
    """(ordered part, leftover extension part) of one sensor element."""
    ordered = ""
    leftover: list[str] = []
    metadata = element.get("sensorMetadata")
    if isinstance(metadata, Mapping):
        fields = "".join(
            f"{f}={canonical_time(metadata[f]) if f in _TIMES else canonical_value(metadata[f])}"
            for f in METADATA_FIELDS
            if metadata.get(f) not in (None, "")
        )
        if fields:
            ordered += "sensorMetadata" + fields
        extra = _extensions(((k, v) for k, v in metadata.items() if k not in METADATA_FIELDS), keys)
        if extra:
            leftover.append("sensorMetadata" + "".join(extra))
    reports = element.get("sensorReport") or []
    strings = []
    for report in reports if isinstance(reports, list) else [reports]:
        if not isinstance(report, Mapping):
            continue
        fields = "".join(
            f"{f}={_report_value(f, report[f])}"
            for f in REPORT_FIELDS
            if report.get(f) not in (None, "")
        )
        if fields:
            strings.append("sensorReport" + fields)
        extra = _extensions(((k, v) for k, v in report.items() if k not in REPORT_FIELDS), keys)
        if extra:
            leftover.append("sensorReport" + "".join(extra))
    ordered += "".join(sorted(strings))
    leftover.extend(
        _extensions(
            ((k, v) for k, v in element.items() if k not in ("sensorMetadata", "sensorReport")),
            keys,
        )
    )
    return (
        "sensorElement" + ordered if ordered else "",
        "sensorElement" + "".join(sorted(leftover)) if leftover else "",
    )


def _report_value(field: str, value: Any) -> str:
    if field == "time":
        return canonical_time(value)
    if field in ("type", "exception", "component"):
        return _vocab(field, value)
    return canonical_value(value)


def _typed_list(items: Any, name: str, keys: _Keys) -> str:
    """bizTransactionList / sourceList / destinationList: type first, then the value."""
    type_field = "bizTransactionType" if name == "bizTransaction" else "sourceDestType"
    parts = []
    for item in items or []:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        head = f"type={_vocab(type_field, kind)}" if kind not in (None, "") else ""
        parts.append(f"{head}{name}={canonical_value(item.get(name, ''))}")
    return "".join(sorted(parts))


def prehash(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> str:
    """The canonical pre-hash string of one normalised event."""
    keys = _Keys(namespaces)
    parts = [f"eventType={event.get('type', '')}"]
    leftovers: list[str] = []
    for field in ORDER:
        value = event.get(field)
        if value is None or value == "" or value == [] or value == {}:
            continue
        if field == "eventTime":
            parts.append(f"eventTime={canonical_time(value)}")
        elif field in EPC_LISTS:
            parts.append(field + "".join(sorted(f"epc={canonical_value(v)}" for v in value)))
        elif field in QUANTITY_LISTS:
            parts.append(field + "".join(sorted(_quantity(q) for q in value)))
        elif field in ("bizStep", "disposition"):
            parts.append(f"{field}={_vocab(field, value)}")
        elif field == "persistentDisposition":
            sets = sorted(f"set={_vocab('set', v)}" for v in value.get("set") or [])
            unsets = sorted(f"unset={_vocab('unset', v)}" for v in value.get("unset") or [])
            if sets or unsets:
                parts.append("persistentDisposition" + "".join(sets) + "".join(unsets))
        elif field in ("readPoint", "bizLocation"):
            if value.get("id") not in (None, ""):
                parts.append(f"{field}id={canonical_value(value['id'])}")
            extra = _extensions(((k, v) for k, v in value.items() if k != "id"), keys)
            if extra:
                leftovers.append(field + "".join(extra))
        elif field in ("bizTransactionList", "sourceList", "destinationList"):
            body = _typed_list(value, field.removesuffix("List"), keys)
            if body:
                parts.append(field + body)
        elif field == "sensorElementList":
            ordered, extra = [], []
            for element in value:
                if isinstance(element, Mapping):
                    o, e = _sensor_element(element, keys)
                    if o:
                        ordered.append(o)
                    if e:
                        extra.append(e)
            parts.extend(sorted(ordered))
            leftovers.extend(sorted(extra))
        elif field == "ilmd":
            body = _extensions(value.items(), keys) if isinstance(value, Mapping) else []
            if body:
                parts.append("ilmd" + "".join(body))
        else:
            parts.append(f"{field}={canonical_value(value)}")
    extensions = _extensions(
        ((k, v) for k, v in event.items() if k not in STANDARD and not k.startswith("@")), keys
    )
    return "".join(parts) + "".join(leftovers) + "".join(extensions)


def _quantity(element: Any) -> str:
    if not isinstance(element, Mapping):
        return "quantityElement"
    out = "quantityElement"
    if element.get("epcClass") not in (None, ""):
        out += f"epcClass={canonical_value(element['epcClass'])}"
    if element.get("quantity") not in (None, ""):
        out += f"quantity={canonical_value(element['quantity'])}"
    if element.get("uom") not in (None, ""):
        out += f"uom={canonical_value(element['uom'])}"
    return out


def hash_id(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> str:
    digest = hashlib.sha256(prehash(event, namespaces).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver={VERSION}"
