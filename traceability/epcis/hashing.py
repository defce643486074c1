"""The CBV 2.0 canonical event hash (``ni:///sha-256;…?ver=CBV2.0``).

The pre-hash string concatenates the event's data in the canonical property order, every
value canonicalised (UTC millisecond timestamps, numbers without trailing zeros, CBV URNs
and bare CBV terms as CBV web URIs, EPC URIs as constrained GS1 Digital Links), lists
sorted, and then the parts that are not standard fields: extension content found inside
standard fields (readPoint, bizLocation, sensor elements), in canonical order, followed by
the sorted user extensions of the event itself.  ``eventID``, ``recordTime``,
``errorDeclaration`` and ``certificationInfo`` are left out, so that an event and its
error declaration share one ID.

Where the reference implementation's published test vectors and its README disagree we
follow the vectors; the tests in tests/test_epcis_hash.py hold every vector.  Its newest
vectors for documents with custom JSON-LD contexts add these rules:

* a bare value that is no term of the field's CBV code list stays bare (the JSON-LD context
  does not define it);
* a bare code under a GS1 Web Vocabulary code-list property (``locationRoleType``…) is the
  code's IRI, as the GS1 Web Vocabulary context expands it (:data:`vocab.GS1_CODE_PROPERTIES`);
* ``@id`` and ``@type`` inside extension objects are hashed like members;
  ``comment``/``rdfs:comment`` are never hashed;
* a member of readPoint, bizLocation or a sensor element (also inside sensorMetadata and
  sensorReport) that is neither a standard field nor a ``{…/}`` extension — e.g.
  ``bizRules`` in a sensorReport, which the CBV 2.0 property order does not list — is hashed
  among the event's own extensions (``sensorElementList…``), and only where the field holds
  no extension: the reference then emits the extensions alone.

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
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from traceability.epcis import digital_link
from traceability.epcis.vocab import CBV, GS1_VOC, URN_TO_WEB, gs1_code_iri, standard_term_iri

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
# Bare JSON-LD terms of these fields stand for web URIs (hash rule 16): the code list that
# names the term.  A bare value that is no term of the list stays as it is, as it does for
# the reference (its JSON-LD context does not define it).
_BARE = {
    "bizStep": "bizStep",
    "disposition": "disposition",
    "set": "disposition",
    "unset": "disposition",
    "bizTransactionType": "bizTransactionType",
    "sourceDestType": "sourceDestType",
    "type": "measurementType",
    "exception": "sensorAlertType",
    "component": "component",
}
# Members that are never hashed, at any depth (the reference drops JSON-LD comments).
IGNORED = frozenset({"comment", "rdfs:comment"})
# JSON-LD keywords hashed like members inside extension objects (``@id=…``, ``@type=…``).
NESTED_KEYWORDS = frozenset({"@id", "@type"})
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
        raw = standard_term_iri(_BARE[field], raw) or raw
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


def _hashed_member(key: str) -> bool:
    """Whether a member of an extension object takes part in the hash."""
    if key in IGNORED or key == "#text":
        return False
    return not key.startswith("@") or key in NESTED_KEYWORDS


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
            part for k, v in value.items() if _hashed_member(k) for part in _generic(k, v, keys)
        )
        yield head + "".join(children)
        return
    if value is None:
        return
    raw = text(value).strip()
    raw = gs1_code_iri(key, raw) or raw
    yield name + (f"={canonical_value(raw)}" if raw else "")


def _extensions(items: Iterable[tuple[str, Any]], keys: _Keys) -> list[str]:
    return sorted(part for k, v in items if k not in IGNORED for part in _generic(k, v, keys))


def _is_extension(name: str) -> bool:
    """How the reference tells an extension inside a standard field: ``{…/}local``."""
    return "{" in name and "/}" in name


def _split(items: Iterable[tuple[str, Any]], keys: _Keys) -> tuple[list[str], list[str]]:
    """(extension members, other members) that the canonical order does not name."""
    extensions: list[str] = []
    others: list[str] = []
    for key, value in items:
        if key in IGNORED:
            continue
        target = extensions if _is_extension(keys(key)) else others
        target.extend(_generic(key, value, keys))
    return sorted(extensions), sorted(others)


def _metadata_value(name: str, value: Any) -> str:
    return canonical_time(value) if name in _TIMES else canonical_value(value)


def _block(
    name: str, members: Mapping[str, Any], standard: tuple[str, ...], keys: _Keys
) -> tuple[str, str, str]:
    """(ordered, extension, other) parts of a sensorMetadata or sensorReport object."""
    value_of = _metadata_value if name == "sensorMetadata" else _report_value
    fields = "".join(
        f"{f}={value_of(f, members[f])}" for f in standard if members.get(f) not in (None, "")
    )
    extensions, others = _split(((k, v) for k, v in members.items() if k not in standard), keys)
    return (
        name + fields if fields else "",
        name + "".join(extensions) if extensions else "",
        name + "".join(others) if others else "",
    )


def _prefixed(name: str, parts: Iterable[str]) -> str:
    body = "".join(parts)
    return name + body if body else ""


def _sensor_element(element: Mapping[str, Any], keys: _Keys) -> tuple[str, str, str]:
    """(ordered, extension, other) parts of one sensor element."""
    metadata = element.get("sensorMetadata")
    meta = ("", "", "")
    if isinstance(metadata, Mapping):
        meta = _block("sensorMetadata", metadata, METADATA_FIELDS, keys)
    reports = element.get("sensorReport") or []
    blocks = [
        _block("sensorReport", report, REPORT_FIELDS, keys)
        for report in (reports if isinstance(reports, list) else [reports])
        if isinstance(report, Mapping)
    ]
    extensions, others = _split(
        ((k, v) for k, v in element.items() if k not in ("sensorMetadata", "sensorReport")), keys
    )
    return (
        _prefixed("sensorElement", [meta[0], *sorted(b[0] for b in blocks)]),
        _prefixed("sensorElement", sorted([meta[1], *(b[1] for b in blocks), *extensions])),
        _prefixed("sensorElement", sorted([meta[2], *(b[2] for b in blocks), *others])),
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


@dataclass(slots=True)
class _Parts:
    """The three sections of a pre-hash string, in the reference implementation's terms."""

    ordered: list[str] = field(default_factory=list)  # standard fields, canonical order
    fields: list[str] = field(default_factory=list)  # extensions inside standard fields
    others: list[str] = field(default_factory=list)  # sorted with the event's own extensions


def _place(out: _Parts, name: str, value: Any, keys: _Keys) -> None:
    """readPoint/bizLocation: the id, then its extensions (other members only without any)."""
    if not isinstance(value, Mapping):
        return
    if value.get("id") not in (None, ""):
        out.ordered.append(f"{name}id={canonical_value(value['id'])}")
    extensions, others = _split(((k, v) for k, v in value.items() if k != "id"), keys)
    if extensions:
        out.fields.append(_prefixed(name, extensions))
    else:
        out.others.append(_prefixed(name, others))


def _sensors(out: _Parts, elements: Any, keys: _Keys) -> None:
    """Sensor elements; members the order does not name count only where no extension does."""
    parts = [_sensor_element(e, keys) for e in elements if isinstance(e, Mapping)]
    out.ordered.extend(sorted(p[0] for p in parts if p[0]))
    extensions = sorted(p[1] for p in parts if p[1])
    if extensions:
        out.fields.extend(extensions)
    else:
        out.others.append(_prefixed("sensorElementList", sorted(p[2] for p in parts)))


def _standard(name: str, value: Any, keys: _Keys) -> str:
    """One standard field other than the places and the sensor elements."""
    if name == "eventTime":
        return f"eventTime={canonical_time(value)}"
    if name in EPC_LISTS:
        return name + "".join(sorted(f"epc={canonical_value(v)}" for v in value))
    if name in QUANTITY_LISTS:
        return name + "".join(sorted(_quantity(q) for q in value))
    if name in ("bizStep", "disposition"):
        return f"{name}={_vocab(name, value)}"
    if name == "persistentDisposition":
        sets = sorted(f"set={_vocab('set', v)}" for v in value.get("set") or [])
        unsets = sorted(f"unset={_vocab('unset', v)}" for v in value.get("unset") or [])
        return _prefixed(name, sets + unsets)
    if name in ("bizTransactionList", "sourceList", "destinationList"):
        return _prefixed(name, [_typed_list(value, name.removesuffix("List"), keys)])
    if name == "ilmd":
        return _prefixed(
            name, _extensions(value.items(), keys) if isinstance(value, Mapping) else []
        )
    return f"{name}={canonical_value(value)}"


def prehash(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> str:
    """The canonical pre-hash string of one normalised event."""
    keys = _Keys(namespaces)
    out = _Parts(ordered=[f"eventType={event.get('type', '')}"])
    for name in ORDER:
        value = event.get(name)
        if value is None or value == "" or value == [] or value == {}:
            continue
        if name in ("readPoint", "bizLocation"):
            _place(out, name, value, keys)
        elif name == "sensorElementList":
            _sensors(out, value, keys)
        else:
            out.ordered.append(_standard(name, value, keys))
    own = [(k, v) for k, v in event.items() if k not in STANDARD and not k.startswith("@")]
    extensions = sorted(_extensions(own, keys) + out.others)
    return "".join(out.ordered) + "".join(out.fields) + "".join(extensions)


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
