"""The opinions API (``/api/v1/opinions/…``) and page (``/opinions``), as a Flask blueprint.

Scraped text is hostile input: templates autoescape it, snippets are escaped before their
``<mark>`` tags are added, and the trend chart is inline SVG drawn here on the server
(no JavaScript, no CDN) with every label escaped.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from flask import Blueprint, current_app, render_template, request
from markupsafe import Markup

from sentiment.present import doc_json
from sentiment.search.port import CST, Bucket, Filters, SearchQuery
from sentiment.search.snippet import snippet_html
from sentiment.service import OpinionsService
from traceability.errors import InvalidInput, InvalidParameter

bp = Blueprint("opinions", __name__, template_folder="templates")


def service() -> OpinionsService:
    """The app's OpinionsService, built once by the composition root."""
    svc: OpinionsService = current_app.extensions["qtrace"].feature("opinions")
    return svc


class BadParameter(InvalidParameter):
    pass


def _time(name: str) -> dt.datetime | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadParameter(
            f"参数 {name} 应为 ISO 8601 时间，例如 2026-11-20T08:00，收到 {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CST)


def _choice(name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = request.args.get(name, "").strip() or default
    if value is not None and value not in allowed:
        raise BadParameter(f"参数 {name} 只能是 {'、'.join(allowed)}，收到 {value!r}")
    return value


def _int(name: str, default: int, low: int, high: int) -> int:
    value = request.args.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadParameter(f"参数 {name} 应为 {low}–{high} 的整数，收到 {value!r}")
    return int(value)


def _filters() -> Filters:
    return Filters(
        source=request.args.get("source") or None,
        entity=request.args.get("entity") or None,
        sentiment=_choice("sentiment", ("negative", "positive"), None),  # type: ignore[arg-type]  # checked: Choice
        category=request.args.get("category") or None,
        since=_time("since"),
        until=_time("until"),
        include_reposts=request.args.get("reposts") in ("1", "true"),
    )


def _query() -> SearchQuery:
    size = _int("size", 20, 1, 100)
    return SearchQuery(
        text=request.args.get("q", ""),
        filters=_filters(),
        sort=_choice("sort", ("time", "relevance"), "time"),  # type: ignore[arg-type]  # checked: Choice
        offset=(_int("page", 1, 1, 10_000) - 1) * size,
        limit=size,
    )


@bp.get("/api/v1/opinions/search")
def api_search() -> Any:
    query = _query()
    page = service().search.search(query)
    return {
        "total": page.total,
        "page": query.offset // query.limit + 1,
        "size": query.limit,
        "results": [doc_json(h) for h in page.hits],
    }


def _buckets_json(buckets: list[Bucket]) -> list[dict[str, Any]]:
    return [
        {"start": b.start.isoformat(), "negative": b.negative, "positive": b.positive}
        for b in buckets
    ]


@bp.get("/api/v1/opinions/trend")
def api_trend() -> Any:
    interval = _choice("interval", ("hour", "day"), "day")
    filters = _filters()
    buckets = service().search.histogram(filters, interval)  # type: ignore[arg-type]  # checked: Choice
    return {"interval": interval, "entity": filters.entity, "buckets": _buckets_json(buckets)}


@bp.get("/api/v1/opinions/signals")
def api_signals() -> Any:
    kind = _choice("kind", ("spike", "silent_source"), None)
    limit = _int("limit", 50, 1, 1000)
    return {"signals": [s.as_json() for s in service().state.signals(kind, limit)]}


def trend_svg(buckets: list[Bucket], interval: str, width: int = 720, height: int = 220) -> Markup:
    """Stacked bars (negative red, positive green) with escaped axis labels."""
    pad_left, pad_bottom, pad_top = 36, 28, 12
    if not buckets:
        return Markup(
            f'<svg class="trend" role="img" aria-label="无数据" width="{width}" height="60">'
            '<text x="10" y="30">所选范围内没有提及</text></svg>'
        )
    peak = max(max(b.negative + b.positive for b in buckets), 1)
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    step = plot_w / len(buckets)
    bar = max(step * 0.8, 1.0)
    parts = [
        f'<svg class="trend" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        "<title>提及趋势（红：负面，绿：正面）</title>",
        f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{width - 8}" '
        f'y2="{pad_top + plot_h}" stroke="#999"/>',
        f'<text x="4" y="{pad_top + 10}" font-size="11">{peak}</text>',
        f'<text x="4" y="{pad_top + plot_h}" font-size="11">0</text>',
    ]
    fmt = "%m-%d %H时" if interval == "hour" else "%m-%d"
    label_every = max(1, len(buckets) // 8)
    for i, b in enumerate(buckets):
        x = pad_left + i * step
        neg_h = plot_h * b.negative / peak
        pos_h = plot_h * b.positive / peak
        base = pad_top + plot_h
        tip = escape(f"{b.start:{fmt}} 负面 {b.negative} 正面 {b.positive}")
        parts.append(
            f"<g><title>{tip}</title>"
            f'<rect x="{x:.1f}" y="{base - neg_h:.1f}" width="{bar:.1f}" '
            f'height="{neg_h:.1f}" fill="#c0392b"/>'
            f'<rect x="{x:.1f}" y="{base - neg_h - pos_h:.1f}" width="{bar:.1f}" '
            f'height="{pos_h:.1f}" fill="#27ae60"/></g>'
        )
        if i % label_every == 0:
            label = escape(f"{b.start:{fmt}}")
            parts.append(f'<text x="{x:.1f}" y="{height - 8}" font-size="10">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@bp.get("/opinions")
def page() -> Any:
    error = None
    results: list[dict[str, Any]] = []
    total = 0
    chart = None
    svc = service()
    args = request.args
    interval = "day"
    try:
        query = _query()
        page_ = svc.search.search(query)
        total = page_.total
        for hit in page_.hits:
            item = doc_json(hit)
            item["snippetMarkup"] = Markup(snippet_html(hit.snippet, hit.highlights))
            results.append(item)
        interval = _choice("interval", ("hour", "day"), "day") or "day"
        if query.filters.entity:
            buckets = svc.search.histogram(query.filters, interval)  # type: ignore[arg-type]  # checked: Choice
            chart = trend_svg(buckets, interval)
    except InvalidInput as exc:  # a bad parameter or query, shown on the page
        error = str(exc)
    categories = {c.code: c.name for c in svc.config.categories}
    return render_template(
        "opinions.html", args=args, results=results, total=total, chart=chart, error=error,
        categories=categories, signals=svc.state.signals(None, 10), interval=interval,
    ), (400 if error else 200)  # fmt: skip


def openapi_paths() -> dict[str, Any]:
    """The opinions paths, for merging into ``/api/v1/openapi.json``."""
    filters = [
        {
            "name": "source",
            "in": "query",
            "schema": {"type": "string"},
            "description": "信息源名称",
        },
        {
            "name": "entity",
            "in": "query",
            "schema": {"type": "string"},
            "description": "实体：Product:GTIN、Brand:品牌名、Enterprise:代码",
        },
        {"name": "sentiment", "in": "query", "schema": {"enum": ["negative", "positive"]}},
        {
            "name": "category",
            "in": "query",
            "schema": {"type": "string"},
            "description": "风险类别代码",
        },
        {
            "name": "since",
            "in": "query",
            "schema": {"type": "string", "format": "date-time"},
            "description": "起始（含）；无时区按北京时间",
        },
        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {
            "name": "reposts",
            "in": "query",
            "schema": {"type": "boolean"},
            "description": "包含转载",
        },
    ]
    bad = {
        "description": "参数错误",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    return {
        "/opinions/search": {
            "get": {
                "summary": "舆情全文检索（结巴分词，高亮摘要）",
                "tags": ["opinions"],
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "检索词，全部词须匹配",
                    },
                    *filters,
                    {
                        "name": "sort",
                        "in": "query",
                        "schema": {"enum": ["time", "relevance"], "default": "time"},
                    },
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {
                        "name": "size",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                ],
                "responses": {
                    "200": {"description": "total、results（含 snippet、highlights、entities）"},
                    "400": bad,
                },
            }
        },
        "/opinions/trend": {
            "get": {
                "summary": "按小时或天统计提及量（负面/正面）",
                "tags": ["opinions"],
                "parameters": [
                    *filters,
                    {"name": "interval", "in": "query", "schema": {"enum": ["hour", "day"]}},
                ],
                "responses": {
                    "200": {"description": "buckets: start（北京时间）、negative、positive"},
                    "400": bad,
                },
            }
        },
        "/opinions/signals": {
            "get": {
                "summary": "交给风险引擎的信号：负面尖峰、信息源静默",
                "tags": ["opinions"],
                "parameters": [
                    {"name": "kind", "in": "query", "schema": {"enum": ["spike", "silent_source"]}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": {"description": "signals，含证据文档 evidence"}, "400": bad},
            }
        },
    }
