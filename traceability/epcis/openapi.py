"""OpenAPI 3.1 path items of the ``/epcis`` REST binding, for the app's OpenAPI document."""

from __future__ import annotations

from typing import Any

from traceability.epcis.query import _EQ_COLUMNS, _MATCH_ROLES, _TIMES


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"type": "object"}}}}  # fmt: skip


def _query_parameters() -> list[dict[str, Any]]:
    names = ["eventType", *_TIMES, *_EQ_COLUMNS, "EQ_eventID", *_MATCH_ROLES]
    params: list[dict[str, Any]] = [
        {"name": n, "in": "query", "schema": {"type": "string"},
         "description": "多个取值以 | 分隔，取并集 (pipe-separated values are ORed)"}
        for n in names
    ]  # fmt: skip
    params += [
        {"name": "EQ_bizTransaction_{type}", "in": "query", "schema": {"type": "string"},
         "description": "业务交易 (type 为 CBV 交易类型或 URI)"},
        {"name": "orderBy", "in": "query", "schema": {"enum": ["eventTime", "recordTime"]}},
        {"name": "orderDirection", "in": "query", "schema": {"enum": ["ASC", "DESC"]}},
        {"name": "perPage", "in": "query",
         "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
        {"name": "nextPageToken", "in": "query", "schema": {"type": "string"}},
    ]  # fmt: skip
    return params


def openapi_paths() -> dict[str, Any]:
    errors = {"400": _problem("ValidationException / QueryParameterException"),
              "404": _problem("NoSuchResourceException"),
              "413": _problem("CaptureLimitExceededException"),
              "415": _problem("UnsupportedMediaTypeException")}  # fmt: skip
    document_body = {"content": {"application/ld+json": {"schema": {"type": "object"}},
                                 "application/xml": {"schema": {"type": "string"}}}}  # fmt: skip
    return {
        "/epcis/capture": {
            "post": {
                "summary": "采集 EPCIS 文档 (异步采集任务)",
                "operationId": "epcisCapture",
                "parameters": [
                    {
                        "name": "GS1-Capture-Error-Behaviour",
                        "in": "header",
                        "schema": {"enum": ["rollback", "proceed"], "default": "rollback"},
                    }
                ],
                "requestBody": document_body,
                "responses": {"202": {"description": "已受理；Location 指向采集任务"}, **errors},
            }
        },
        "/epcis/capture/{captureID}": {
            "get": {
                "summary": "采集任务状态",
                "operationId": "epcisCaptureJob",
                "parameters": [
                    {
                        "name": "captureID",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": {"description": "采集任务"}, **errors},
            }
        },
        "/epcis/events": {
            "get": {
                "summary": "SimpleEventQuery 事件查询",
                "operationId": "epcisEvents",
                "parameters": _query_parameters(),
                "responses": {
                    "200": {"description": "EPCISQueryDocument；下一页见 Link 头"},
                    **errors,
                },
            },
            "post": {
                "summary": "采集单个事件",
                "operationId": "epcisCaptureEvent",
                "requestBody": {"content": {"application/ld+json": {"schema": {"type": "object"}}}},
                "responses": {
                    "201": {"description": "已采集；Location 指向事件"},
                    "409": _problem("ResourceAlreadyExistsException"),
                    **errors,
                },
            },
        },
        "/epcis/events/{eventID}": {
            "get": {
                "summary": "按事件 ID (哈希 ID 或 eventID) 取事件",
                "operationId": "epcisEvent",
                "parameters": [
                    {
                        "name": "eventID",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": {"description": "事件"}, **errors},
            }
        },
    }
