"""The browser console: trace search with a chain picture and responsibility table, recall."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, render_template, request

from traceability.describe import describe
from traceability.keys import KIND_ZH, KINDS, KeyError_
from traceability.services import Services
from traceability.trace import NotFound
from traceability.web.picture import BOX_H, BOX_W, lay_out

ui = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")  # fmt: skip


def services() -> Services:
    return current_app.extensions["qtrace"]


def demo_examples() -> list[dict[str, Any]]:
    """Story keys from demo worlds in the data folder, as one-click examples."""
    examples = []
    for manifest in sorted(services().settings.data_dir.glob("demo-world-*/manifest.json")):
        stories = json.loads(manifest.read_text(encoding="utf-8"))["stories"]
        defective = stories["defective_lot"]
        examples.append({"title": "缺陷原料批次去向", "kind": "batch", "key": defective["batch"],
                         "direction": "forward"})  # fmt: skip
        for order in defective["sample_orders"][:1]:
            examples.append({"title": "问题订单溯源", "kind": "order", "key": order,
                             "direction": "back"})  # fmt: skip
        for name, title in (("payment_mismatch", "支付金额不符订单"),
                            ("consignee_mismatch", "收货人不一致订单"),
                            ("single_limit", "超单笔限值订单")):  # fmt: skip
            for order in stories.get(name, {}).get("orders", [])[:1]:
                examples.append({"title": title, "kind": "order", "key": order,
                                 "direction": "both"})  # fmt: skip
        examples.append({"title": "召回范围", "recall": defective["batch"]})
    return examples


@ui.get("/")
def index() -> Any:
    kind = request.args.get("kind", "order")
    key = request.args.get("key", "").strip()
    direction = request.args.get("direction", "both")
    context: dict[str, Any] = {
        "kinds": KIND_ZH, "kind": kind if kind in KINDS else "order", "key": key,
        "direction": direction, "examples": demo_examples(), "result": None, "error": None,
        "box_w": BOX_W, "box_h": BOX_H,
    }  # fmt: skip
    status = 200
    if key:
        try:
            result = services().trace.trace(kind, key, direction)
        except KeyError_ as exc:
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
    from traceability.compliance import FINDING_TYPES

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
    if batches:
        try:
            context["result"] = services().trace.recall(batches)
        except KeyError_ as exc:
            context["error"], status = str(exc), 400
        except NotFound as exc:
            context["error"], status = str(exc), 404
    return render_template("recall.html", **context), status
