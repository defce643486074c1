"""The composite index (综合指数): sub-indices normalised to a base month, weighted.

Every input comes from the stored monthly statistics (``stats_months`` totals and the
``category`` rows of ``stats_monthly``), so a published value can be recomputed at any time
from the tables alone.  docs/INDEX.md is the method statement; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from traceability.stats.config import SUB_INDICES

PLACES = 6

DIRECTION = {
    "scale": "正向 (+)：放行清单货值越大越高",
    "growth": "正向 (+)：货值环比增长越快越高（环比链式，100 = 持平）",
    "structure": "正向 (+)：消费品类别越分散越高（有效类别数 1/HHI）",
    "efficiency": "逆向 (−)：平均通关时长越短越高",
    "quality": "正向 (+)：无问题清单占比越高越高（问题 = 查验、扣留、退运或有核验发现）",
    "credit": "正向 (+)：平台信用得分（月末前最近一次评级，按放行货值加权）越高越高；"
    "无评级数据时为待定（pending）",
}


@dataclass(frozen=True, slots=True)
class MonthInputs:
    """What the index needs from one month's stored statistics."""

    value: float  # released value net of returns, CNY
    categories: Mapping[str, float]  # released value by consumer category
    hours_mean: float | None  # mean hours from declaration to release
    inventories: int
    problems: int
    credit: float | None = None  # released value-weighted platform credit score

    @property
    def diversity(self) -> float | None:
        """Effective number of categories, 1/HHI of value shares (None without value)."""
        total = sum(self.categories.values())
        if total <= 0:
            return None
        return 1.0 / sum((v / total) ** 2 for v in self.categories.values())

    @property
    def good_share(self) -> float | None:
        if not self.inventories:
            return None
        return 1.0 - self.problems / self.inventories


def inputs_from(totals: Mapping[str, Any], categories: Mapping[str, Any]) -> MonthInputs:
    n = totals.get("release_n") or 0
    return MonthInputs(
        value=float(totals.get("released_value") or 0),
        categories={code: float(v) for code, v in categories.items()},
        hours_mean=(totals["release_hours_sum"] / n) if n else None,
        inventories=int(totals.get("inventories") or 0),
        problems=int(totals.get("problems") or 0),
        credit=totals.get("credit_score"),
    )


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(100.0 * numerator / denominator, PLACES)


def sub_indices(
    current: MonthInputs, base: MonthInputs, previous: MonthInputs | None
) -> dict[str, float | None]:
    efficiency = None
    if current.hours_mean and base.hours_mean:
        efficiency = round(100.0 * base.hours_mean / current.hours_mean, PLACES)
    return {
        "scale": _ratio(current.value, base.value),
        "growth": _ratio(current.value, previous.value) if previous is not None else None,
        "structure": _ratio(current.diversity, base.diversity),
        "efficiency": efficiency,
        "quality": _ratio(current.good_share, base.good_share),
        "credit": _ratio(current.credit, base.credit),
    }


def composite(values: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """Σ wᵢ·Iᵢ / Σ wᵢ over the available sub-indices with a positive weight."""
    used = [(weights.get(name, 0.0), v) for name, v in values.items() if v is not None]
    used = [(w, v) for w, v in used if w > 0]
    total = sum(w for w, _ in used)
    if not total:
        return None
    return round(sum(w * v for w, v in used) / total, PLACES)


def compute_index(
    month: str, base_month: str, series: Mapping[str, MonthInputs], weights: Mapping[str, float]
) -> dict[str, Any]:
    """The index of ``month`` against ``base_month`` (both must be in ``series``)."""
    current, base = series[month], series[base_month]
    year, mon = int(month[:4]), int(month[5:7])
    prev_month = f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"
    values = sub_indices(current, base, series.get(prev_month))
    weights = {name: float(weights.get(name, 0.0)) for name in SUB_INDICES}
    used = {n: w for n, w in weights.items() if w > 0 and values[n] is not None}
    total = sum(used.values())
    return {
        "month": month,
        "base_month": base_month,
        "previous_month": prev_month if prev_month in series else None,
        "composite": composite(values, weights),
        "sub_indices": {
            name: {
                "value": values[name],
                "weight": weights[name],
                "effective_weight": round(used[name] / total, PLACES) if name in used else 0.0,
                "status": "ok"
                if values[name] is not None
                else ("pending" if name == "credit" else "unavailable"),
                "direction": DIRECTION[name],
            }
            for name in SUB_INDICES
        },
        "inputs": {
            "released_value": current.value,
            "diversity": current.diversity,
            "release_hours_mean": current.hours_mean,
            "good_share": current.good_share,
            "credit_score": current.credit,
        },
    }


def recompute(
    published: Mapping[str, Any], weights: Mapping[str, float] | None = None
) -> float | None:
    """The composite from a published index block (its sub-indices), optionally reweighted."""
    subs = published["sub_indices"]
    values = {name: subs[name]["value"] for name in subs}
    used = weights if weights is not None else {name: subs[name]["weight"] for name in subs}
    return composite(values, used)
