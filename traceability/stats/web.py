"""The statistics API (``/api/v1/stats/…``) and console page (``/stats``).

Read-only: figures are computed by ``qtrace stats compute`` (or the scheduler), never by
a request.  The page extends the console's ``base.html``; its chart is inline SVG.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template_string, request
from markupsafe import Markup

from traceability.errors import InvalidParameter, QtraceError
from traceability.stats.aggregate import DIMENSIONS
from traceability.stats.publish import bar_svg
from traceability.stats.service import StatsService, check_month

bp = Blueprint("stats", __name__)


def service() -> StatsService:
    svc: StatsService = current_app.extensions["qtrace"].feature("statistics")
    return svc


def _weights() -> dict[str, float] | None:
    raw = request.args.getlist("weight")
    if not raw:
        return None
    weights = {}
    for item in raw:
        name, _, number = item.partition("=")
        try:
            weights[name] = float(number)
        except ValueError:
            raise InvalidParameter(f"参数 weight 应写作 名称=数值，收到 {item!r}") from None
    return weights


@bp.get("/api/v1/stats/months")
def api_months() -> Any:
    return {"months": service().months()}


@bp.get("/api/v1/stats/<month>")
def api_month(month: str) -> Any:
    dimension = request.args.get("by", "total")
    return service().show(check_month(month), dimension)


@bp.get("/api/v1/stats/period/<period>")
def api_period(period: str) -> Any:
    return service().show_period(period, request.args.get("by", "total"))


@bp.get("/api/v1/stats/<month>/index")
def api_index(month: str) -> Any:
    return service().index(check_month(month), _weights(), request.args.get("base") or None)


@bp.get("/api/v1/stats/<month>/revisions")
def api_revisions(month: str) -> Any:
    return {"revisions": service().revisions(check_month(month))}


@bp.get("/api/v1/stats/<month>/releases")
def api_releases(month: str) -> Any:
    return {"releases": service().releases(check_month(month))}


PAGE = """{% extends "base.html" %}
{% block title %}统计监测 — 跨境电商质量安全追溯{% endblock %}
{% block content %}
<h1>统计监测</h1>
<form method="get" action="/stats">
  <label>月份 <select name="month">{% for m in months %}
    <option value="{{ m.month }}"{% if m.month == month %} selected{% endif %}>
      {{- m.month }}</option>
  {% endfor %}</select></label>
  <label>维度 <select name="by">{% for name, info in dimensions.items() %}
    <option value="{{ name }}"{% if name == by %} selected{% endif %}>{{ info[0] }}</option>
  {% endfor %}</select></label>
  <button type="submit">查看</button>
</form>
{% if not months %}<p>尚无统计。运行 <code>qtrace stats compute</code> 后刷新。</p>{% endif %}
{% if data %}
<p>{{ data.period }} · 修订号 {{ data.revision }} · 计算于 {{ data.computed_at }}
{% if index and index.composite is not none %} · 综合指数 <strong>{{ index.composite }}</strong>
（基期 {{ index.base_month }} = 100）{% endif %}</p>
<p>申报清单 {{ data.totals.inventories }}，放行 {{ data.totals.released }}，
货值 {{ data.totals.goods_value }} 元，税款 {{ data.totals.tax }} 元；
订单 {{ data.reconciliation.orders }}（未申报 {{ data.reconciliation.orders_undeclared }}），
货值差额 {{ data.reconciliation.value_difference }} 元。</p>
{{ chart }}
<table>
<thead><tr><th>分组</th><th>清单</th><th>放行</th><th>订购人</th><th>货值（元）</th>
<th>放行货值（元）</th><th>查验率</th><th>问题率</th><th>平均通关（小时）</th></tr></thead>
<tbody>{% for row in data.rows %}<tr><td>{{ row.label }}</td><td>{{ row.inventories }}</td>
<td>{{ row.released }}</td><td>{{ row.buyers }}</td><td>{{ row.goods_value }}</td>
<td>{{ row.released_value }}</td><td>{{ row.inspection_rate }}</td><td>{{ row.problem_rate }}</td>
<td>{{ row.release_hours_mean }}</td></tr>{% endfor %}</tbody>
</table>
{% if signals %}<h2>监测信号</h2><ul>{% for s in signals %}
<li>{{ s.attrs.explanation }}</li>{% endfor %}</ul>{% endif %}
{% if releases %}<h2>发布版本</h2><ul>{% for r in releases %}
<li>第 {{ r.version }} 版 · {{ r.published_at }}
{%- if r.replaces %} · 替代第 {{ r.replaces }} 版{% endif %}</li>
{% endfor %}</ul>{% endif %}
{% endif %}
{% endblock %}
"""


@bp.get("/stats")
def page() -> Any:
    svc = service()
    error = None
    months = svc.months()
    month = request.args.get("month") or (months[-1]["month"] if months else "")
    by = request.args.get("by", "category")
    data = index = chart = None
    releases: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []
    if month:
        try:
            data = svc.show(check_month(month), by)
            chart = Markup(
                bar_svg(
                    [(r["label"], float(r["released_value"])) for r in data["rows"]][:25],
                    f"放行货值（元）按{data['dimension_label']}",
                )
            )
            releases = svc.releases(month)
            signals = [s for s in svc.signals(month) if s["active"]]
            try:
                index = svc.index(month)
            except QtraceError:
                index = None
        except QtraceError as exc:
            error, data = str(exc), None
    return render_template_string(
        PAGE,
        months=months,
        month=month,
        by=by,
        dimensions=DIMENSIONS,
        data=data,
        chart=chart,
        index=index,
        releases=releases,
        signals=signals,
        error=error,
    ), (400 if error else 200)


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def openapi_paths() -> dict[str, Any]:
    month = {
        "name": "month",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
        "description": "YYYY-MM",
    }
    by = {
        "name": "by",
        "in": "query",
        "schema": {"enum": list(DIMENSIONS)},
        "description": "分组维度（默认 total）",
    }
    json_ok = {"description": "OK", "content": {"application/json": {}}}
    errors = {"400": _problem("参数错误"), "404": _problem("该月尚无统计")}
    return {
        "/api/v1/stats/months": {
            "get": {
                "summary": "已计算的统计月份及其总量",
                "tags": ["statistics"],
                "responses": {"200": json_ok},
            }
        },
        "/api/v1/stats/{month}": {
            "get": {
                "summary": "某月统计（按维度分组，含订单核对）",
                "tags": ["statistics"],
                "parameters": [month, by],
                "responses": {"200": json_ok, **errors},
            }
        },
        "/api/v1/stats/period/{period}": {
            "get": {
                "summary": "任意统计期（YYYY、YYYY-Qn、YYYY-MM、YYYY-MM-DD）的统计",
                "tags": ["statistics"],
                "parameters": [
                    {
                        "name": "period",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    by,
                ],
                "responses": {"200": json_ok, **errors},
            }
        },
        "/api/v1/stats/{month}/index": {
            "get": {
                "summary": "综合指数（由存储的月度统计重算；weight=名称=数值 可覆盖权重）",
                "tags": ["statistics"],
                "parameters": [
                    month,
                    {
                        "name": "weight",
                        "in": "query",
                        "schema": {"type": "array", "items": {"type": "string"}},
                        "style": "form",
                        "explode": True,
                    },
                    {"name": "base", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": json_ok, **errors},
            }
        },
        "/api/v1/stats/{month}/revisions": {
            "get": {
                "summary": "某月的修订记录",
                "tags": ["statistics"],
                "parameters": [month],
                "responses": {"200": json_ok, **errors},
            }
        },
        "/api/v1/stats/{month}/releases": {
            "get": {
                "summary": "某月的发布版本",
                "tags": ["statistics"],
                "parameters": [month],
                "responses": {"200": json_ok, **errors},
            }
        },
    }
