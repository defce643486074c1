"""Check records against the schema-derived field constraints in :mod:`.spec`.

Problems come back as Chinese sentences naming the element and field, so a report can
show them as they are.  Values of free-text fields are never echoed (they may be personal
data); numbers and times are, because the sender needs to see what was wrong.

Speed matters (this runs on every record of every message), so each constraint table is
compiled once into a single regex over the record's values joined in field order
(required values present, lengths in range, numbers and times in conservative shapes).
Only a record failing it is walked field by field to say what is wrong; the regex never
accepts what the detailed pass would reject.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import repeat

from traceability.formats.ceb.spec import (
    BASE_TRANSFER_SPEC,
    DECIMAL_FRACTION_DIGITS,
    DECIMAL_TOTAL_DIGITS,
    FIELD_ZH,
    FieldSpec,
    MessageSpec,
)
from traceability.formats.ceb.xml import Message, Record

_TIME_FORMATS = {
    "datetime": ((14,), "YYYYMMDDhhmmss"),
    "datetime_ms": ((17,), "YYYYMMDDhhmmssSSS"),
    "receipt_time": ((14, 17), "YYYYMMDDhhmmss[SSS]"),
    "date": ((8,), "YYYYMMDD"),
}


_YMD = (  # every real day except 29 February, which goes to the slow path's leap-year check
    r"(?!0000)[0-9]{4}(?:(?:0[1-9]|1[0-2])(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])(?:29|30)|(?:0[13578]|1[02])31)"
)
_HMS = r"(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"
_FAST_KIND = {
    "date": _YMD,
    "datetime": _YMD + _HMS,
    "datetime_ms": _YMD + _HMS + "[0-9]{3}",
    "receipt_time": _YMD + _HMS + "(?:[0-9]{3})?",
    # at most 14 integer + 5 fraction digits: always inside N19,5 (the slow path decides
    # the rest, e.g. trailing zeros beyond five places)
    "decimal": r"[+-]?0*(?:[0-9]{1,14}(?:\.[0-9]{0,5})?|\.[0-9]{1,5})",
}
_SEPARATOR = "\x00"  # cannot occur in XML text, so it cleanly separates field values
_BLANKS = repeat("")


def _fast_part(f: FieldSpec) -> str:
    """The regex one field's value must match for the record to be certainly clean."""
    if f.kind == "int":
        body = f"[+-]?0*[0-9]{{1,{f.max_length or 10}}}"
    elif f.kind != "text":
        body = _FAST_KIND[f.kind]
    elif f.max_length is None:
        return "[^\x00]+" if f.required else "[^\x00]*"
    elif f.exact:
        body = f"[^\x00]{{{f.max_length}}}"
    else:
        low = max(f.min_length, 1)
        body = f"[^\x00]{{{low},{f.max_length}}}"
    return body if f.required else f"(?:{body})?"


@dataclass(frozen=True, slots=True)
class _Fast:
    """All of a table's constraints as one regex over its values joined in field order:
    one C-level ``join`` and one ``fullmatch`` per record head or line."""

    names: tuple[str, ...]
    pattern: re.Pattern[str]

    def clean(self, values: Mapping[str, str]) -> bool:
        joined = _SEPARATOR.join(map(values.get, self.names, _BLANKS))
        return self.pattern.fullmatch(joined) is not None


def _fast(fields: tuple[FieldSpec, ...]) -> _Fast:
    pattern = _SEPARATOR.join(_fast_part(f) for f in fields)
    return _Fast(tuple(f.name for f in fields), re.compile(pattern, re.DOTALL))


@dataclass(frozen=True, slots=True)
class _Plan:
    fast: _Fast
    required: tuple[str, ...]
    max_lengths: tuple[tuple[str, int], ...]
    exact: tuple[tuple[str, int], ...]
    ranges: tuple[tuple[str, int, int], ...]
    decimals: tuple[str, ...]
    ints: tuple[tuple[str, int], ...]
    times: tuple[tuple[str, str], ...]


def _compile(fields: tuple[FieldSpec, ...]) -> _Plan:
    text = [f for f in fields if f.kind == "text" and f.max_length is not None]
    return _Plan(
        fast=_fast(fields),
        required=tuple(f.name for f in fields if f.required),
        max_lengths=tuple((f.name, f.max_length or 0) for f in text if not f.min_length),
        exact=tuple((f.name, f.max_length or 0) for f in text if f.exact),
        ranges=tuple(
            (f.name, f.min_length, f.max_length or 0) for f in text if f.min_length and not f.exact
        ),
        decimals=tuple(f.name for f in fields if f.kind == "decimal"),
        ints=tuple((f.name, f.max_length or 10) for f in fields if f.kind == "int"),
        times=tuple((f.name, f.kind) for f in fields if f.kind in _TIME_FORMATS),
    )


_PLANS: dict[int, tuple[tuple[FieldSpec, ...], _Plan]] = {}


def _plan(fields: tuple[FieldSpec, ...]) -> _Plan:
    """Compiled plan for a constraint table, cached by identity (tables are module-level)."""
    cached = _PLANS.get(id(fields))
    if cached is None or cached[0] is not fields:
        cached = _PLANS[id(fields)] = (fields, _compile(fields))
    return cached[1]


def _label(name: str) -> str:
    zh = FIELD_ZH.get(name)
    return f"{name}（{zh}）" if zh else name


def decimal_problem(value: str) -> str | None:
    """Why ``value`` is not an XSD decimal within N19,5, or None if it is."""
    digits = value[1:] if value[:1] in ("+", "-") else value
    whole, _, fraction = digits.partition(".")
    if not (whole or fraction) or not digits.isascii() or not (whole + fraction).isdigit():
        return "不是数字"
    fraction = fraction.rstrip("0")
    if len(fraction) > DECIMAL_FRACTION_DIGITS:
        return f"小数位超过 {DECIMAL_FRACTION_DIGITS} 位"
    if len(whole.lstrip("0")) + len(fraction) > DECIMAL_TOTAL_DIGITS:
        return f"有效数字超过 {DECIMAL_TOTAL_DIGITS} 位"
    return None


def time_ok(value: str, kind: str) -> bool:
    """Is ``value`` a real calendar time in the ``kind``'s digit format?"""
    lengths = _TIME_FORMATS[kind][0]
    if len(value) not in lengths or not (value.isascii() and value.isdigit()):
        return False
    try:
        if len(value) == 8:
            dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        else:
            dt.datetime(
                int(value[:4]), int(value[4:6]), int(value[6:8]),
                int(value[8:10]), int(value[10:12]), int(value[12:14]),
            )  # fmt: skip
    except ValueError:
        return False
    return True


def check_fields(fields: tuple[FieldSpec, ...], values: Mapping[str, str], where: str) -> list[str]:
    """Problems of one head/line/flat record ``values`` against ``fields``."""
    plan = _plan(fields)
    return [] if plan.fast.clean(values) else _detail(plan, values, where)


def _detail(plan: _Plan, values: Mapping[str, str], where: str) -> list[str]:
    get = values.get
    problems = [f"{where} 缺少必填字段 {_label(n)}" for n in plan.required if not get(n)]
    for name, limit in plan.max_lengths:
        value = get(name)
        if value and len(value) > limit:
            problems.append(f"{where} 字段 {_label(name)} 超长：{len(value)} 字符，上限 {limit}")
    for name, size in plan.exact:
        value = get(name)
        if value and len(value) != size:
            problems.append(f"{where} 字段 {_label(name)} 长度应为 {size}，实际 {len(value)}")
    for name, low, high in plan.ranges:
        value = get(name)
        if value and not low <= len(value) <= high:
            problems.append(
                f"{where} 字段 {_label(name)} 长度应为 {low}～{high}，实际 {len(value)}"
            )
    for name in plan.decimals:
        value = get(name)
        why = decimal_problem(value) if value else None
        if why:
            problems.append(f"{where} 字段 {_label(name)} {why}（N19,5）：{value!r}")
    for name, digits in plan.ints:
        value = get(name)
        if value:
            bare = value[1:] if value[:1] in ("+", "-") else value
            if not (bare.isascii() and bare.isdigit()):
                problems.append(f"{where} 字段 {_label(name)} 不是整数：{value!r}")
            elif len(bare.lstrip("0")) > digits:
                problems.append(f"{where} 字段 {_label(name)} 超过 {digits} 位整数：{value!r}")
    for name, kind in plan.times:
        value = get(name)
        if value and not time_ok(value, kind):
            problems.append(
                f"{where} 字段 {_label(name)} 时间格式应为 {_TIME_FORMATS[kind][1]}：{value!r}"
            )
    return problems


def validate_record(spec: MessageSpec, record: Record) -> list[str]:
    """Chinese descriptions of everything in ``record`` that breaks ``spec``'s schema:
    missing required fields, over-length text, non-numeric amounts, malformed times,
    too few or too many lines.  An empty list means the record is clean."""
    problems = check_fields(spec.head_constraints, record.head, spec.head or spec.record)
    if spec.lines is None:
        return problems
    count = len(record.lines)
    if count < spec.min_lines:
        problems.append(f"{spec.record} 缺少表体 {spec.lines}")
    if spec.max_lines is not None and count > spec.max_lines:
        problems.append(f"{spec.record} 表体 {spec.lines} 有 {count} 项，上限 {spec.max_lines}")
    constraints = spec.line_constraints
    for index, line in enumerate(record.lines, 1):
        problems.extend(check_fields(constraints, line, f"{spec.lines}[{index}]"))
    return problems


def validate_message(message: Message) -> list[tuple[int | None, str]]:
    """Problems of a whole message as ``(record number or None, text)``; the
    ``BaseTransfer`` (None) is checked for messages that carry one."""
    spec = message.spec
    problems: list[tuple[int | None, str]] = []
    if spec.has_base_transfer:
        transfer = check_fields(BASE_TRANSFER_SPEC, message.base_transfer, "BaseTransfer")
        problems.extend((None, p) for p in transfer)
    for index, record in enumerate(message.records, 1):
        problems.extend((index, p) for p in validate_record(spec, record))
    return problems
