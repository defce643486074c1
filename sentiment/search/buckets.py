"""Histogram buckets shared by every search adapter: CST hours or days, empty ones kept."""

from __future__ import annotations

import datetime as dt

from sentiment.search.port import CST, Bucket, Filters, Interval, SearchQueryError

BUCKET_STEP = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}
MAX_BUCKETS = 24 * 93


def floor_bucket(moment: dt.datetime, interval: Interval) -> dt.datetime:
    """The start (China time) of the hour or day that holds ``moment``."""
    local = moment.astimezone(CST).replace(minute=0, second=0, microsecond=0)
    return local.replace(hour=0) if interval == "day" else local


def _too_long(interval: Interval) -> SearchQueryError:
    unit = "小时" if interval == "hour" else "天"
    return SearchQueryError(f"时间范围过长：按{unit}最多 {MAX_BUCKETS} 个区间")


def check_span(filters: Filters, interval: Interval) -> None:
    """Refuse a since–until range of more than MAX_BUCKETS buckets before querying."""
    if filters.since and filters.until:
        span = floor_bucket(filters.until, interval) - floor_bucket(filters.since, interval)
        if span / BUCKET_STEP[interval] > MAX_BUCKETS:
            raise _too_long(interval)


def fill_buckets(
    counts: dict[dt.datetime, dict[str, int]], filters: Filters, interval: Interval
) -> list[Bucket]:
    """Counts per bucket start and sentiment → every bucket from first to last, oldest first."""
    if not counts and (filters.since is None or filters.until is None):
        return []
    first = floor_bucket(filters.since, interval) if filters.since else min(counts)
    last = floor_bucket(filters.until, interval) if filters.until else max(counts)
    if counts:
        first, last = min(first, min(counts)), max(last, max(counts))
    step = BUCKET_STEP[interval]
    if (last - first) / step > MAX_BUCKETS:
        raise _too_long(interval)
    buckets = []
    moment = first
    while moment <= last:
        c = counts.get(moment, {})
        buckets.append(Bucket(moment, c.get("negative", 0), c.get("positive", 0)))
        moment += step
    return buckets
