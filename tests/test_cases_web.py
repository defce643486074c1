"""The case console pages, the OpenAPI paths, and a fresh data dir."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import load_settings
from tests.test_cases_support import ROLES, Site, case_features
from tests.test_security_permissions import _refused_by_guard, _requests
from traceability.accounts.permissions import PERMISSIONS
from traceability.app.web import create_app
from traceability.cases.web import openapi_paths
from traceability.services import build_services

PS = "public_security"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = Site(tmp_path_factory.mktemp("cases-web"))
    yield built
    built.close()


def test_console_pages_list_view_and_network_picture(site: Site) -> None:
    orders = site.manifest["stories"]["buyer_ring"]["orders"]
    ref = site.call(
        PS, "POST", "/api/v1/cases", json={"title": "控制台测试案件", "lead_unit": "police"}
    ).get_json()["ref"]
    for order in orders[:2]:
        site.call(
            PS, "POST", f"/api/v1/cases/{ref}/entities", json={"kind": "order", "value": order}
        )
    site.call(PS, "POST", f"/api/v1/cases/{ref}/evidence",
              json={"kind": "trace", "trace_kind": "order", "key": orders[0]})  # fmt: skip
    listing = site.call(PS, "GET", "/cases?stage=new&level=medium")
    text = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "控制台测试案件" in text
    assert 'href="/cases"' in text and "关系网络查案" in text  # navigation entries
    view = site.call(PS, "GET", f"/cases/{ref}")
    page = view.get_data(as_text=True)
    assert view.status_code == 200 and "<svg" in page and "时间线" in page
    assert "/trace?kind=order" in page
    entity_id = site.call(PS, "GET", f"/api/v1/cases/{ref}").get_json()["entities"][0]["id"]
    network = site.call(PS, "GET", f"/cases/network?case={ref}&entity={entity_id}")
    html = network.get_data(as_text=True)
    assert network.status_code == 200 and "<svg" in html and "收货电话" in html
    assert "控制台测试案件" in html
    assert site.call(PS, "GET", "/cases/network").status_code == 200
    assert site.call("submitter", "GET", "/cases").status_code == 403


def test_openapi_lists_every_case_endpoint(site: Site) -> None:
    paths = openapi_paths()
    document = site.call(PS, "GET", "/api/v1/openapi.json").get_json()
    assert set(paths) <= set(document["paths"])
    routes = {r.rule for r in site.app.url_map.iter_rules() if r.endpoint.startswith("cases.")}
    api = {r.replace("<int:", "{").replace("<", "{").replace(">", "}")
           for r in routes if r.startswith("/api/")}  # fmt: skip
    assert api == set(paths)
    endpoints = {r.endpoint for r in site.app.url_map.iter_rules()
                 if r.endpoint.startswith("cases.")}  # fmt: skip
    assert endpoints == {e for e in PERMISSIONS if e.startswith("cases.")}


def test_building_services_does_no_io_and_open_mode_works(tmp_path: Path) -> None:
    settings = load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path / "fresh")})
    services = build_services(settings, features=case_features())
    try:
        db = sqlite3.connect(settings.embedded_db_path)
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        assert not any(n.startswith("cases_") for n in names)
        app = create_app(settings, services)
        client = app.test_client()  # a site without login: visible, masked
        created = client.post("/api/v1/cases", json={"title": "开放模式", "by": "张三"})
        assert created.status_code == 201 and created.get_json()["created_by"] == "张三"
        assert client.get("/api/v1/cases").get_json()["count"] == 1
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        assert "cases_cases" in names
        db.close()
    finally:
        services.close()


def test_every_case_endpoint_times_every_role(site: Site) -> None:
    """The proposed permission entries, walked like tests/test_security_permissions.py."""
    http = site.app.test_client()
    wrong = []
    for endpoint, method, path in _requests(site.app):
        if not endpoint.startswith("cases."):
            continue
        roles = PERMISSIONS[endpoint]
        body = {"data": b"{}", "content_type": "application/json"} if method != "GET" else {}
        anonymous = http.open(path, method=method, **body)
        if anonymous.status_code not in (401, 303):
            wrong.append(f"anonymous {method} {path}: {anonymous.status_code}")
        for role in ROLES:
            response = http.open(path, method=method, headers=site.tokens[role], **body)
            if role in roles:
                if response.status_code == 401 or (
                    response.status_code == 403 and _refused_by_guard(response)
                ):
                    wrong.append(f"{role} {method} {path}: {response.status_code}, want allowed")
            elif response.status_code != 403:
                wrong.append(f"{role} {method} {path}: {response.status_code}, want 403")
    assert not wrong, "\n".join(wrong)
