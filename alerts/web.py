"""The risk API (``/api/v1/risks…``, credit, negative list, notices) and the 风险总览 page.

The page is server-rendered (no JavaScript, no CDN) and extends the console's ``base.html``;
the lead may make it the console's front page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, render_template, request

from alerts.config import LEVEL_ZH, LEVELS
from alerts.service import OUTCOMES, RiskService
from traceability.errors import InvalidInput, InvalidParameter

bp = Blueprint("risk", __name__, template_folder="templates")


def service() -> RiskService:
    svc: RiskService = current_app.extensions["qtrace"].feature("risk")
    return svc


def _limit() -> int:
    value = request.args.get("limit", "").strip()
    if not value:
        return 500
    if not value.isdigit() or not 1 <= int(value) <= 10_000:
        raise InvalidParameter(f"参数 limit 应为 1–10000 的整数，收到 {value!r}")
    return int(value)


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象")
    return data


def _actor(body: dict[str, Any]) -> str:
    """Who acts: the signed-in user when accounts are on, else the ``by`` the client names."""
    principal = g.get("qtrace_principal")
    if principal is not None:
        return str(principal.user.name)
    return str(body.get("by", ""))


@bp.get("/api/v1/risks")
def list_risks() -> Any:
    level = request.args.get("level") or None
    if level and level not in LEVELS:
        raise InvalidParameter(f"参数 level 只能是 {'、'.join(LEVELS)}，收到 {level!r}")
    status = request.args.get("status", "open")
    if status not in ("open", "resolved", "all"):
        raise InvalidParameter(f"参数 status 只能是 open、resolved、all，收到 {status!r}")
    risks = service().risks(
        level=level,
        entity=request.args.get("entity") or None,
        status=None if status == "all" else status,
        category=request.args.get("category") or None,
        rule=request.args.get("rule") or None,
        limit=_limit(),
    )
    return jsonify({"count": len(risks), "risks": risks})


@bp.get("/api/v1/risks/overview")
def risks_overview() -> Any:
    return jsonify(service().overview())


@bp.get("/api/v1/risks/<fingerprint>")
def explain_risk(fingerprint: str) -> Any:
    return jsonify(service().explain(fingerprint))


@bp.get("/api/v1/risk-runs")
def list_runs() -> Any:
    mechanism = request.args.get("mechanism") or None
    return jsonify({"runs": service().runs(mechanism, min(_limit(), 1000))})


@bp.get("/api/v1/alerts")
def list_alerts() -> Any:
    alerts = service().alerts(request.args.get("status"), request.args.get("unit"), _limit())
    return jsonify({"count": len(alerts), "alerts": alerts})


@bp.post("/api/v1/alerts/<int:alert_id>/ack")
def ack_alert(alert_id: int) -> Any:
    body = request.get_json(silent=True) or {}
    return jsonify(service().acknowledge(alert_id, _actor(body)))


@bp.post("/api/v1/alerts/<int:alert_id>/close")
def close_alert(alert_id: int) -> Any:
    body = _body()
    return jsonify(
        service().close_alert(alert_id, str(body.get("outcome", "")), str(body.get("note", "")))
    )


@bp.get("/api/v1/credit")
def list_grades() -> Any:
    grade = request.args.get("grade") or None
    if grade and grade not in "ABCD":
        raise InvalidParameter(f"参数 grade 只能是 A、B、C、D，收到 {grade!r}")
    return jsonify({"grades": service().grades(grade)})


@bp.get("/api/v1/credit/<enterprise>")
def show_grade(enterprise: str) -> Any:
    return jsonify(service().credit(enterprise))


@bp.get("/api/v1/negative-list")
def negative_list() -> Any:
    return jsonify({"entries": service().negative_list(request.args.get("removed") == "1")})


@bp.post("/api/v1/negative-list")
def negative_add() -> Any:
    body = _body()
    entry = service().add_negative(
        str(body.get("entity", "")), str(body.get("reason", "")),
        str(body.get("source", "")), _actor(body),
    )  # fmt: skip
    return jsonify(entry), 201


@bp.delete("/api/v1/negative-list/<path:entity>")
def negative_remove(entity: str) -> Any:
    service().remove_negative(entity)
    return "", 204


@bp.get("/api/v1/notices")
def notices() -> Any:
    return jsonify({"notices": service().notices(request.args.get("withdrawn") == "1")})


@bp.post("/api/v1/notices")
def notice_add() -> Any:
    body = _body()
    entities = body.get("entities")
    if not isinstance(entities, list) or not all(isinstance(e, str) for e in entities):
        raise InvalidInput('entities 应为字符串数组，如 ["Batch:GTIN:LOT"]')
    severity = body.get("severity", 3)
    if not isinstance(severity, int):
        raise InvalidInput("severity 应为 1–4 的整数")
    notice = service().add_notice(
        str(body.get("ref", "")), str(body.get("issuer", "")), str(body.get("title", "")),
        entities, str(body.get("measure", "")), severity, body.get("published"),
    )  # fmt: skip
    return jsonify(notice), 201


@bp.delete("/api/v1/notices/<path:ref>")
def notice_withdraw(ref: str) -> Any:
    service().withdraw_notice(ref)
    return "", 204


@bp.get("/risks")
def overview_page() -> Any:
    svc = service()
    level = request.args.get("level") or None
    if level not in (None, *LEVELS):
        level = None
    return render_template(
        "risk_overview.html",
        overview=svc.overview(),
        risks=svc.risks(level=level, limit=100),
        level=level,
        level_zh=LEVEL_ZH,
    )


# -- OpenAPI -----------------------------------------------------------------------------------

_PROBLEM = {"description": "错误（application/problem+json）"}


def _op(summary: str, params: list[dict[str, Any]] | None = None, body: bool = False,
        status: str = "200") -> dict[str, Any]:  # fmt: skip
    op: dict[str, Any] = {
        "tags": ["风险预警"],
        "summary": summary,
        "responses": {status: {"description": "成功"}, "400": _PROBLEM, "404": _PROBLEM},
    }
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    return op


def _q(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema or {"type": "string"},
            "description": description}  # fmt: skip


def _p(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True,
            "schema": schema or {"type": "string"}, "description": description}  # fmt: skip


def openapi_paths() -> dict[str, Any]:
    limit = _q("limit", "最多返回条数", {"type": "integer", "minimum": 1, "maximum": 10000})
    return {
        "/api/v1/risks": {
            "get": _op("列出风险，可按等级、实体、状态、类别、规则筛选", [
                _q("level", "风险等级", {"enum": list(LEVELS)}),
                _q("entity", "实体：标签:业务键，或业务键"),
                _q("status", "状态（默认 open）", {"enum": ["open", "resolved", "all"]}),
                _q("category", "类别"), _q("rule", "规则 id"), limit,
            ]),
        },
        "/api/v1/risks/overview": {"get": _op("风险总览：按等级、类别、单位、信用等级计数")},
        "/api/v1/risks/{fingerprint}": {
            "get": _op("解释一条风险：规则、证据、传播路径、路由与预警",
                       [_p("fingerprint", "风险指纹（规则 + 键）")]),
        },
        "/api/v1/risk-runs": {
            "get": _op("机制运行记录", [
                _q("mechanism", "机制", {"enum": ["collect", "assess", "warn", "review"]}),
                limit,
            ]),
        },
        "/api/v1/alerts": {
            "get": _op("预警列表", [_q("status", "状态"), _q("unit", "单位 id"), limit]),
        },
        "/api/v1/alerts/{alert_id}/ack": {
            "post": _op("签收预警", [_p("alert_id", "预警 id", {"type": "integer"})]),
        },
        "/api/v1/alerts/{alert_id}/close": {
            "post": _op(f"办结预警，outcome 为 {'、'.join(OUTCOMES)}",
                        [_p("alert_id", "预警 id", {"type": "integer"})], body=True),
        },
        "/api/v1/credit": {
            "get": _op("企业信用等级列表", [_q("grade", "等级", {"enum": list("ABCD")})]),
        },
        "/api/v1/credit/{enterprise}": {
            "get": _op("一家企业的信用等级（逐项扣分说明）与历史",
                       [_p("enterprise", "企业代码（统一社会信用代码或海关编码）")]),
        },
        "/api/v1/negative-list": {
            "get": _op("负面清单", [_q("removed", "1 = 含已移出")]),
            "post": _op("列入负面清单：entity、reason、source、by", body=True, status="201"),
        },
        "/api/v1/negative-list/{entity}": {
            "delete": _op("移出负面清单", [_p("entity", "实体 标签:业务键")], status="204"),
        },
        "/api/v1/notices": {
            "get": _op("监管通报", [_q("withdrawn", "1 = 含已撤销")]),
            "post": _op("登记监管通报：ref、issuer、title、entities、measure、severity",
                        body=True, status="201"),
        },
        "/api/v1/notices/{ref}": {
            "delete": _op("撤销通报", [_p("ref", "通报文号")], status="204"),
        },
    }  # fmt: skip
