"""The risk API, its OpenAPI paths and the 风险总览 page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.web import openapi_paths
from config.settings import load_settings
from tests.test_risk_mechanisms import AS_OF, EBC, LOT, ORDER, populate
from traceability.app.web import create_app
from traceability.services import build_services


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Any]:
    services = build_services(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)}))
    populate(services)
    services.feature("risk").run("all", as_of=AS_OF)
    app = create_app(services=services)
    yield app.test_client()
    services.close()


def test_list_filter_and_explain(client) -> None:
    listed = client.get("/api/v1/risks").get_json()
    assert listed["count"] == len(listed["risks"]) > 3
    serious = client.get("/api/v1/risks?level=serious").get_json()["risks"]
    assert serious and {r["level"] for r in serious} == {"serious"}
    mine = client.get(f"/api/v1/risks?entity=Order:{ORDER}").get_json()["risks"]
    assert "payment_mismatch" in {r["rule"] for r in mine}
    fp = mine[0]["fingerprint"]
    explained = client.get(f"/api/v1/risks/{fp}").get_json()
    assert explained["fingerprint"] == fp and explained["signals"] and explained["alerts"]
    bad = client.get("/api/v1/risks?level=huge")
    assert bad.status_code == 400 and bad.content_type.startswith("application/problem+json")
    assert client.get("/api/v1/risks/nope").status_code == 404


def test_runs_credit_and_alerts(client) -> None:
    runs = client.get("/api/v1/risk-runs?mechanism=assess").get_json()["runs"]
    assert runs and runs[0]["mechanism"] == "assess"
    grades = client.get("/api/v1/credit").get_json()["grades"]
    assert {g["enterprise"] for g in grades} >= {EBC}
    graded = client.get(f"/api/v1/credit/{EBC}").get_json()
    assert graded["grade"] in "ABCD" and graded["factors"] and graded["history"]
    assert client.get("/api/v1/credit/NOPE").status_code == 404
    alerts = client.get("/api/v1/alerts?status=open").get_json()["alerts"]
    first = alerts[0]["id"]
    assert client.post(f"/api/v1/alerts/{first}/ack", json={"by": "李四"}).status_code == 200
    closed = client.post(f"/api/v1/alerts/{first}/close", json={"outcome": "confirmed"})
    assert closed.get_json()["status"] == "closed"
    assert client.post(f"/api/v1/alerts/{first}/close", json={"outcome": "x"}).status_code == 400


def test_manage_negative_list_and_notices(client) -> None:
    added = client.post("/api/v1/negative-list", json={"entity": f"Enterprise:{EBC}",
                                                       "reason": "虚假宣传"})  # fmt: skip
    assert added.status_code == 201
    entries = client.get("/api/v1/negative-list").get_json()["entries"]
    assert [e["entity"] for e in entries] == [f"Enterprise:{EBC}"]
    assert client.delete(f"/api/v1/negative-list/Enterprise:{EBC}").status_code == 204
    assert client.get("/api/v1/negative-list").get_json()["entries"] == []
    assert client.delete(f"/api/v1/negative-list/Enterprise:{EBC}").status_code == 404
    assert client.post("/api/v1/negative-list", json={"entity": "x"}).status_code == 400
    notice = {
        "ref": "N/2026/1",
        "issuer": "市场监管",
        "title": "召回",
        "entities": [f"Batch:{LOT}"],
    }
    assert client.post("/api/v1/notices", json=notice).status_code == 201
    assert client.post("/api/v1/notices", json=notice).status_code == 409
    assert client.post("/api/v1/notices", data="nope").status_code == 400
    assert [n["ref"] for n in client.get("/api/v1/notices").get_json()["notices"]] == ["N/2026/1"]
    assert client.delete("/api/v1/notices/N/2026/1").status_code == 204
    assert client.get("/api/v1/notices").get_json()["notices"] == []


def test_overview_page_in_chinese_without_cdn(client) -> None:
    page = client.get("/risks")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "风险总览" in html and "各单位待办预警" in html and "企业信用等级" in html
    assert "人行驻马店市中心支行" in html and 'href="/risks"' in html
    assets = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    assert client.get("/risks?level=serious").status_code == 200


def test_openapi_lists_every_risk_route(client) -> None:
    def shape(path: str) -> str:
        return re.sub(r"\{\w+\}", "{}", re.sub(r"<(?:\w+:)?\w+>", "{}", path))

    app = client.application
    routes = {
        shape(rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("risk.") and rule.rule.startswith("/api/")
    }
    assert routes == {shape(p) for p in openapi_paths()}
    document = client.get("/api/v1/openapi.json").get_json()
    assert set(openapi_paths()) <= set(document["paths"])
