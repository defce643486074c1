"""Helpers for the security tests: an app with the accounts feature and login required.

(No tests here: the tests are in the other ``tests/test_security_*.py`` files.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from config import Settings, load_settings
from traceability.accounts.feature import feature as accounts_feature
from traceability.accounts.service import AccountsService
from traceability.app.web import create_app
from traceability.features import Feature, installed_features
from traceability.services import Services, build_services

PASSWORD = "correct horse battery staple"


def with_accounts(*extra: Feature) -> tuple[Feature, ...]:
    others = tuple(f for f in installed_features() if f.name != "accounts")
    return (*others, accounts_feature, *extra)


def make_settings(tmp_path: Path, **accounts: Any) -> Settings:
    """Settings over ``tmp_path`` with ``[accounts] required = true`` and any overrides."""
    lines = ["[accounts]", "required = true"]
    for name, value in accounts.items():
        if isinstance(value, bool):
            lines.append(f"{name} = {str(value).lower()}")
        elif isinstance(value, list):
            lines.append(f"{name} = {value!r}".replace("'", '"'))
        else:
            lines.append(f"{name} = {value}")
    config = tmp_path / "site.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_settings(config, environ={"QTRACE_DATA_DIR": str(tmp_path / "var")})


def make_app(settings: Settings, *extra: Feature) -> tuple[Flask, Services]:
    services = build_services(settings, features=with_accounts(*extra))
    app = create_app(settings, services)
    app.testing = True
    return app, services


def accounts_of(services: Services) -> AccountsService:
    service: AccountsService = services.feature("accounts")
    return service


def add_user(services: Services, name: str, role: str, enterprise: str | None = None) -> None:
    accounts_of(services).store.add_user(name, role, PASSWORD, enterprise, actor="test")


def bearer(services: Services, name: str, scopes: tuple[str, ...] = ("read", "write")) -> dict:
    token, _ = accounts_of(services).store.create_token(name, scopes, 30, actor="test")
    return {"Authorization": f"Bearer {token}"}


def login_csrf(client: FlaskClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)
    return found.group(1)


def login(client: FlaskClient, name: str, password: str = PASSWORD, **extra: str) -> Any:
    token = login_csrf(client)
    form = {"username": name, "password": password, "csrf_token": token, **extra}
    return client.post("/login", data=form)


def session_csrf(client: FlaskClient) -> str:
    who = client.get("/api/v1/auth/whoami")
    assert who.status_code == 200, who.get_data(as_text=True)
    token: str = who.get_json()["csrfToken"]
    return token
