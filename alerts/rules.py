"""Evaluate one declarative rule over the collected signals (ElastAlert-style kinds).

A rule reads signals of one kind in a time span ending at ``now`` (the window, or more
for the kinds that compare with the past), filters them with ``where``, groups them by
``key`` and returns a :class:`Hit` per key that fires, with the evidence and a zh-CN
explanation.  Everything here is pure: the tests drive it with signals they make.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from alerts.config import Rule, duration_seconds
from graph_schema import SCHEMA

_OPS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}
FLATLINE_HISTORY = 4  # windows before the current one in which a key must have been seen


@dataclass(slots=True)
class SignalRow:
    id: int
    time: dt.datetime
    entity: str | None
    entities: list[str]
    attrs: dict[str, Any]

    def get(self, name: str) -> Any:
        if name == "entity":
            return self.entity
        if name == "entities":
            return self.entities
        if name == "time":
            return self.time
        return self.attrs.get(name)


@dataclass(slots=True)
class Hit:
    key: str
    explanation: str
    evidence: list[int]
    entities: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)


def span_seconds(rule: Rule) -> float | None:
    """How far back from ``now`` a rule needs signals (None: all of them)."""
    window = rule.window_seconds
    if rule.kind == "spike" and window:
        return 2 * window
    if rule.kind == "flatline" and window:
        return (FLATLINE_HISTORY + 1) * window
    if rule.kind == "new_term":
        return (window or 0) + duration_seconds(rule.lookback or "0s")
    return window


def _accepts(expected: Any, actual: Any) -> bool:
    if isinstance(actual, list):
        return any(_accepts(expected, item) for item in actual)
    if isinstance(expected, list):
        return any(_accepts(item, actual) for item in expected)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected or actual == expected
    if actual is None:
        return False
    return str(actual) == str(expected)


def matches(rule: Rule, signal: SignalRow) -> bool:
    return all(_accepts(value, signal.get(name)) for name, value in rule.where.items())


def _keys(rule: Rule, signal: SignalRow) -> list[str]:
    value = signal.get(rule.key)
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if v is not None and v != ""]


def _group(rule: Rule, signals: Iterable[SignalRow]) -> dict[str, list[SignalRow]]:
    groups: dict[str, list[SignalRow]] = defaultdict(list)
    for signal in signals:
        for key in _keys(rule, signal):
            groups[key].append(signal)
    return groups


def _entities(signals: Sequence[SignalRow], limit: int = 100) -> list[str]:
    seen: dict[str, None] = {}
    for signal in signals:
        for entity in signal.entities or ([signal.entity] if signal.entity else []):
            seen.setdefault(entity, None)
            if len(seen) >= limit:
                return list(seen)
    return list(seen)


def _hit(
    rule: Rule, key: str, signals: Sequence[SignalRow], text: str, limit: int, **metrics: Any
) -> Hit:
    ordered = sorted(signals, key=lambda s: (s.time, s.id))
    entities = _entities(ordered)
    label, _, rest = key.partition(":")
    if rest and label in SCHEMA.labels and key not in entities:
        entities.insert(0, key)  # keyed by an entity (the seller …): the risk names it first
    return Hit(
        key=key,
        explanation=f"规则 {rule.id}（{rule.description}）：{text}",
        evidence=[s.id for s in ordered[-limit:]],
        entities=entities,
        metrics={"signals": len(signals), **metrics},
    )


def _days(seconds: float | None) -> str:
    if not seconds:
        return "全部时间"
    if seconds % 86400 == 0:
        return f"{int(seconds // 86400)} 天"
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)} 小时"
    return f"{int(seconds)} 秒"


def evaluate(
    rule: Rule,
    signals: Sequence[SignalRow],
    now: dt.datetime,
    negative: frozenset[str] = frozenset(),
    limit: int = 20,
) -> list[Hit]:
    """The hits of ``rule`` at ``now`` over ``signals`` (of the rule's kind, any time)."""
    window = rule.window_seconds
    start = now - dt.timedelta(seconds=window) if window else None
    relevant = [s for s in signals if s.time <= now and matches(rule, s)]
    current = [s for s in relevant if start is None or s.time > start]
    span = _days(window)
    hits: list[Hit] = []
    kind = rule.kind
    if kind in ("any", "match"):
        for key, group in _group(rule, current).items():
            latest = max(group, key=lambda s: (s.time, s.id))
            message = latest.attrs.get("message") or latest.attrs.get("title") or ""
            text = f"{span}内 {len(group)} 条相关信号（{key}）" + (
                f"：{message}" if message else ""
            )
            hits.append(_hit(rule, key, group, text, limit))
    elif kind == "frequency":
        assert rule.threshold is not None
        for key, group in _group(rule, current).items():
            if len(group) >= rule.threshold:
                text = f"{span}内 {key} 出现 {len(group)} 次（阈值 {rule.threshold:g}）"
                hits.append(_hit(rule, key, group, text, limit, count=len(group)))
    elif kind == "spike":
        assert window and rule.ratio
        before_start = now - dt.timedelta(seconds=2 * window)
        reference = _group(rule, (s for s in relevant if before_start < s.time <= start))  # type: ignore[operator]
        for key, group in _group(rule, current).items():
            ref = len(reference.get(key, []))
            minimum = rule.threshold or 1
            if len(group) >= minimum and len(group) >= rule.ratio * max(ref, 1):
                text = (
                    f"最近{span} {key} 出现 {len(group)} 次，前一{span} {ref} 次"
                    f"（倍数阈值 {rule.ratio:g}，最少 {minimum:g} 次）"
                )
                hits.append(_hit(rule, key, group, text, limit, count=len(group), reference=ref))
    elif kind == "flatline":
        assert window and rule.threshold is not None and start is not None
        history_start = now - dt.timedelta(seconds=(FLATLINE_HISTORY + 1) * window)
        history = _group(rule, (s for s in relevant if history_start < s.time <= start))
        counts = _group(rule, current)
        for key, past in history.items():
            count = len(counts.get(key, []))
            if count < rule.threshold:
                text = (
                    f"{key} 最近{span}仅 {count} 条（低于 {rule.threshold:g}），"
                    f"此前 {FLATLINE_HISTORY} 个周期共 {len(past)} 条"
                )
                hits.append(
                    _hit(rule, key, past[-limit:], text, limit, count=count, history=len(past))
                )
    elif kind == "new_term":
        assert rule.field
        lookback = duration_seconds(rule.lookback or "0s")
        cut = start or now
        known_start = cut - dt.timedelta(seconds=lookback)
        known: dict[str, set[str]] = defaultdict(set)
        for signal in relevant:
            if known_start < signal.time <= cut:
                for key in _keys(rule, signal):
                    known[key].update(_values(signal.get(rule.field)))
        fresh: dict[tuple[str, str], list[SignalRow]] = defaultdict(list)
        for signal in current:
            for key in _keys(rule, signal):
                for term in _values(signal.get(rule.field)):
                    if term not in known[key]:
                        fresh[(key, term)].append(signal)
        for (key, term), group in sorted(fresh.items()):
            text = f"{key} 出现新的 {rule.field} = {term}（此前 {_days(lookback)}内未见）"
            hits.append(_hit(rule, f"{key}|{term}", group, text, limit, term=term))
    elif kind == "cardinality":
        assert rule.field and rule.max is not None
        for key, group in _group(rule, current).items():
            distinct = sorted({v for s in group for v in _values(s.get(rule.field))})
            if len(distinct) > rule.max:
                text = (
                    f"{span}内 {rule.key} = {key} 关联 {len(distinct)} 个不同的 "
                    f"{rule.field}（上限 {rule.max}）"
                )
                hits.append(
                    _hit(
                        rule,
                        key,
                        group,
                        text,
                        limit,
                        distinct=len(distinct),
                        values=distinct[:limit],
                    )
                )
    elif kind == "list":
        assert rule.field
        for key, group in _group(rule, current).items():
            listed = sorted({v for s in group for v in _values(s.get(rule.field))} & negative)
            if listed:
                on = [s for s in group if set(_values(s.get(rule.field))) & negative]
                text = f"{'、'.join(listed)} 在负面清单上（{len(on)} 条信号）"
                hits.append(_hit(rule, key, on, text, limit, listed=listed))
    elif kind == "threshold":
        assert rule.field and rule.value is not None
        for key, group in _group(rule, current).items():
            numbers = [n for s in group if (n := _number(s.get(rule.field))) is not None]
            if rule.agg != "count" and not numbers:
                continue
            value = _aggregate(rule.agg, numbers, len(group))
            if _OPS[rule.op](value, rule.value):
                text = (
                    f"{span}内 {key} 的 {rule.field} {rule.agg} = {value:g}"
                    f"（条件 {rule.op} {rule.value:g}）"
                )
                hits.append(_hit(rule, key, group, text, limit, value=value))
    return hits


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _aggregate(agg: str, numbers: list[float], count: int) -> float:
    if agg == "count":
        return float(count)
    if agg == "sum":
        return round(sum(numbers), 2)
    if agg == "min":
        return min(numbers)
    if agg == "avg":
        return round(sum(numbers) / len(numbers), 4)
    return max(numbers)
