"""The HTTP API and the browser console, through Flask's test client."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from config import load_settings
from tests.world_builder import build_small_world
from traceability.app.web import create_app


@pytest.fixture
def client(tmp_path: Path, hasher) -> tuple[FlaskClient, object]:
    settings = load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)})
    app = create_app(settings)
    world = build_small_world(hasher)
    store = app.extensions["qtrace"].store
    for batch in world.batches:
        store.upsert(batch.nodes, batch.edges)
    return app.test_client(), world


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_health(client) -> None:
    http, _ = client
    body = http.get("/api/v1/health").get_json()
    assert body["status"] == "ok" and body["schemaVersion"] == body["expectedSchemaVersion"]


def test_trace_has_the_cli_shape(client) -> None:
    http, world = client
    response = http.get(f"/api/v1/trace/order/{world.orders['O1']}?direction=back")
    assert response.status_code == 200
    body = response.get_json()
    assert {"nodes", "edges", "responsibility", "summary"} <= set(body)
    assert all({"label", "key", "props"} <= set(n) for n in body["nodes"])
    assert all({"type", "from", "to"} <= set(e) for e in body["edges"])
    assert world.lots["I1"] in {n["key"] for n in body["nodes"]}


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/trace/order/4101960001:NOPE", 404),
        ("/api/v1/trace/order/no-colon", 400),
        ("/api/v1/trace/parcel/x", 400),
        ("/api/v1/trace/order/A:B?direction=sideways", 400),
        ("/api/v1/recall", 400),
        ("/api/v1/recall?batch=04000002000028:NOPE", 404),
        ("/api/v1/recall?batch=bad", 400),
        ("/api/v1/nothing-here", 404),
    ],
)
def test_errors_are_problem_json(client, url: str, status: int) -> None:
    http, _ = client
    assert_problem(http.get(url), status)


def test_wrong_method_and_bad_body(client) -> None:
    http, _ = client
    assert_problem(http.delete("/api/v1/health"), 405)
    assert_problem(http.post("/api/v1/recall", data="not json"), 400)
    assert_problem(http.post("/api/v1/recall", json={"batches": "x"}), 400)


def test_recall_get_and_post_agree(client) -> None:
    http, world = client
    by_get = http.get(f"/api/v1/recall?batch={world.lots['I1']}").get_json()
    by_post = http.post("/api/v1/recall", json={"batches": [world.lots["I1"]]}).get_json()
    assert by_get == by_post and by_get["summary"]["orders"] == 2


def test_openapi_describes_every_api_route(client) -> None:
    http, _ = client
    doc = http.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")

    def shape(path: str) -> str:  # parameter names may differ; positions may not
        return re.sub(r"\{\w+\}", "{}", re.sub(r"<(?:\w+:)?\w+>", "{}", path))

    routes = {
        shape(rule.rule)
        for rule in http.application.url_map.iter_rules()
        if rule.rule.startswith(("/api/v1", "/epcis"))
    }
    assert routes == {shape(p) for p in doc["paths"]}


def test_console_draws_the_chain_and_responsibility(client) -> None:
    http, world = client
    page = http.get(f"/?kind=order&key={world.orders['O1']}&direction=back")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<svg id="chain"' in html and html.count("<rect") >= 10
    assert "责任链" in html and "Kiwi Whey Ltd" in html
    assert "11010519491231002X" not in html and "1101**********002X" in html


def test_console_errors_and_assets_are_local(client) -> None:
    http, _ = client
    assert http.get("/?kind=order&key=A:B").status_code == 404
    assert http.get("/?kind=order&key=bad").status_code == 400
    home = http.get("/").get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="([^"]+)"', home)
    assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    assert http.get("/static/console.css").status_code == 200
    recall = http.get("/recall?batch=bad")
    assert recall.status_code == 400


def test_console_escapes_stored_text(client, tmp_path: Path) -> None:
    http, _ = client
    store = http.application.extensions["qtrace"].store
    from traceability.store.port import Node

    store.upsert([Node("Order", "X:<script>alert(1)</script>", {"acturalPaid": "<b>1</b>"})], [])
    html = http.get("/?kind=order&key=X:<script>alert(1)</script>").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
