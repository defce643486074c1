"""The one permission table, checked against every endpoint of the real app × every role."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint

from tests.test_security_support import add_user, bearer, make_app, make_settings
from traceability.accounts.permissions import PERMISSIONS, PUBLIC, ROLES
from traceability.app.web import close_app
from traceability.features import Feature

METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp("permissions")
    app, services = make_app(make_settings(tmp_path))
    headers = {}
    for role in ROLES:
        add_user(services, f"u-{role}", role, "91410100MA0000000X" if role == "submitter" else None)
        headers[role] = bearer(services, f"u-{role}")
    yield app, headers
    close_app(app)


def _refused_by_guard(response) -> bool:
    """A 403 from the permission check itself (not a later rule such as ownership)."""
    detail = (response.get_json(silent=True) or {}).get("detail", "")
    return detail.startswith(("角色 ", "端点 ", "令牌范围", "CSRF"))


def _sample(rule, name: str) -> object:
    converter = type(rule._converters[name]).__name__
    return 1 if converter in ("IntegerConverter", "FloatConverter") else "x"


def _requests(app):
    adapter = app.url_map.bind("localhost")
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
        values = {name: _sample(rule, name) for name in rule.arguments}
        if "month" in rule.arguments:
            values["month"] = "2026-01"
        for method in METHOD_ORDER:
            if method in (rule.methods or ()):
                yield rule.endpoint, method, adapter.build(rule.endpoint, values, method=method)


def test_every_registered_endpoint_is_in_the_permission_table(site) -> None:
    app, _ = site
    missing = sorted({rule.endpoint for rule in app.url_map.iter_rules()} - set(PERMISSIONS))
    assert not missing, (
        "端点未在 traceability/accounts/permissions.py 的 PERMISSIONS 中登记 "
        f"(endpoints missing from the permission table): {missing}"
    )


def test_every_endpoint_times_every_role(site) -> None:
    """Anonymous callers get 401 (or the login redirect) on everything not public; a role
    the table does not list gets 403; a listed role is never refused by the guard."""
    app, headers = site
    http = app.test_client()
    wrong: list[str] = []
    for endpoint, method, path in _requests(app):
        roles = PERMISSIONS[endpoint]
        body = {"data": b"{}", "content_type": "application/json"} if method != "GET" else {}
        if endpoint == "accounts.login_submit":
            continue  # the login form: its own CSRF cookie, covered in test_security_accounts
        anonymous = http.open(path, method=method, **body)
        if roles is PUBLIC:
            if anonymous.status_code in (401, 403):
                wrong.append(f"anonymous {method} {path}: {anonymous.status_code}, want public")
        elif anonymous.status_code not in (401, 303):
            wrong.append(f"anonymous {method} {path}: {anonymous.status_code}, want 401")
        for role, auth in headers.items():
            response = http.open(path, method=method, headers=auth, **body)
            if roles is PUBLIC or role in roles:
                refused = response.status_code == 401 or (
                    response.status_code == 403 and _refused_by_guard(response)
                )
                if refused:
                    wrong.append(f"{role} {method} {path}: {response.status_code}, want allowed")
            elif response.status_code != 403:
                wrong.append(f"{role} {method} {path}: {response.status_code}, want 403")
    assert not wrong, "\n".join(wrong)


def test_an_endpoint_missing_from_the_table_is_refused_even_to_admins(tmp_path: Path) -> None:
    extra = Blueprint("unlisted", __name__)
    extra.add_url_rule("/unlisted", "page", lambda: "secret")
    feature = Feature(name="unlisted", title="x", blueprints=lambda: [extra])
    app, services = make_app(make_settings(tmp_path), feature)
    try:
        add_user(services, "root", "admin")
        response = app.test_client().get("/unlisted", headers=bearer(services, "root"))
        assert response.status_code == 403 and "权限表" in response.get_json()["detail"]
    finally:
        close_app(app)


def test_public_security_alone_may_unmask_and_auditors_read_the_audit_log() -> None:
    assert PERMISSIONS["accounts.unmask"] == frozenset({"public_security"})
    assert PERMISSIONS["accounts.audit_log"] == frozenset({"admin", "auditor"})
    assert "submitter" not in PERMISSIONS["api.trace"]  # enterprises send, they do not trace
