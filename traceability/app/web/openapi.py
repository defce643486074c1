"""The OpenAPI 3.1 description of ``/api/v1``, built from graph_schema and the key kinds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from traceability.analysis.keys import KIND_ZH, KINDS
from traceability.features import Feature


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def openapi_document(features: Iterable[Feature] = ()) -> dict[str, Any]:
    """The API description: core paths here, each feature's paths from the feature."""
    document = _core_document()
    for feature in features:
        if feature.openapi_paths is not None:
            document["paths"].update(feature.openapi_paths())
    return document


def _core_document() -> dict[str, Any]:
    errors = {
        "400": _problem_response("参数错误 Bad parameters"),
        "404": _problem_response("未找到 Unknown key"),
    }
    kinds = ", ".join(f"{k} ({KIND_ZH[k]})" for k in KINDS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "qtrace 跨境电商质量安全追溯 API",
            "version": "1.0.0",
            "description": "溯源、去向、责任链与召回范围查询。个人信息一律脱敏返回。",
        },
        "paths": {
            "/api/v1/health": {
                "get": {
                    "summary": "健康检查",
                    "operationId": "health",
                    "responses": {"200": {"description": "服务与存储状态"}},
                }
            },
            "/api/v1/trace/{kind}/{key}": {
                "get": {
                    "summary": "追溯一个对象 (溯源/去向)",
                    "operationId": "trace",
                    "parameters": [
                        {
                            "name": "kind",
                            "in": "path",
                            "required": True,
                            "description": f"对象类型: {kinds}",
                            "schema": {"type": "string", "enum": list(KINDS)},
                        },
                        {
                            "name": "key",
                            "in": "path",
                            "required": True,
                            "description": "业务键，以 : 连接，如 EBPCODE:ORDERNO 或 GTIN:LOT",
                            "schema": {"type": "string", "maxLength": 200},
                        },
                        {
                            "name": "direction",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["back", "forward", "both"],
                                       "default": "both"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "追溯结果",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Trace"}}},
                        },
                        **errors,
                    },
                }
            },
            "/api/v1/recall": {
                "get": {
                    "summary": "召回范围",
                    "operationId": "recall",
                    "parameters": [
                        {
                            "name": "batch",
                            "in": "query",
                            "required": True,
                            "description": "批次键 GTIN:LOT，可重复",
                            "schema": {"type": "array", "items": {"type": "string"},
                                       "maxItems": 200},
                            "style": "form",
                            "explode": True,
                        }
                    ],
                    "responses": {"200": {"description": "召回范围"}, **errors},
                },
                "post": {
                    "summary": "召回范围 (JSON 请求体)",
                    "operationId": "recallPost",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {
                            "type": "object", "required": ["batches"],
                            "properties": {"batches": {"type": "array", "maxItems": 200,
                                                       "items": {"type": "string"}}}}}},
                    },
                    "responses": {"200": {"description": "召回范围"}, **errors},
                },
            },
            "/api/v1/findings": {
                "get": {
                    "summary": "单证核验发现",
                    "operationId": "findings",
                    "parameters": [
                        {"name": "code", "in": "query", "schema": {"type": "string"}},
                        {"name": "include_resolved", "in": "query",
                         "schema": {"type": "boolean", "default": False}},
                    ],
                    "responses": {"200": {"description": "发现列表"}, "400": errors["400"]},
                }
            },
            "/api/v1/ceb": {
                "post": {
                    "summary": "提交一份 CEB 报文 (XML 或 DxpMsg)",
                    "operationId": "cebMessage",
                    "requestBody": {"required": True, "content": {
                        "application/xml": {"schema": {"type": "string"}}}},
                    "responses": {"200": {"description": "已接收"},
                                  "400": _problem_response("报文被拒收")},
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "本文档",
                    "operationId": "openapi",
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
        },
        "components": {
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": "string"},
                    },
                },
                "Trace": {
                    "type": "object",
                    "required": ["nodes", "edges", "responsibility", "summary"],
                    "properties": {
                        "root": {"type": "object"},
                        "direction": {"type": "string"},
                        "nodes": {"type": "array", "items": {
                            "type": "object", "required": ["id", "label", "key", "props"],
                            "properties": {"id": {"type": "string"}, "label": {"type": "string"},
                                           "key": {"type": "string"}, "props": {"type": "object"},
                                           "depth": {"type": "integer"},
                                           "column": {"type": "integer"}}}},
                        "edges": {"type": "array", "items": {
                            "type": "object", "required": ["type", "from", "to"],
                            "properties": {"type": {"type": "string"}, "from": {"type": "string"},
                                           "to": {"type": "string"}}}},
                        "responsibility": {"type": "array", "items": {"type": "object"}},
                        "summary": {"type": "object"},
                    },
                },
            }
        },
    }  # fmt: skip
