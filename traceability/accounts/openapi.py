"""The accounts feature's part of ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

_PROBLEM: dict[str, Any] = {"application/problem+json": {}}
_JSON_OK = {"description": "OK", "content": {"application/json": {}}}
_AUTH = {
    "401": {"description": "未登录或令牌无效", "content": _PROBLEM},
    "403": {"description": "角色或令牌范围不允许", "content": _PROBLEM},
}


def openapi_paths() -> dict[str, Any]:
    return {
        "/api/v1/auth/whoami": {
            "get": {
                "summary": "当前调用者：用户、角色、企业、令牌范围（会话调用另含 csrfToken）",
                "tags": ["accounts"],
                "responses": {"200": _JSON_OK, **_AUTH},
            }
        },
        "/api/v1/audit": {
            "get": {
                "summary": "审计日志（最新在前）及哈希链校验结果；admin、auditor",
                "tags": ["accounts"],
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {"name": "before", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": _JSON_OK, **_AUTH},
            }
        },
        "/api/v1/unmask": {
            "post": {
                "summary": "个人信息查明文（仅公安，须填事由；先记审计再返回）",
                "tags": ["accounts"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["kind", "key", "reason"],
                                "properties": {
                                    "kind": {"enum": ["order", "payment", "waybill", "inventory"]},
                                    "key": {"type": "string"},
                                    "reason": {"type": "string", "minLength": 8},
                                    "case": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _JSON_OK,
                    "400": {"description": "缺少事由或参数错误", "content": _PROBLEM},
                    "404": {"description": "归档中没有原始报文", "content": _PROBLEM},
                    **_AUTH,
                },
            }
        },
    }
