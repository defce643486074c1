"""The browser console: trace search with a chain picture and responsibility table, recall."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from traceability.analysis.compliance import FINDING_TYPES
from traceability.analysis.describe import describe
from traceability.analysis.keys import KIND_ZH, KINDS, InvalidKey
from traceability.app.web.api import MAX_RECALL_BATCHES
from traceability.app.web.picture import BOX_H, BOX_W, lay_out
from traceability.errors import NotFound
from traceability.features import NavItem
from traceability.services import Services

ui = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")  # fmt: skip


CORE_NAV = (
    NavItem("/trace", "追溯查询", 10),
    NavItem("/recall", "召回范围", 20),
    NavItem("/findings", "单证核验", 30),
    NavItem("/api/v1/openapi.json", "API 文档", 90),
)


def services() -> Services:
    return current_app.extensions["qtrace"]


def examples() -> list[dict[str, Any]]:
    """One-click examples that features offer (the demo feature lists its story keys)."""
    found: list[dict[str, Any]] = []
    for feature in services().features:
        if feature.examples is not None:
            found.extend(feature.examples(services()))
    return found


@ui.get("/")
def index() -> Any:
    """The front page: a feature's (the risk overview), else trace search.

    With query parameters it is the trace search, so that older ``/?kind=…&key=…`` links
    keep working.
    """
    if not request.args:
        for feature in services().features:
            if feature.home is not None:
                return feature.home()
    return trace_page()


@ui.get("/trace")
def trace_page() -> Any:
    kind = request.args.get("kind", "order")
    key = request.args.get("key", "").strip()
    direction = request.args.get("direction", "both")
    context: dict[str, Any] = {
        "kinds": KIND_ZH, "kind": kind if kind in KINDS else "order", "key": key,
        "direction": direction, "examples": examples(), "result": None, "error": None,
        "box_w": BOX_W, "box_h": BOX_H,
    }  # fmt: skip
    status = 200
    if key:
        try:
            result = services().trace.trace(kind, key, direction)
        except InvalidKey as exc:
            context["error"], status = str(exc), 400
        except NotFound as exc:
            context["error"], status = str(exc), 404
        else:
            context["result"] = result
            context["picture"] = lay_out(result)
            context["describe"] = describe
    return render_template("trace.html", **context), status


@ui.get("/findings")
def findings_page() -> Any:
    code = request.args.get("code") or None
    if code is not None and code not in FINDING_TYPES:
        return render_template("findings.html", items=[], types=FINDING_TYPES, code=None,
                               error=f"未知的发现代码 {code}"), 400  # fmt: skip
    items = services().ledger.findings(code)
    return render_template("findings.html", items=items, types=FINDING_TYPES, code=code,
                           error=None)  # fmt: skip


@ui.get("/recall")
def recall_page() -> Any:
    batches = [b for b in request.args.getlist("batch") if b.strip()]
    context: dict[str, Any] = {"batches": batches, "result": None, "error": None}
    status = 200
    if len(batches) > MAX_RECALL_BATCHES:  # the same cap as the API
        context["batches"] = batches[:MAX_RECALL_BATCHES]
        context["error"] = f"一次最多查询 {MAX_RECALL_BATCHES} 个批次"
        return render_template("recall.html", **context), 400
    if batches:
        try:
            context["result"] = services().trace.recall(batches)
        except InvalidKey as exc:
            context["error"], status = str(exc), 400
        except NotFound as exc:
            context["error"], status = str(exc), 404
    return render_template("recall.html", **context), status
