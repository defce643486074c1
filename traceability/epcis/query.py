"""The SimpleEventQuery of the REST binding (``GET /epcis/events``) as SQL on the event store.

Supported: ``eventType``, ``GE_/LT_eventTime``, ``GE_/LT_recordTime``, ``EQ_action``,
``EQ_bizStep``, ``EQ_disposition``, ``EQ_readPoint``, ``EQ_bizLocation``, ``EQ_eventID``,
``MATCH_epc``, ``MATCH_parentID``, ``MATCH_inputEPC``, ``MATCH_outputEPC``,
``MATCH_anyEPC``, ``MATCH_epcClass``, ``MATCH_inputEPCClass``, ``MATCH_outputEPCClass``,
``MATCH_anyEPCClass``, ``EQ_bizTransaction_<type>``, ``orderBy``, ``orderDirection``,
``perPage`` and ``nextPageToken``.  A value with ``|`` is a list whose items are ORed.
``MATCH_*`` values may be EPC pattern URIs ending in ``*`` (``urn:epc:idpat:sgtin:…*``),
which match every instance and lot of that class.  Unknown parameters are refused with a
QueryParameterException, as the standard requires.

Pagination is keyset-based: the token carries the last row's sort key and a fingerprint of
the filters, so a page is one index range scan however deep the client pages.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from traceability.epcis import digital_link
from traceability.epcis.errors import query_parameter
from traceability.epcis.model import EVENT_TYPES
from traceability.epcis.store import EventStore, epoch_ms, identifier, present
from traceability.epcis.vocab import to_bare

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 1000
MAX_VALUES = 100

_MATCH_ROLES = {
    "MATCH_epc": ("epc", "child"),
    "MATCH_parentID": ("parent",),
    "MATCH_inputEPC": ("input",),
    "MATCH_outputEPC": ("output",),
    "MATCH_anyEPC": ("epc", "child", "input", "output", "parent"),
    "MATCH_epcClass": ("class", "childClass"),
    "MATCH_inputEPCClass": ("inputClass",),
    "MATCH_outputEPCClass": ("outputClass",),
    "MATCH_anyEPCClass": ("class", "childClass", "inputClass", "outputClass"),
}
_EQ_COLUMNS = {
    "EQ_action": "action",
    "EQ_bizStep": "biz_step",
    "EQ_disposition": "disposition",
    "EQ_readPoint": "read_point",
    "EQ_bizLocation": "biz_location",
}
_TIMES = {
    "GE_eventTime": ("event_time", ">="),
    "LT_eventTime": ("event_time", "<"),
    "GE_recordTime": ("record_time", ">="),
    "LT_recordTime": ("record_time", "<"),
}
_ORDER = {"eventTime": "event_time", "recordTime": "record_time"}
_PAGING = ("orderBy", "orderDirection", "perPage", "nextPageToken")


@dataclass(slots=True)
class Page:
    events: list[dict[str, Any]]
    next_token: str | None


def _values(name: str, raw: str) -> list[str]:
    values = [v.strip() for v in raw.split("|")]
    if not all(values):
        raise query_parameter(f"查询参数 {name} 含空值: {raw!r}")
    if len(values) > MAX_VALUES:
        raise query_parameter(f"查询参数 {name} 的取值过多 (上限 {MAX_VALUES})")
    return values


def _match_clause(name: str, raw: str, params: list[Any]) -> str:
    roles = _MATCH_ROLES[name]
    alternatives = []
    for value in _values(name, raw):
        if value.endswith("*"):
            prefix = digital_link.canonical(value)
            if prefix is None:
                raise query_parameter(f"{name} 的模式无法识别: {value!r}")
            alternatives.append("(i.value = ? OR i.value LIKE ? ESCAPE '\\')")
            params.extend([prefix, _like_prefix(prefix + "/")])
        else:
            alternatives.append("i.value = ?")
            params.append(identifier(value))
    role_marks = ",".join("?" * len(roles))
    params.extend(roles)
    return (
        "e.id IN (SELECT i.event FROM epcis_event_ids i WHERE "
        f"({' OR '.join(alternatives)}) AND i.role IN ({role_marks}))"
    )


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _time(name: str, raw: str) -> int:
    try:
        return epoch_ms(raw)
    except ValueError:
        raise query_parameter(f"{name} 应为带时区的 ISO 8601 时间，收到 {raw!r}") from None


def _fingerprint(filters: Mapping[str, str]) -> str:
    text = orjson.dumps(sorted(filters.items())).decode()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode_token(key: tuple[int, int], fingerprint: str) -> str:
    raw = orjson.dumps({"k": list(key), "f": fingerprint})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, fingerprint: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        key = (int(data["k"][0]), int(data["k"][1]))
    except (ValueError, KeyError, TypeError, IndexError, orjson.JSONDecodeError):
        raise query_parameter("nextPageToken 无效") from None
    if data.get("f") != fingerprint:
        raise query_parameter("nextPageToken 与本次查询条件不符：翻页时不能修改查询参数")
    return key


def run(store: EventStore, args: Mapping[str, str]) -> Page:
    """Run a SimpleEventQuery given as REST query parameters."""
    where: list[str] = []
    params: list[Any] = []
    filters = {k: v for k, v in args.items() if k not in _PAGING}
    for name, raw in filters.items():
        if name == "eventType":
            kinds = _values(name, raw)
            unknown = [k for k in kinds if k not in EVENT_TYPES]
            if unknown:
                raise query_parameter(f"eventType 不认识: {', '.join(unknown)}")
            where.append(f"e.event_type IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        elif name in _TIMES:
            column, op = _TIMES[name]
            where.append(f"e.{column} {op} ?")
            params.append(_time(name, raw))
        elif name in _EQ_COLUMNS:
            values = _values(name, raw)
            if name == "EQ_bizStep":
                values = [to_bare("bizStep", v) for v in values]
            elif name == "EQ_disposition":
                values = [to_bare("disposition", v) for v in values]
            elif name in ("EQ_readPoint", "EQ_bizLocation"):
                values = [identifier(v) for v in values]
            where.append(f"e.{_EQ_COLUMNS[name]} IN ({','.join('?' * len(values))})")
            params.extend(values)
        elif name == "EQ_eventID":
            values = _values(name, raw)
            marks = ",".join("?" * len(values))
            where.append(f"(e.hash_id IN ({marks}) OR e.event_id IN ({marks}))")
            params.extend(values + values)
        elif name in _MATCH_ROLES:
            where.append(_match_clause(name, raw, params))
        elif name.startswith("EQ_bizTransaction_") and len(name) > len("EQ_bizTransaction_"):
            kind = to_bare("bizTransactionType", name[len("EQ_bizTransaction_") :])
            values = _values(name, raw)
            where.append(
                "e.id IN (SELECT b.event FROM epcis_biz_transactions b WHERE b.type = ?"
                f" AND b.value IN ({','.join('?' * len(values))}))"
            )
            params.extend([kind, *values])
        else:
            raise query_parameter(f"不支持的查询参数: {name}")
    order_by = args.get("orderBy", "recordTime")
    if order_by not in _ORDER:
        raise query_parameter(f"orderBy 应为 eventTime 或 recordTime，收到 {order_by!r}")
    direction = args.get("orderDirection", "ASC").upper()
    if direction not in ("ASC", "DESC"):
        raise query_parameter(f"orderDirection 应为 ASC 或 DESC，收到 {direction!r}")
    try:
        per_page = int(args.get("perPage", DEFAULT_PER_PAGE))
    except ValueError:
        raise query_parameter(f"perPage 应为正整数，收到 {args.get('perPage')!r}") from None
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise query_parameter(f"perPage 应在 1 到 {MAX_PER_PAGE} 之间")
    column = _ORDER[order_by]
    fingerprint = _fingerprint({**filters, "orderBy": order_by, "orderDirection": direction})
    if "nextPageToken" in args:
        last = _decode_token(args["nextPageToken"], fingerprint)
        op = ">" if direction == "ASC" else "<"
        where.append(f"(e.{column}, e.id) {op} (?, ?)")
        params.extend(last)
    sql = (
        f"SELECT e.{column}, e.id, e.body, e.namespaces FROM epcis_events e"
        f"{' WHERE ' + ' AND '.join(where) if where else ''}"
        f" ORDER BY e.{column} {direction}, e.id {direction} LIMIT ?"
    )
    rows = store.select(sql, [*params, per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    token = _encode_token((rows[-1][0], rows[-1][1]), fingerprint) if more and rows else None
    return Page([present(body, ns) for _, _, body, ns in rows], token)
