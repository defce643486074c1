"""Monitoring signals (监测信号): thresholds and trends on the monthly statistics.

After each compute, every computed month that has settled (``settle_days`` after its end,
so that late receipts and returns have arrived) is compared with the month before it:

- ``release_rate_drop``: the release rate of all inventories fell by at least
  ``release_rate_drop`` (a share: 0.10 = 10 percentage points);
- ``return_jump``: a consumer category's return rate rose by at least ``return_rate_jump``
  and to at least ``return_rate_ratio`` times the month before (any rise from zero);
- ``value_shift``: a platform's declared goods value per parcel (gross of returns) moved by
  at least ``value_shift`` (relative, up or down).

Each comparison needs ``min_inventories`` (``min_parcels`` for value per parcel) in both
months.  Signals are rows of ``stats_signals``, keyed by ``dedupe`` (type, month, subject):
a signal that no longer holds after a revision stays with ``active = 0``.  ``seq`` grows with
every insert or change, so a reader (the risk feature's collect step) takes the rows after
the last ``seq`` it saw and upserts them by ``dedupe``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DDL = (
    "CREATE TABLE IF NOT EXISTS stats_signals (dedupe TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
    " type TEXT NOT NULL, month TEXT NOT NULL, time TEXT NOT NULL, entity TEXT,"
    " entities TEXT NOT NULL, attrs TEXT NOT NULL, active INTEGER NOT NULL,"
    " updated_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS stats_signals_by_seq ON stats_signals (seq)",
    "CREATE INDEX IF NOT EXISTS stats_signals_by_month ON stats_signals (month)",
)
CHINA = dt.timezone(dt.timedelta(hours=8))
TYPES = ("release_rate_drop", "return_jump", "value_shift")


class SignalSettings(BaseModel):
    """``[statistics.signals]``: the thresholds of the monitoring signals."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    settle_days: int = Field(7, ge=0, le=90)
    release_rate_drop: float = Field(0.10, gt=0, le=1)
    return_rate_jump: float = Field(0.05, gt=0, le=1)
    return_rate_ratio: float = Field(2.0, ge=1)
    value_shift: float = Field(0.30, gt=0)
    min_inventories: int = Field(30, ge=1)
    min_parcels: int = Field(30, ge=1)


@dataclass(frozen=True, slots=True)
class Found:
    type: str
    month: str
    subject: str
    entity: str | None
    attrs: dict[str, Any]

    @property
    def dedupe(self) -> str:
        return f"stats:{self.type}:{self.month}:{self.subject}"


def previous(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def month_end(month: str) -> dt.datetime:
    """The first instant after ``month`` (China time)."""
    year, mon = int(month[:4]), int(month[5:7])
    return dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=CHINA)


def settled(month: str, today: dt.date, days: int) -> bool:
    return today >= month_end(month).date() + dt.timedelta(days=days)


def _rows(db: sqlite3.Connection, month: str, dimension: str) -> dict[str, tuple[str, dict]]:
    return {
        value: (name, json.loads(measures))
        for value, name, measures in db.execute(
            "SELECT value, label, measures FROM stats_monthly WHERE month = ? AND dimension = ?",
            (month, dimension),
        )
    }


def _rate(measures: dict[str, Any], count: str) -> float | None:
    n = measures.get("inventories") or 0
    return (measures.get(count) or 0) / n if n else None


def _per_parcel(measures: dict[str, Any]) -> float | None:
    parcels = measures.get("parcels") or 0
    if not parcels:
        return None
    gross = float(measures.get("goods_value") or 0) + float(measures.get("returned_value") or 0)
    return gross / parcels


def detect(db: sqlite3.Connection, month: str, rules: SignalSettings) -> list[Found]:
    """The signals of ``month`` against the month before (nothing without it)."""
    before = previous(month)
    found: list[Found] = []
    base = {"month": month, "previous_month": before}
    now_total = _rows(db, month, "total").get("all")
    old_total = _rows(db, before, "total").get("all")
    if now_total and old_total:
        new_m, old_m = now_total[1], old_total[1]
        enough = min(new_m.get("inventories", 0), old_m.get("inventories", 0))
        new_r, old_r = _rate(new_m, "released"), _rate(old_m, "released")
        if (
            enough >= rules.min_inventories
            and new_r is not None
            and old_r is not None
            and old_r - new_r >= rules.release_rate_drop - 1e-12
        ):
            found.append(Found("release_rate_drop", month, "all", None, {
                **base, "subject": "all", "label": "合计",
                "previous": round(old_r, 6), "current": round(new_r, 6),
                "change": round(new_r - old_r, 6), "threshold": rules.release_rate_drop,
                "inventories": new_m.get("inventories"),
                "explanation": f"{month} 放行率 {new_r:.1%}，较 {before} 的 {old_r:.1%}"
                f" 下降 {old_r - new_r:.1%}",
            }))  # fmt: skip
    old_categories = _rows(db, before, "category")
    for code, (name, new_m) in sorted(_rows(db, month, "category").items()):
        if code not in old_categories:
            continue
        old_m = old_categories[code][1]
        if min(new_m.get("inventories", 0), old_m.get("inventories", 0)) < rules.min_inventories:
            continue
        new_r, old_r = _rate(new_m, "returned"), _rate(old_m, "returned")
        if new_r is None or old_r is None:
            continue
        if new_r - old_r >= rules.return_rate_jump - 1e-12 and (
            old_r == 0 or new_r >= rules.return_rate_ratio * old_r
        ):
            found.append(Found("return_jump", month, code, None, {
                **base, "subject": code, "category": code, "label": name,
                "previous": round(old_r, 6), "current": round(new_r, 6),
                "change": round(new_r - old_r, 6), "threshold": rules.return_rate_jump,
                "inventories": new_m.get("inventories"),
                "explanation": f"{month} {name} 退货率 {new_r:.1%}，较 {before} 的 {old_r:.1%}"
                f" 上升 {new_r - old_r:.1%}",
            }))  # fmt: skip
    old_platforms = _rows(db, before, "platform")
    for code, (name, new_m) in sorted(_rows(db, month, "platform").items()):
        if code not in old_platforms or code == "?":
            continue
        old_m = old_platforms[code][1]
        if min(new_m.get("parcels", 0), old_m.get("parcels", 0)) < rules.min_parcels:
            continue
        new_v, old_v = _per_parcel(new_m), _per_parcel(old_m)
        if new_v is None or not old_v:
            continue
        change = new_v / old_v - 1
        if abs(change) >= rules.value_shift - 1e-12:
            entity = f"Enterprise:{code}"
            found.append(Found("value_shift", month, code, entity, {
                **base, "subject": code, "platform": code, "label": name,
                "previous": round(old_v, 2), "current": round(new_v, 2),
                "change": round(change, 6), "threshold": rules.value_shift,
                "parcels": new_m.get("parcels"),
                "explanation": f"{month} 平台 {name} 每包裹申报货值 {new_v:.2f} 元，较 {before}"
                f" 的 {old_v:.2f} 元变动 {change:+.1%}",
            }))  # fmt: skip
    return found


def evaluate(
    tx: sqlite3.Connection,
    months: Iterable[str],
    rules: SignalSettings,
    today: dt.date,
    stamp: str,
) -> dict[str, int]:
    """Bring ``stats_signals`` up to date for the settled ``months``; counts of changes."""
    counts = {"new": 0, "changed": 0, "withdrawn": 0}
    if not rules.enabled:
        return counts
    seq = tx.execute("SELECT coalesce(max(seq), 0) FROM stats_signals").fetchone()[0]
    for month in sorted(months):
        if not settled(month, today, rules.settle_days):
            continue
        stored = {
            dedupe: (attrs, active)
            for dedupe, attrs, active in tx.execute(
                "SELECT dedupe, attrs, active FROM stats_signals WHERE month = ?", (month,)
            )
        }
        time = month_end(month).astimezone(dt.UTC).isoformat()
        fresh = {f.dedupe: f for f in detect(tx, month, rules)}
        for dedupe, item in fresh.items():
            attrs = json.dumps({"type": item.type, **item.attrs, "active": True},
                               ensure_ascii=False, sort_keys=True)  # fmt: skip
            old = stored.get(dedupe)
            if old is not None and old == (attrs, 1):
                continue
            seq += 1
            counts["new" if old is None else "changed"] += 1
            entities = json.dumps([item.entity] if item.entity else [])
            tx.execute(
                "INSERT INTO stats_signals VALUES (?,?,?,?,?,?,?,?,1,?) ON CONFLICT (dedupe)"
                " DO UPDATE SET seq = excluded.seq, time = excluded.time,"
                " entity = excluded.entity, entities = excluded.entities,"
                " attrs = excluded.attrs, active = 1, updated_at = excluded.updated_at",
                (dedupe, seq, item.type, month, time, item.entity, entities, attrs, stamp),
            )
        for dedupe, (attrs, active) in stored.items():
            if dedupe in fresh or not active:
                continue
            seq += 1
            counts["withdrawn"] += 1
            gone = json.dumps({**json.loads(attrs), "active": False},
                              ensure_ascii=False, sort_keys=True)  # fmt: skip
            tx.execute(
                "UPDATE stats_signals SET seq = ?, attrs = ?, active = 0, updated_at = ?"
                " WHERE dedupe = ?",
                (seq, gone, stamp, dedupe),
            )
    return counts


def read(db: sqlite3.Connection, month: str | None = None, after: int = 0) -> list[dict]:
    sql = (
        "SELECT seq, dedupe, type, month, time, entity, entities, attrs, active, updated_at"
        " FROM stats_signals WHERE seq > ?"
    )
    params: tuple[Any, ...] = (after,)
    if month:
        sql += " AND month = ?"
        params += (month,)
    return [
        {
            "seq": seq,
            "dedupe": dedupe,
            "type": kind,
            "month": m,
            "time": time,
            "entity": entity,
            "entities": json.loads(entities),
            "attrs": json.loads(attrs),
            "active": bool(active),
            "updated_at": updated,
        }
        for seq, dedupe, kind, m, time, entity, entities, attrs, active, updated in db.execute(
            sql + " ORDER BY seq", params
        )
    ]
