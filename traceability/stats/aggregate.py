"""Aggregate inventory facts into the figures of a period, by dimension.

Inventory-level dimensions (trade mode, direction, district, platform, logistics enterprise,
customs office, day) put each inventory in one group.  Line-level dimensions (HS chapter,
HS heading, consumer category, origin country) put an inventory in every group one of its
lines belongs to: the group's goods value is the sum of those lines, and the inventory's
freight, insurance and tax are apportioned by the same value share.  Group counts of a
line-level dimension can therefore add up to more than the total (an inventory with milk
powder and a face cream counts once under each category); values add up to the total.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from traceability.formats.reference import country_name, customs_office_name, district_info
from traceability.stats.config import StatsConfig
from traceability.stats.facts import dec

FEN = Decimal("0.01")

TRADE_MODES = {
    "9610": "跨境贸易电子商务（直购）",
    "1210": "保税跨境贸易电子商务",
    "1239": "保税跨境贸易电子商务A",
    "9710": "跨境电商B2B直接出口",
    "9810": "跨境电商出口海外仓",
}
DIRECTIONS = {"import": "进口", "export": "出口"}

# name -> (zh label, line-level?)
DIMENSIONS: dict[str, tuple[str, bool]] = {
    "total": ("合计", False),
    "day": ("申报日期", False),
    "trade_mode": ("监管方式", False),
    "direction": ("进出口方向", False),
    "hs_chapter": ("HS 章", True),
    "hs_heading": ("HS 品目", True),
    "category": ("消费品类别", True),
    "origin": ("原产国（地区）", True),
    "district": ("收货地区（GB/T 2260）", False),
    "platform": ("电商平台", False),
    "logistics": ("物流企业", False),
    "customs": ("申报海关", False),
}

MONEY = ("goods_value", "freight", "insured", "tax", "released_value", "returned_value")
COUNTS = (
    "inventories",
    "released",
    "inspected",
    "detained",
    "returned_abroad",
    "returned",
    "cancelled",
    "deleted",
    "problems",
)


ZERO = Decimal(0)
ONE = Decimal(1)


class Prepared:
    """A fact with its amounts parsed once (a fact is added to a dozen groups)."""

    __slots__ = ("fact", "freight", "insured", "net", "ret", "tax", "valid")

    def __init__(self, fact: dict[str, Any]) -> None:
        self.fact = fact
        self.valid = fact["state"] == "valid"
        self.freight = dec(fact["freight"])
        self.insured = dec(fact["insured"])
        self.tax = dec(fact["tax"])
        self.ret = dec(fact["retGoods"])
        self.net = dec(fact["goods"]) - self.ret


class Group:
    """The running figures of one (dimension, value) group."""

    __slots__ = (
        "buyers", "cancelled", "deleted", "detained", "findings", "freight", "goods_value",
        "hours", "inspected", "insured", "inventories", "orders", "parcels", "problems",
        "released", "released_value", "returned", "returned_abroad", "returned_value", "tax",
    )  # fmt: skip

    def __init__(self) -> None:
        self.inventories = self.released = self.inspected = self.detained = 0
        self.returned_abroad = self.returned = self.cancelled = self.deleted = 0
        self.problems = 0
        self.goods_value = self.freight = self.insured = self.tax = ZERO
        self.released_value = self.returned_value = ZERO
        self.orders: set[str] = set()
        self.parcels: set[str] = set()
        self.buyers: set[str] = set()
        self.hours: list[float] = []
        self.findings: Counter[str] = Counter()

    def add(self, item: Prepared, share: Decimal = ONE, goods: Decimal | None = None) -> None:
        """Add an inventory; ``share`` of its head values, ``goods`` its (net) line value."""
        fact = item.fact
        if not item.valid:
            if fact["state"] == "cancelled":
                self.cancelled += 1
            else:
                self.deleted += 1
            return
        goods = item.net if goods is None else goods
        self.inventories += 1
        self.goods_value += goods
        if share is ONE:
            self.freight += item.freight
            self.insured += item.insured
            self.tax += item.tax
        else:
            self.freight += item.freight * share
            self.insured += item.insured * share
            self.tax += item.tax * share
        self.orders.add(fact["order"])
        if fact["waybill"]:
            self.parcels.add(fact["waybill"])
        if fact["buyer"]:
            self.buyers.add(fact["buyer"])
        if fact["released"]:
            self.released += 1
            self.released_value += goods
            if fact["hours"] is not None:
                self.hours.append(fact["hours"])
        if fact["inspected"]:
            self.inspected += 1
        if fact["detained"]:
            self.detained += 1
        if fact["abroad"]:
            self.returned_abroad += 1
        if fact["ret"] != "none":
            self.returned += 1
            self.returned_value += item.ret if share is ONE else item.ret * share
        findings = fact["findings"]
        if fact["inspected"] or fact["detained"] or fact["abroad"] or findings:
            self.problems += 1
        if findings:
            self.findings.update(findings)

    def measures(self) -> dict[str, Any]:
        result: dict[str, Any] = {name: getattr(self, name) for name in COUNTS}
        result.update(orders=len(self.orders), parcels=len(self.parcels), buyers=len(self.buyers))
        result.update({name: str(getattr(self, name).quantize(FEN)) for name in MONEY})
        hours = self.hours
        result["release_n"] = len(hours)
        result["release_hours_sum"] = round(sum(hours), 4)
        result["release_hours_median"] = round(statistics.median(hours), 4) if hours else None
        result["findings"] = dict(sorted(self.findings.items()))
        return result


def _line_groups(config: StatsConfig, fact: dict[str, Any]) -> dict[str, dict[str, Decimal]]:
    """Line values of an inventory by line-level dimension and value."""
    groups: dict[str, dict[str, Decimal]] = {
        "hs_chapter": defaultdict(Decimal),
        "hs_heading": defaultdict(Decimal),
        "category": defaultdict(Decimal),
        "origin": defaultdict(Decimal),
    }
    lines = fact["lines"] or [["", "", "0"]]
    for hs, country, value in lines:
        amount = dec(value)
        groups["hs_chapter"][hs[:2] or "?"] += amount
        groups["hs_heading"][hs[:4] or "?"] += amount
        groups["category"][config.category_of(hs)] += amount
        groups["origin"][country or "?"] += amount
    return groups


def aggregate(config: StatsConfig, facts: Iterable[dict[str, Any]]) -> dict[str, dict[str, Group]]:
    """Groups by dimension and value for the given facts (one period)."""
    result: dict[str, dict[str, Group]] = {name: {} for name in DIMENSIONS}
    return aggregate_into(config, result, facts)


def aggregate_into(
    config: StatsConfig, result: dict[str, dict[str, Group]], facts: Iterable[dict[str, Any]]
) -> dict[str, dict[str, Group]]:
    """Add facts to existing groups (a day's new inventories to its month's groups)."""

    def group(dimension: str, value: str) -> Group:
        found = result[dimension].get(value)
        if found is None:
            found = result[dimension][value] = Group()
        return found

    for fact in facts:
        item = Prepared(fact)
        gross = dec(fact["goods"])
        for dimension, value in (
            ("total", "all"),
            ("day", fact["day"]),
            ("trade_mode", fact["trade"] or "?"),
            ("direction", fact["dir"]),
            ("district", fact["district"] or "?"),
            ("platform", fact["platform"] or "?"),
            ("logistics", fact["logistics"] or "?"),
            ("customs", fact["customs"] or "?"),
        ):
            group(dimension, value).add(item)
        for dimension, values in _line_groups(config, fact).items():
            if len(values) == 1:
                group(dimension, next(iter(values))).add(item)
                continue
            for value, amount in values.items():
                share = amount / gross if gross else ONE / len(values)
                group(dimension, value).add(item, share, item.net * share)
    return result


def label(config: StatsConfig, dimension: str, value: str, names: dict[str, str]) -> str:
    """The zh-CN label of a group value (the code itself when unknown)."""
    if value == "?":
        return "未申报"
    if dimension == "total":
        return "合计"
    if dimension == "trade_mode":
        return TRADE_MODES.get(value, value)
    if dimension == "direction":
        return DIRECTIONS.get(value, value)
    if dimension == "category":
        return config.category_name(value)
    if dimension == "origin":
        return country_name(value)
    if dimension == "district":
        info = district_info(value)
        parts = [info.get("province"), info.get("city"), info.get("name")]
        return "".join(p for p in dict.fromkeys(parts) if p) or value
    if dimension == "customs":
        return customs_office_name(value)
    if dimension in ("platform", "logistics"):
        return names.get(value, value)
    return value


def rates(measures: dict[str, Any]) -> dict[str, Any]:
    """Rates derived from stored measures (never stored: they follow from the counts)."""
    n = measures.get("inventories") or 0

    def ratio(count: float) -> float | None:
        return round(count / n, 6) if n else None

    hours_n = measures.get("release_n") or 0
    return {
        "release_rate": ratio(measures.get("released", 0)),
        "inspection_rate": ratio(measures.get("inspected", 0)),
        "detention_rate": ratio(measures.get("detained", 0)),
        "return_rate": ratio(measures.get("returned", 0)),
        "returned_abroad_rate": ratio(measures.get("returned_abroad", 0)),
        "problem_rate": ratio(measures.get("problems", 0)),
        "release_hours_mean": (
            round(measures["release_hours_sum"] / hours_n, 4) if hours_n else None
        ),
        "finding_rates": {
            code: ratio(count) for code, count in (measures.get("findings") or {}).items()
        },
    }
