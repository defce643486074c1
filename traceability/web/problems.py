"""RFC 7807 problem details, in zh-CN with the English status phrase as ``type`` context."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request


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
