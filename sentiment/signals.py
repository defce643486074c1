"""Signals for the risk engine: negative-mention spikes and silent sources.

Spike: for each entity and risk category (and for the entity over all categories), the
hourly counts of original negative mentions over the look-back period give an EWMA mean
and variance; the recent window's total is compared with what that baseline expects.  A
spike needs both a high score (z) and a minimum count, so one angry post about a product
nobody mentions never raises an alarm.  Reposts do not count: they are the same voice.

Silent source: a source whose runs found nothing new ``silent_after_runs`` times in a row
(including runs that failed) — the collection itself may be broken, and a quiet feed must
not be read as "no complaints".
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

from sentiment.config import OpinionsConfig
from sentiment.search.port import CST, Filters, SearchQuery, SearchStore
from sentiment.state import CrawlState, Signal, SourceState

LABEL_ZH = {"Product": "商品", "Brand": "品牌", "Enterprise": "企业"}


def ewma(series: list[float], alpha: float) -> tuple[float, float]:
    """Exponentially weighted mean and variance (West's incremental form)."""
    mean, var = (series[0], 0.0) if series else (0.0, 0.0)
    for x in series[1:]:
        diff = x - mean
        incr = alpha * diff
        mean += incr
        var = (1 - alpha) * (var + diff * incr)
    return mean, var


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(CST).replace(minute=0, second=0, microsecond=0)


def detect_spikes(search: SearchStore, config: OpinionsConfig, now: dt.datetime) -> list[Signal]:
    settings = config.signals
    end = _hour(now) + dt.timedelta(hours=1)  # the current (partial) hour is in the window
    window_start = end - dt.timedelta(hours=settings.window_hours)
    start = end - dt.timedelta(hours=settings.lookback_hours)
    counts: dict[tuple[str, str], dict[dt.datetime, int]] = defaultdict(dict)
    for row in search.hourly_counts(start, end, "negative"):
        counts[(row.entity, row.category)][row.hour] = row.count
    category_names = {c.code: c.name for c in config.categories}
    baseline_hours = [
        start + dt.timedelta(hours=i)
        for i in range(settings.lookback_hours - settings.window_hours)
    ]
    window_hours = [window_start + dt.timedelta(hours=i) for i in range(settings.window_hours)]
    fired: list[Signal] = []
    for (entity, category), by_hour in sorted(counts.items()):
        recent = [by_hour.get(h, 0) for h in window_hours]
        total = sum(recent)
        if total < settings.min_count:
            continue
        mean, var = ewma([float(by_hour.get(h, 0)) for h in baseline_hours], settings.ewma_alpha)
        expected = mean * settings.window_hours
        spread = max(math.sqrt(var * settings.window_hours), 1.0)
        z = (total - expected) / spread
        if z < settings.z_threshold:
            continue
        since = next(h for h, n in zip(window_hours, recent, strict=True) if n > mean)
        evidence = search.search(
            SearchQuery(
                filters=Filters(
                    entity=entity, category=None if category == "*" else category,
                    sentiment="negative", since=window_start, until=end,
                ),
                limit=settings.max_evidence,
            )
        ).hits  # fmt: skip
        label, _, key = entity.partition(":")
        name = next(
            (m.name for hit in evidence for m in hit.doc.mentions if m.entity == entity), key
        )
        what = "全部类别" if category == "*" else category_names.get(category, category)
        fired.append(
            Signal(
                kind="spike",
                dedupe_key=f"spike:{entity}:{category}:{since.isoformat()}",
                detected_at=now,
                message=(
                    f"{LABEL_ZH.get(label, label)}「{name}」"
                    f"自 {since:%m月%d日 %H:00} 起负面提及激增："
                    f"近 {settings.window_hours} 小时 {total} 条，基线约 {expected:.1f} 条"
                    f"（z={z:.1f}），类别：{what}"
                ),
                entity=entity,
                entity_name=name,
                category=category,
                since=since,
                count=total,
                baseline=round(expected, 3),
                score=round(z, 2),
                evidence=[hit.doc.doc_id for hit in evidence],
            )
        )
    # An entity-wide spike only adds news when no single category explains it.
    specific = {s.entity for s in fired if s.category != "*"}
    return [s for s in fired if s.category != "*" or s.entity not in specific]


def silent_source_signal(
    config: OpinionsConfig, state: SourceState, last_new_at: str | None, now: dt.datetime
) -> Signal | None:
    threshold = config.signals.silent_after_runs
    if state.empty_runs < threshold:
        return None
    return Signal(
        kind="silent_source",
        dedupe_key=f"silent:{state.name}:{last_new_at or 'never'}",
        detected_at=now,
        message=(
            f"信息源「{state.name}」已连续 {state.empty_runs} 次采集没有新内容"
            f"（最近状态：{'失败' if state.last_status == 'error' else '正常'}），"
            "请检查采集是否正常"
        ),
        source=state.name,
        count=state.empty_runs,
    )


def record_signals(crawl_state: CrawlState, signals: list[Signal]) -> list[Signal]:
    """Store the signals; returns the ones that are new (not already stored)."""
    return [s for s in signals if crawl_state.add_signal(s)]
