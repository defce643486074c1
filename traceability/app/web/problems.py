"""RFC 7807 problem details in zh-CN, and the one handler that renders every error."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

from traceability.errors import QtraceError

log = logging.getLogger(__name__)


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        **extra,
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        mimetype="application/problem+json",
    )


def error_response(exc: QtraceError) -> Response:
    """Any error of the hierarchy as problem+json: status, title, ``code`` and extras."""
    response = problem(
        exc.http_status,
        exc.title,
        exc.detail,
        type=exc.problem_type,
        code=exc.code,
        **exc.problem_extra(),
    )
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def http_error_response(exc: HTTPException) -> Response:
    """Werkzeug's own errors (unknown path, wrong method) in the same shape."""
    response = problem(exc.code or 500, exc.name, exc.description or "")
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def unexpected_error_response(exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "服务器内部错误", "请求未能完成，已记录日志。")
