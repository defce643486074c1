"""The accounts feature: users, roles, sessions, API tokens, the audit log, the guard."""

from __future__ import annotations

from traceability.accounts.cli import commands
from traceability.accounts.guard import setup_app
from traceability.accounts.openapi import openapi_paths
from traceability.accounts.service import build
from traceability.accounts.settings import AccountsSettings
from traceability.accounts.web import blueprint
from traceability.features import Feature, NavItem

feature = Feature(
    name="accounts",
    title="用户与权限",
    settings=AccountsSettings,
    build=build,
    commands=commands,
    blueprints=lambda: [blueprint],
    openapi_paths=openapi_paths,
    nav=(NavItem("/login", "账户", 95),),
    setup_app=setup_app,
)
