"""The house rules: one error hierarchy rendered in one place, features, teardown."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flask import Flask

from config import load_settings
from traceability.app.cli import main
from traceability.app.web import close_app, create_app
from traceability.epcis.capture import PARALLEL_MIN_BYTES
from traceability.errors import (
    ERROR_CLASSES,
    ConfigurationError,
    InvalidInput,
    NotFound,
    QtraceError,
    StoreUnavailable,
)
from traceability.features import Feature, installed_features
from traceability.services import build_services

EXPECTED = {  # class name: (HTTP status, exit code) — the README's tables
    "InvalidInput": (400, 3),
    "InvalidParameter": (400, 3),
    "NotFound": (404, 4),
    "Conflict": (409, 5),
    "Unauthenticated": (401, 6),
    "Forbidden": (403, 7),
    "TooLarge": (413, 8),
    "RateLimited": (429, 9),
    "StoreUnavailable": (503, 10),
    "ConfigurationError": (500, 11),
}


def _raise(error: QtraceError) -> None:
    raise error


def _instance(cls: type[QtraceError]) -> QtraceError:
    if cls is StoreUnavailable:
        return StoreUnavailable("Neo4j 无法连接", store="Neo4j")
    return cls(f"{cls.__name__} 的说明")


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    app = create_app(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)}))
    for cls in ERROR_CLASSES:
        app.add_url_rule(f"/raise/{cls.__name__}", cls.__name__, lambda c=cls: _raise(_instance(c)))
    yield app
    close_app(app)


def test_the_readme_tables_list_every_error_class() -> None:
    assert {cls.__name__ for cls in ERROR_CLASSES} == set(EXPECTED)
    codes = [cls.code for cls in ERROR_CLASSES]
    assert len(set(codes)) == len(codes)  # stable machine codes, one per class


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_each_error_becomes_problem_json_with_its_status(app: Flask, cls: type) -> None:
    response = app.test_client().get(f"/raise/{cls.__name__}")
    status, _ = EXPECTED[cls.__name__]
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["code"] == cls.code and body["title"] == cls.title
    assert body["detail"] == str(_instance(cls))
    if cls is StoreUnavailable:
        assert response.headers["Retry-After"] == "30" and body["store"] == "Neo4j"


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_each_error_becomes_one_cli_line_and_its_exit_code(cls: type) -> None:
    @main.command(f"raise-{cls.__name__.lower()}")
    def _command() -> None:
        _raise(_instance(cls))

    try:
        result = CliRunner().invoke(main, [f"raise-{cls.__name__.lower()}"])
    finally:
        main.commands.pop(f"raise-{cls.__name__.lower()}")
    assert result.exit_code == EXPECTED[cls.__name__][1], result.output
    assert f"[{cls.code}]" in result.output and "Traceback" not in result.output


def test_builtin_bases_keep_older_callers_working() -> None:
    assert isinstance(InvalidInput("x"), ValueError) and isinstance(NotFound("x"), LookupError)
    assert isinstance(ConfigurationError("x"), ValueError)


def test_a_store_outage_is_a_503_that_names_the_store(tmp_path: Path) -> None:
    environ = {
        "QTRACE_DATA_DIR": str(tmp_path),
        "QTRACE_GRAPH_URL": "bolt://127.0.0.1:9",  # nothing listens on the discard port
    }
    result = CliRunner().invoke(main, ["graph", "stats"], env=environ)
    assert result.exit_code == 10, result.output
    assert "[store_unavailable]" in result.output and "Neo4j" in result.output


def test_an_invalid_setting_is_exit_code_11(tmp_path: Path) -> None:
    env = {"QTRACE_DATA_DIR": str(tmp_path), "QTRACE_TRACE__MAX_DEPTH": "deep"}
    result = CliRunner().invoke(main, ["graph", "stats"], env=env)
    assert result.exit_code == 11 and "max_depth" in result.output


def test_every_feature_plugs_in_through_the_registry(app: Flask) -> None:
    features = {f.name: f for f in installed_features()}
    assert {"epcis", "opinions", "demo"} <= set(features)
    assert all(isinstance(f, Feature) for f in features.values())
    for feature in features.values():
        for command in feature.commands() if feature.commands else ():
            assert main.commands[command.name] is command
        for blueprint in feature.blueprints() if feature.blueprints else ():
            assert app.blueprints[blueprint.name] is blueprint
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    assert "/epcis/capture" in paths and "/api/v1/opinions/search" in paths


def test_a_disabled_feature_is_not_built_and_says_so(tmp_path: Path) -> None:
    environ = {"QTRACE_DATA_DIR": str(tmp_path), "QTRACE_FEATURES__DISABLED": "opinions"}
    services = build_services(load_settings(environ=environ))
    try:
        assert not services.has_feature("opinions") and services.has_feature("epcis")
        with pytest.raises(NotFound, match="opinions"):
            services.feature("opinions")
    finally:
        services.close()


def test_closing_the_app_leaves_no_pool_or_connection(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"QTRACE_DATA_DIR": str(tmp_path), "QTRACE_EPCIS__WORKERS": "1"}
    )
    app = create_app(settings)
    services = app.extensions["qtrace"]
    capture = services.feature("epcis").capture
    futures = capture._check_async(b"{" + b" " * PARALLEL_MIN_BYTES + b"}")  # starts the pool
    assert futures and capture._checkers is not None
    processes = list(capture._checkers._processes.values())
    assert processes
    connections = [services.ledger.db, services.feature("epcis").events.db]
    close_app(app)
    assert services.closed and capture._checkers is None
    for process in processes:
        process.join(timeout=10)
        assert not process.is_alive()
    for connection in connections:
        with pytest.raises(sqlite3.ProgrammingError):
            connection.execute("SELECT 1")
    close_app(app)  # twice is harmless


def test_one_set_of_services_per_app(tmp_path: Path) -> None:
    app = create_app(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)}))
    try:
        services = app.extensions["qtrace"]
        assert services.feature("epcis") is services.feature("epcis")
        assert services.compliance is services.compliance
    finally:
        close_app(app)


def test_cli_commands_are_click_commands() -> None:
    assert all(isinstance(c, click.Command) for c in main.commands.values())
