"""The case API (``/api/v1/cases…``, ``/api/v1/case-search/…``) and the console pages.

Pages are server-rendered (no JavaScript, no CDN) and extend the console's ``base.html``.
Personal identifiers are searched with POST bodies, never in a URL; console links name a
case entity by its id instead (``/cases/network?case=…&entity=…``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request

from traceability.app.web.picture import BOX_H, BOX_W, lay_out
from traceability.cases.access import Viewer, mask_snapshot
from traceability.cases.export import export_html, export_pdf
from traceability.cases.picture import network_picture
from traceability.cases.service import (
    ENTITY_KINDS,
    EVIDENCE_KINDS,
    LEVEL_ZH,
    LEVELS,
    RESOLUTION_ZH,
    STAGE_ZH,
    STAGES,
    CaseService,
)
from traceability.errors import InvalidInput, InvalidParameter, NotFound

bp = Blueprint("cases", __name__, template_folder="templates")

FILTERS = ("stage", "level", "unit", "assignee", "category", "from", "to", "overdue", "q")


def service() -> CaseService:
    svc: CaseService = current_app.extensions["qtrace"].feature("cases")
    return svc


def viewer(body: dict[str, Any] | None = None) -> Viewer:
    fallback = str((body or {}).get("by", "")) if body else ""
    return Viewer.of(g.get("qtrace_principal"), service().settings, fallback)


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象")
    return data


def _filters() -> dict[str, str]:
    return {name: request.args[name].strip() for name in FILTERS if request.args.get(name)}


def _hops() -> int | None:
    value = str(request.args.get("hops", "")).strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidParameter("hops 应为 1–4 的整数")
    return int(value)


# -- API ---------------------------------------------------------------------------------


@bp.get("/api/v1/cases")
def list_cases() -> Any:
    cases = service().cases(viewer(), _filters())
    return jsonify({"count": len(cases), "cases": cases})


@bp.post("/api/v1/cases")
def open_case() -> Any:
    body = _body()
    return jsonify(service().open(viewer(body), body)), 201


@bp.get("/api/v1/cases/<ref>")
def show_case(ref: str) -> Any:
    return jsonify(service().show(viewer(), ref))


@bp.patch("/api/v1/cases/<ref>")
def update_case(ref: str) -> Any:
    body = _body()
    return jsonify(service().update(viewer(body), ref, body))


@bp.post("/api/v1/cases/<ref>/stage")
def advance_case(ref: str) -> Any:
    body = _body()
    return jsonify(service().advance(viewer(body), ref, str(body.get("stage", "")),
                                     str(body.get("resolution", "") or ""),
                                     str(body.get("note", "") or "")))  # fmt: skip


@bp.post("/api/v1/cases/<ref>/alerts")
def merge_alerts(ref: str) -> Any:
    body = _body()
    return jsonify(service().merge(viewer(body), ref, body.get("alerts")))


@bp.post("/api/v1/cases/<ref>/entities")
def add_entity(ref: str) -> Any:
    body = _body()
    entity = service().add_entity(viewer(body), ref, str(body.get("kind", "")),
                                  str(body.get("value", "")))  # fmt: skip
    return jsonify(entity), 201


@bp.post("/api/v1/cases/<ref>/evidence")
def add_evidence(ref: str) -> Any:
    body = _body()
    return jsonify(service().add_evidence(viewer(body), ref, body)), 201


@bp.post("/api/v1/cases/<ref>/files")
def upload_file(ref: str) -> Any:
    """The raw file is the body (``Content-Type`` of the file); ``?name=`` its name."""
    limit = service().settings.max_file_bytes
    data = request.get_data(cache=False)[: limit + 1]
    item = service().upload(viewer(), ref, request.args.get("name", "file"), data)
    return jsonify(item), 201


@bp.get("/api/v1/cases/<ref>/evidence/<int:evidence_id>")
def show_evidence(ref: str, evidence_id: int) -> Any:
    return jsonify(service().evidence(viewer(), ref, evidence_id))


@bp.get("/api/v1/cases/<ref>/files/<int:evidence_id>")
def download_file(ref: str, evidence_id: int) -> Any:
    item, data = service().file(viewer(), ref, evidence_id)
    response = Response(data, mimetype=item["media_type"])
    response.headers["Content-Disposition"] = "attachment; filename=evidence-" + str(evidence_id)
    return response


@bp.post("/api/v1/cases/<ref>/tasks")
def add_task(ref: str) -> Any:
    body = _body()
    return jsonify(service().add_task(viewer(body), ref, body)), 201


@bp.post("/api/v1/cases/<ref>/tasks/<int:task_id>")
def set_task(ref: str, task_id: int) -> Any:
    body = _body()
    return jsonify(service().set_task(viewer(body), ref, task_id, str(body.get("status", ""))))


@bp.post("/api/v1/cases/<ref>/comments")
def add_comment(ref: str) -> Any:
    body = _body()
    return jsonify(service().comment(viewer(body), ref, str(body.get("body", "")))), 201


@bp.post("/api/v1/cases/<ref>/unmask")
def unmask_entity(ref: str) -> Any:
    body = _body()
    entity = body.get("entity")
    if not isinstance(entity, int):
        raise InvalidInput("entity 应为本案实体的 id（整数）")
    return jsonify(service().unmask(viewer(body), ref, entity, str(body.get("reason", ""))))


@bp.get("/api/v1/cases/<ref>/export")
def export_case(ref: str) -> Any:
    fmt = request.args.get("format", "html")
    if fmt not in ("html", "pdf"):
        raise InvalidParameter("format 应为 html 或 pdf")
    if fmt == "pdf":
        pdf = export_pdf(service(), viewer(), ref)
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f"attachment; filename=case-{ref}.pdf"
        return response
    html = export_html(service(), viewer(), ref)
    response = Response(html, mimetype="text/html")
    # A self-contained file (inline style attributes and SVG pictures, nothing fetched).
    response.headers["Content-Disposition"] = f"attachment; filename=case-{ref}.html"
    return response


@bp.get("/api/v1/case-notifications")
def my_notifications() -> Any:
    items = service().inbox(viewer())
    return jsonify({"count": len(items), "notifications": items})


@bp.post("/api/v1/case-search/entity")
def search_entity() -> Any:
    body = _body()
    return jsonify(service().search_entity(viewer(body), str(body.get("kind", "")),
                                           str(body.get("value", ""))))  # fmt: skip


@bp.post("/api/v1/case-search/network")
def search_network() -> Any:
    body = _body()
    hops = body.get("hops")
    if hops is not None and not isinstance(hops, int):
        raise InvalidInput("hops 应为整数")
    return jsonify(service().search_network(viewer(body), str(body.get("kind", "")),
                                            str(body.get("value", "")), hops))  # fmt: skip


# -- console -----------------------------------------------------------------------------

_COMMON = {"stages": STAGES, "stage_zh": STAGE_ZH, "levels": LEVELS, "level_zh": LEVEL_ZH,
           "entity_kinds": ENTITY_KINDS, "evidence_kinds": EVIDENCE_KINDS,
           "resolution_zh": RESOLUTION_ZH, "box_w": BOX_W, "box_h": BOX_H}  # fmt: skip


@bp.get("/cases")
def cases_page() -> Any:
    filters = _filters()
    who = viewer()
    cases = service().cases(who, filters)
    inbox = service().inbox(who, 20)
    return render_template("cases_list.html", cases=cases, filters=filters, inbox=inbox,
                           **_COMMON)  # fmt: skip


@bp.get("/cases/network")
def network_page() -> Any:
    svc = service()
    who = viewer()
    kind = request.args.get("kind", "buyer")
    value = request.args.get("value", "").strip()
    context: dict[str, Any] = {"kind": kind, "value": value, "result": None, "picture": None}
    if request.args.get("case") and request.args.get("entity", "").isdigit():
        case = svc.show(who, request.args["case"])
        entity = next((e for e in case["entities"] if e["id"] == int(request.args["entity"])), None)
        if entity is None:
            raise NotFound("本案没有该实体")
        row = svc.cdb.db.execute("SELECT kind, key FROM cases_entities WHERE id = ?",
                                 (entity["id"],)).fetchone()  # fmt: skip
        kind, value = row["kind"], row["key"]
        context["kind"], context["value"] = kind, "" if entity["personal"] else value
    if value:
        result = svc.search_network(who, kind, value, _hops())
        context["result"] = result
        context["picture"] = network_picture(result["subgraph"], result["root"]["id"])
    return render_template("cases_network.html", **context, **_COMMON)


@bp.get("/cases/<ref>")
def case_page(ref: str) -> Any:
    svc = service()
    who = viewer()
    case = svc.show(who, ref)
    pictures = []
    for item in case["evidence"]:
        if item["kind"] == "trace":
            full = svc.evidence(who, case["id"], item["id"])
            pictures.append((item, lay_out(mask_snapshot(full["snapshot"], who))))
    return render_template("case_view.html", case=case, pictures=pictures, **_COMMON)


# -- OpenAPI -----------------------------------------------------------------------------

_PROBLEM = {"description": "错误（application/problem+json）"}


def _op(summary: str, params: list[dict[str, Any]] | None = None, body: bool = False,
        status: str = "200", raw: bool = False) -> dict[str, Any]:  # fmt: skip
    op: dict[str, Any] = {
        "tags": ["案件"],
        "summary": summary,
        "responses": {
            status: {"description": "成功"},
            "400": _PROBLEM,
            "403": _PROBLEM,
            "404": _PROBLEM,
        },
    }
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    if raw:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    return op


def _q(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema or {"type": "string"},
            "description": description}  # fmt: skip


def _p(name: str, description: str = "案件编号（AJ2026-00001）或 id") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"},
            "description": description}  # fmt: skip


def openapi_paths() -> dict[str, Any]:
    ref = _p("ref")
    num = {"type": "integer"}
    return {
        "/api/v1/cases": {
            "get": _op("案件列表（本角色可见的），可按阶段、等级、单位、承办人、类别、日期、"
                       "逾期任务、全文筛选", [
                _q("stage", "阶段", {"enum": list(STAGES)}),
                _q("level", "等级", {"enum": list(LEVELS)}), _q("unit", "牵头或配合单位"),
                _q("assignee", "承办人"), _q("category", "类别"),
                _q("from", "立案时间起 ISO 8601"), _q("to", "立案时间止 ISO 8601"),
                _q("overdue", "1 = 仅含逾期任务的案件"), _q("q", "全文检索"),
            ]),
            "post": _op("立案：直接立案，或由预警升级（alerts: [预警 id]）", body=True,
                        status="201"),
        },
        "/api/v1/cases/{ref}": {
            "get": _op("案件详情：预警、实体、证据、任务、意见、时间线（按角色脱敏）", [ref]),
            "patch": _op("修改案件：标题、类别、等级、牵头单位、承办人、配合单位、说明", [ref],
                         body=True),
        },
        "/api/v1/cases/{ref}/stage": {
            "post": _op("变更阶段 new → investigating → measures_taken → closed；结案须给"
                        " resolution（true_positive、false_positive、duplicate），回写预警处置结果",
                        [ref], body=True),
        },
        "/api/v1/cases/{ref}/alerts": {"post": _op("将预警并入本案", [ref], body=True)},
        "/api/v1/cases/{ref}/entities": {
            "post": _op("关联实体：kind（enterprise、buyer、phone、address、order、batch、waybill、"
                        "payment、post）与 value；个人信息按密钥散列保存", [ref], body=True,
                        status="201"),
        },
        "/api/v1/cases/{ref}/evidence": {
            "post": _op("添加证据：trace（追溯快照，保存当时的子图）、document、finding、"
                        "note、post", [ref], body=True, status="201"),
        },
        "/api/v1/cases/{ref}/evidence/{evidence_id}": {
            "get": _op("一条证据（含快照）", [ref, _p("evidence_id", "证据 id") | {"schema": num}]),
        },
        "/api/v1/cases/{ref}/files": {
            "post": _op("上传文件（请求体即文件；按内容识别类型，限大小，私有保存）",
                        [ref, _q("name", "文件名")], raw=True, status="201"),
        },
        "/api/v1/cases/{ref}/files/{evidence_id}": {
            "get": _op("下载上传的文件（记入时间线）",
                       [ref, _p("evidence_id", "证据 id") | {"schema": num}]),
        },
        "/api/v1/cases/{ref}/tasks": {
            "post": _op("分派任务：title、owner、due（ISO 8601）", [ref], body=True, status="201"),
        },
        "/api/v1/cases/{ref}/tasks/{task_id}": {
            "post": _op("更新任务状态 open、done、cancelled",
                        [ref, _p("task_id", "任务 id") | {"schema": num}], body=True),
        },
        "/api/v1/cases/{ref}/comments": {
            "post": _op("发表意见；@用户名 或 @单位id 通知对方", [ref], body=True, status="201"),
        },
        "/api/v1/cases/{ref}/unmask": {
            "post": _op("公安人员说明事由后查看实体背后的个人信息原文（先审计）", [ref], body=True),
        },
        "/api/v1/cases/{ref}/export": {
            "get": _op("导出案卷 HTML 或 PDF（追溯图、证据清单、时间线，按导出角色脱敏；记入审计）",
                       [ref, _q("format", "格式", {"enum": ["html", "pdf"]})]),
        },
        "/api/v1/case-notifications": {"get": _op("提及我（或我的单位）的意见通知")},
        "/api/v1/case-search/entity": {
            "post": _op("按实体查案件：kind、value；个人信息按密钥散列查询并审计", body=True),
        },
        "/api/v1/case-search/network": {
            "post": _op("关系网络查案：kind（buyer、phone、address、enterprise）、value、hops；"
                        "返回连接路径与子图", body=True),
        },
    }  # fmt: skip
