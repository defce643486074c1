"""Users, roles, password hashing, lockout, sessions, the login page and API tokens."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_security_support import (
    PASSWORD,
    accounts_of,
    add_user,
    bearer,
    login,
    make_app,
    make_settings,
    session_csrf,
)
from traceability.accounts.cli import token as token_cli
from traceability.accounts.cli import user as user_cli
from traceability.accounts.passwords import hash_password, verify_password
from traceability.app.context import Context
from traceability.app.web import close_app


@pytest.fixture
def site(tmp_path: Path):
    app, services = make_app(make_settings(tmp_path))
    yield app, services
    close_app(app)


def test_fresh_install_refuses_everything_but_login_and_health(site) -> None:
    app, _ = site
    http = app.test_client()
    assert http.get("/api/v1/health").status_code == 200
    page = http.get("/login")
    assert page.status_code == 200 and "qtrace user add" in page.get_data(as_text=True)
    console = http.get("/recall?batch=x")
    assert console.status_code == 303
    assert console.headers["Location"].startswith("/login?next=/recall")
    for path in (
        "/api/v1/trace/order/x",
        "/api/v1/findings",
        "/epcis/events",
        "/api/v1/openapi.json",
        "/api/v1/audit",
    ):
        response = http.get(path)
        assert response.status_code == 401, path
        assert response.mimetype == "application/problem+json"
    assert http.post("/api/v1/ceb", data=b"<x/>", content_type="application/xml").status_code == 401


def test_passwords_are_scrypt_hashes_never_plain(site) -> None:
    _, services = site
    add_user(services, "alice", "regulator")
    (stored,) = (
        accounts_of(services)
        .store.db.execute("SELECT password_hash FROM accounts_users WHERE name = 'alice'")
        .fetchone()
    )
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert verify_password(PASSWORD, stored) and not verify_password(PASSWORD + "x", stored)
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # salted
    assert not verify_password(PASSWORD, "scrypt$99$8$1$AAAA$AAAA")  # malformed: never


def test_login_sets_a_hardened_session_cookie_and_logout_ends_it(site) -> None:
    app, services = site
    add_user(services, "alice", "regulator")
    http = app.test_client()
    response = login(http, "alice", next="/recall")
    assert response.status_code == 303 and response.headers["Location"] == "/recall"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "qtrace_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert http.get("/recall").status_code == 200
    assert http.get("/api/v1/auth/whoami").get_json()["role"] == "regulator"
    assert http.post("/logout").status_code == 403  # no CSRF token
    csrf = session_csrf(http)
    assert http.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert http.get("/api/v1/auth/whoami").status_code == 401
    # the session row is gone, not just the cookie
    rows = accounts_of(services).store.db.execute("SELECT count(*) FROM accounts_sessions")
    assert rows.fetchone()[0] == 0


def test_cookie_is_secure_over_tls_and_hsts_is_sent(site) -> None:
    app, services = site
    add_user(services, "alice", "regulator")
    http = app.test_client()
    page = http.get("/login", base_url="https://localhost")
    assert "max-age=" in page.headers["Strict-Transport-Security"]
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = http.post(
        "/login",
        base_url="https://localhost",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
    )
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "qtrace_session=" in c)
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_wrong_password_and_unknown_user_look_the_same(site) -> None:
    app, services = site
    add_user(services, "alice", "regulator")
    http = app.test_client()
    wrong = login(http, "alice", "not the password")
    unknown = login(http, "mallory", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.get_data(as_text=True)


def test_lockout_after_repeated_failures(tmp_path: Path) -> None:
    app, services = make_app(make_settings(tmp_path, max_failures=3, login_per_minute=100))
    try:
        add_user(services, "alice", "regulator")
        store = accounts_of(services).store
        http = app.test_client()
        for _ in range(3):
            login(http, "alice", "wrong password!!")
        locked = login(http, "alice")  # the right password, but locked
        assert locked.status_code == 429 and "锁定" in locked.get_data(as_text=True)
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)
        store.clock = lambda: later
        assert login(http, "alice").status_code == 303
    finally:
        close_app(app)


def test_login_is_rate_limited_per_client(tmp_path: Path) -> None:
    app, services = make_app(make_settings(tmp_path, login_per_minute=3))
    try:
        add_user(services, "alice", "regulator")
        http = app.test_client()
        for _ in range(3):
            login(http, "nobody", "whatever123456")
        limited = login(http, "alice")
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
    finally:
        close_app(app)


def test_disabled_user_cannot_log_in_or_use_tokens(site) -> None:
    app, services = site
    add_user(services, "alice", "regulator")
    headers = bearer(services, "alice")
    http = app.test_client()
    assert http.get("/api/v1/findings", headers=headers).status_code == 200
    accounts_of(services).store.set_disabled("alice", True)
    assert http.get("/api/v1/findings", headers=headers).status_code == 401
    assert login(http, "alice").status_code != 303


def test_open_redirect_after_login_is_refused(site) -> None:
    app, services = site
    add_user(services, "alice", "regulator")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = login(app.test_client(), "alice", next=target)
        assert response.headers["Location"] == "/", target


def test_api_tokens_are_hashed_scoped_expiring_and_revocable(site) -> None:
    app, services = site
    add_user(services, "alice", "regulator")
    store = accounts_of(services).store
    secret, info = store.create_token("alice", ["read"], 30)
    db_text = "\n".join(str(r) for r in store.db.execute("SELECT * FROM accounts_tokens"))
    assert secret.split("_", 2)[2] not in db_text  # only its hash is stored
    http = app.test_client()
    read = {"Authorization": f"Bearer {secret}"}
    assert http.get("/api/v1/findings", headers=read).status_code == 200
    denied = http.post("/api/v1/recall", json={"batches": []}, headers=read)
    assert denied.status_code == 403  # read scope cannot write
    assert (
        http.get("/api/v1/findings", headers={"Authorization": "Bearer qtr_x_y"}).status_code == 401
    )
    assert http.get("/api/v1/findings", headers={"Authorization": "Basic abc"}).status_code == 401
    store.revoke_token(info["id"])
    assert http.get("/api/v1/findings", headers=read).status_code == 401
    secret2, _ = store.create_token("alice", ["read"], 1)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    store.clock = lambda: later
    assert (
        http.get("/api/v1/findings", headers={"Authorization": f"Bearer {secret2}"}).status_code
        == 401
    )


def test_cli_adds_users_and_tokens(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    config = str(tmp_path / "site.toml")
    runner = CliRunner()
    env = {"QTRACE_DATA_DIR": str(tmp_path / "var")}
    added = runner.invoke(
        user_cli,
        ["add", "boss", "--role", "admin", "--password-stdin"],
        obj=Context(config),
        input=PASSWORD + "\n",
        env=env,
    )
    assert added.exit_code == 0, added.output
    short = runner.invoke(
        user_cli,
        ["add", "x", "--role", "admin", "--password-stdin"],
        obj=Context(config),
        input="short\n",
        env=env,
    )
    assert short.exit_code != 0
    no_enterprise = runner.invoke(
        user_cli,
        ["add", "s", "--role", "submitter", "--password-stdin"],
        obj=Context(config),
        input=PASSWORD + "\n",
        env=env,
    )
    assert no_enterprise.exit_code != 0
    made = runner.invoke(
        token_cli, ["create", "boss", "--scope", "read"], obj=Context(config), env=env
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[0]
    assert secret.startswith("qtr_")
    app, _ = make_app(settings)
    try:
        http = app.test_client()
        who = http.get("/api/v1/auth/whoami", headers={"Authorization": f"Bearer {secret}"})
        assert who.status_code == 200 and who.get_json()["role"] == "admin"
        assert login(http, "boss").status_code == 303
    finally:
        close_app(app)
    db = sqlite3.connect(settings.embedded_db_path)
    assert PASSWORD not in str(db.execute("SELECT * FROM accounts_users").fetchall())
    db.close()


def test_the_demo_admin_is_made_once_and_can_log_in(site) -> None:
    app, services = site
    name, password = accounts_of(services).ensure_demo_admin()
    assert password and len(password) >= 12
    assert accounts_of(services).ensure_demo_admin() == (name, None)  # never reset silently
    assert login(app.test_client(), name, password).status_code == 303


def test_a_planted_session_cookie_is_never_adopted(site) -> None:
    app, services = site
    add_user(services, "alice", "regulator")
    http = app.test_client()
    http.set_cookie("qtrace_session", "planted-by-an-attacker")
    assert http.get("/api/v1/auth/whoami").status_code == 401
    login(http, "alice")
    assert http.get_cookie("qtrace_session").value != "planted-by-an-attacker"
    db = accounts_of(services).store.db
    assert db.execute("SELECT count(*) FROM accounts_sessions").fetchone()[0] == 1
