"""The JSON API, ``/api/v1``: health, trace, recall and its OpenAPI description."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from graph_schema import SCHEMA
from traceability.analysis.compliance import FINDING_TYPES
from traceability.analysis.keys import InvalidKey
from traceability.app.web.openapi import openapi_document
from traceability.app.web.problems import problem
from traceability.ingest.ingestor import IngestReport
from traceability.services import Services

api = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_RECALL_BATCHES = 200


def services() -> Services:
    return current_app.extensions["qtrace"]


@api.get("/health")
def health() -> Any:
    """Up (HTTP 200) while the service runs; ``degraded`` names a component that is not ok."""
    store = services().store
    version = getattr(store, "schema_version", lambda: None)()
    components = services().health()
    degraded = any(c.get("status") != "ok" for c in components.values())
    return jsonify(
        {
            "status": "degraded" if degraded else "ok",
            "store": type(store).__name__,
            "schemaVersion": version,
            "expectedSchemaVersion": SCHEMA.version,
            "components": components,
        }
    )


@api.get("/trace/<kind>/<path:key>")
def trace(kind: str, key: str) -> Any:
    direction = request.args.get("direction", "both")
    return jsonify(services().trace.trace(kind, key, direction))


@api.route("/recall", methods=["GET", "POST"])
def recall() -> Any:
    if request.method == "POST":
        body = request.get_json(silent=True)
        batches = body.get("batches") if isinstance(body, dict) else None
        if not isinstance(batches, list) or not all(isinstance(b, str) for b in batches):
            raise InvalidKey('请求体应为 JSON：{"batches": ["GTIN:LOT", ...]}')
    else:
        batches = request.args.getlist("batch")
    if len(batches) > MAX_RECALL_BATCHES:
        raise InvalidKey(f"一次最多查询 {MAX_RECALL_BATCHES} 个批次")
    return jsonify(services().trace.recall(batches))


@api.get("/findings")
def findings() -> Any:
    code = request.args.get("code") or None
    if code is not None and code not in FINDING_TYPES:
        raise InvalidKey(f"未知的发现代码 {code}")
    include_resolved = request.args.get("include_resolved", "false").lower() in ("1", "true")
    items = services().ledger.findings(code, include_resolved)
    return jsonify({"findings": items, "count": len(items)})


@api.post("/ceb")
def ceb_message() -> Any:
    """Accept one CEB XML message (or DxpMsg envelope) as the request body."""
    data = request.get_data(cache=False)
    if not data:
        raise InvalidKey("请求体应为 CEB XML 报文")
    report = IngestReport()
    # The caller's enterprise (set by the accounts guard): an enterprise may not change or
    # delete another enterprise's documents.
    services().ingestor().ingest_bytes(data, "request", report, g.get("submitter"))
    if report.rejections:
        rejection = report.rejections[0]
        return problem(400, "报文被拒收", str(rejection.reason), record=rejection.record)
    fmt, tally = next(iter(report.formats.items()))
    return jsonify({"format": fmt, "records": tally.records, "findings": tally.findings}), 200


@api.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document(services().features))
