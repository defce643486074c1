"""CSRF: the console's forms need their token; the API refuses what a cross-site page can send."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_security_support import (
    add_user,
    bearer,
    login,
    make_app,
    make_settings,
    session_csrf,
)
from traceability.app.web import close_app

FORM_TYPES = ("text/plain", "multipart/form-data", "application/x-www-form-urlencoded")
STATE_CHANGING = ("/api/v1/recall", "/api/v1/ceb", "/epcis/capture", "/epcis/events")


@pytest.fixture
def site(tmp_path: Path):
    app, services = make_app(
        make_settings(tmp_path, trusted_origins=["https://portal.example.gov.cn"])
    )
    add_user(services, "reg", "regulator")
    yield app, services
    close_app(app)


@pytest.mark.parametrize("path", STATE_CHANGING)
@pytest.mark.parametrize("content_type", FORM_TYPES)
def test_api_refuses_form_content_types(site, path: str, content_type: str) -> None:
    app, services = site
    response = app.test_client().post(
        path, data=b"batches=x", content_type=content_type, headers=bearer(services, "reg")
    )
    assert response.status_code == 415, response.get_data(as_text=True)


@pytest.mark.parametrize("path", STATE_CHANGING)
def test_api_refuses_cross_origin_requests(site, path: str) -> None:
    app, services = site
    headers = {**bearer(services, "reg"), "Origin": "https://evil.example"}
    response = app.test_client().post(path, json={"batches": []}, headers=headers)
    assert response.status_code == 403 and "跨站" in response.get_json()["detail"]


def test_same_and_trusted_origins_are_accepted(site) -> None:
    app, services = site
    http = app.test_client()
    for origin in ("http://localhost", "https://portal.example.gov.cn"):
        headers = {**bearer(services, "reg"), "Origin": origin}
        response = http.post("/api/v1/recall", json={"batches": []}, headers=headers)
        assert response.status_code not in (401, 403, 415)
    cross = {**bearer(services, "reg"), "Sec-Fetch-Site": "cross-site"}
    assert http.post("/api/v1/recall", json={"batches": []}, headers=cross).status_code == 403


def test_session_callers_need_the_csrf_header_on_the_api(site) -> None:
    app, _ = site
    http = app.test_client()
    assert login(http, "reg").status_code == 303
    without = http.post("/api/v1/recall", json={"batches": []})
    assert without.status_code == 403 and "CSRF" in without.get_json()["detail"]
    wrong = http.post("/api/v1/recall", json={"batches": []}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    token = session_csrf(http)
    ok = http.post("/api/v1/recall", json={"batches": []}, headers={"X-CSRF-Token": token})
    assert ok.status_code not in (401, 403, 415)
    assert http.get("/api/v1/recall").status_code not in (401, 403)  # reads need no token


def test_console_forms_need_their_token(site) -> None:
    app, _ = site
    http = app.test_client()
    # the login form: its token must match the cookie set with the page (login CSRF)
    http.get("/login")
    forged = http.post(
        "/login", data={"username": "reg", "password": "x" * 20, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    fresh = app.test_client()  # no cookie at all: a cross-site form post
    assert fresh.post("/login", data={"username": "reg", "password": "x"}).status_code == 403
    assert login(http, "reg").status_code == 303
    assert http.post("/logout", data={}).status_code == 403
    assert http.get("/api/v1/auth/whoami").status_code == 200  # still signed in


def test_login_page_has_no_inline_script(site) -> None:
    app, _ = site
    page = app.test_client().get("/login")
    text = page.get_data(as_text=True)
    assert "<script" not in text and "<style" not in text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
