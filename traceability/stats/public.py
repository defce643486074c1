"""有序公开: the public, read-only statistics page ``/open/stats`` (no login).

It shows what has been published and nothing else, in the sections ``[statistics]
public_sections`` names: the published composite index (each month's latest release), the
latest release of a month (its totals, chart and index, from ``stats_releases``, never
live figures) and the active negative list of the risk feature (entity, name, reason,
date; read from its table, empty when the risk feature is absent).  With ``[statistics]
public_page = false`` (the default) the page answers 404.

The endpoint ``stats_public.page`` must be listed as PUBLIC in the permission table
(``traceability/accounts/permissions.py``); the blueprint is registered only once it is,
since the request guard refuses every unlisted endpoint anyway.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template_string, request
from markupsafe import Markup

from traceability.accounts.permissions import PERMISSIONS
from traceability.errors import NotFound
from traceability.stats.publish import (
    category_chart,
    index_html,
    release_meta,
    summary_html,
)
from traceability.stats.service import StatsService, check_month
from traceability.stats.web import service

ENDPOINT = "stats_public.page"
public_bp = Blueprint("stats_public", __name__)


def public_blueprints() -> list[Blueprint]:
    """The public blueprint, once the permission table lists its endpoint."""
    return [public_bp] if ENDPOINT in PERMISSIONS else []


PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>跨境电商统计监测公开信息</title>
<link rel="stylesheet" href="{{ url_for('ui.static', filename='console.css') }}">
</head><body><main>
<h1>跨境电商统计监测公开信息</h1>
<p class="meta">本页仅公开已发布的信息，数据以发布版本为准。</p>
{% for section in sections %}
{% if section == "index" %}
<h2>综合指数</h2>
{% if published %}<table><thead><tr><th>月份</th><th>综合指数</th><th>基期</th>
<th>发布版本</th><th>发布时间</th></tr></thead><tbody>
{% for p in published %}<tr><td><a href="?month={{ p.month }}">{{ p.month }}</a></td>
<td>{{ p.composite if p.composite is not none else "不可用" }}</td>
<td>{{ p.base_month or "" }}</td><td>第 {{ p.version }} 版</td><td>{{ p.published_at }}</td></tr>
{% endfor %}</tbody></table>
{% else %}<p>尚无发布。</p>{% endif %}
{% elif section == "release" %}
{% if release %}
<h2>{{ release.title }}</h2>
{{ meta }}
<h3>总量</h3>{{ summary }}
<h3>按消费品类别</h3>{{ chart }}
<h3>综合指数分项</h3>{{ index }}
{% elif "index" not in sections %}<p>尚无发布。</p>{% endif %}
{% elif section == "negative_list" %}
<h2>负面清单</h2>
{% if negative %}<table><thead><tr><th>主体</th><th>名称</th><th>列入理由</th>
<th>列入日期</th></tr></thead><tbody>
{% for n in negative %}<tr><td>{{ n.key }}</td><td>{{ n.name }}</td><td>{{ n.reason }}</td>
<td>{{ n.listed_on }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p>目前没有列入负面清单的主体。</p>{% endif %}
{% endif %}
{% endfor %}
</main></body></html>
"""


@public_bp.get("/open/stats")
def page() -> Any:
    svc: StatsService = service()
    if not svc.options.public_page:
        raise NotFound("公开页面未启用")
    sections = list(svc.options.public_sections)
    published = svc.published()
    month = request.args.get("month") or (published[-1]["month"] if published else "")
    release: dict[str, Any] | None = None
    parts: dict[str, Markup] = {}
    if month and ("release" in sections or "index" in sections):
        if month not in {p["month"] for p in published}:
            raise NotFound(f"{check_month(month)} 尚未发布")
        release = svc.release(month)
        parts = {
            "meta": Markup(release_meta(release)),
            "summary": Markup(summary_html(release)),
            "chart": Markup(category_chart(release)),
            "index": Markup(index_html(release)),
        }
    return render_template_string(
        PAGE,
        sections=sections,
        published=published if "index" in sections else [],
        release=release if "release" in sections else None,
        negative=svc.negative_list() if "negative_list" in sections else [],
        **parts,
    )
