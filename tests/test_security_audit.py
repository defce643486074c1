"""The tamper-evident audit log: an HMAC chain; ``qtrace audit verify`` names the first break."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_security_support import (
    accounts_of,
    add_user,
    bearer,
    login,
    make_app,
    make_settings,
)
from traceability.accounts.cli import AuditBroken
from traceability.accounts.cli import audit as audit_cli
from traceability.app.context import Context
from traceability.app.web import close_app


@pytest.fixture
def site(tmp_path: Path):
    settings = make_settings(tmp_path)
    app, services = make_app(settings)
    store = accounts_of(services).store
    for n in range(6):
        store.audit("tester", "test.event", f"target-{n}", {"n": n})
    yield app, services, settings, tmp_path
    close_app(app)


def _verify(tmp_path: Path):
    return CliRunner().invoke(
        audit_cli,
        ["verify"],
        obj=Context(str(tmp_path / "site.toml")),
        env={"QTRACE_DATA_DIR": str(tmp_path / "var")},
    )


def _raw(settings) -> sqlite3.Connection:
    return sqlite3.connect(settings.embedded_db_path, isolation_level=None)


def test_logins_tokens_and_writes_are_audited_and_the_chain_verifies(site) -> None:
    app, services, _, tmp_path = site
    add_user(services, "reg", "regulator")
    http = app.test_client()
    login(http, "reg")
    login(app.test_client(), "reg", "wrong password!")
    http.post("/api/v1/recall", json={"batches": []}, headers=bearer(services, "reg"))
    actions = [e["action"] for e in accounts_of(services).store.audit_entries(50)]
    for expected in ("user.add", "login", "login.failed", "token.create", "http.POST"):
        assert expected in actions
    result = _verify(tmp_path)
    assert result.exit_code == 0, result.output
    assert "哈希链一致" in result.output


def test_an_edited_entry_is_named(site) -> None:
    _, _, settings, tmp_path = site
    with _raw(settings) as db:
        db.execute("UPDATE accounts_audit SET target = 'someone-else' WHERE seq = 3")
    result = _verify(tmp_path)
    assert isinstance(result.exception, AuditBroken)
    assert "第 3 条" in str(result.exception)


def test_a_deleted_entry_is_named(site) -> None:
    _, _, settings, tmp_path = site
    with _raw(settings) as db:
        db.execute("DELETE FROM accounts_audit WHERE seq = 4")
    result = _verify(tmp_path)
    assert isinstance(result.exception, AuditBroken)
    assert "第 4 条" in str(result.exception) and "删除" in str(result.exception)


def test_a_deleted_and_renumbered_entry_is_named(site) -> None:
    _, _, settings, tmp_path = site
    with _raw(settings) as db:
        db.execute("DELETE FROM accounts_audit WHERE seq = 2")
        db.execute("UPDATE accounts_audit SET seq = seq - 1 WHERE seq > 2")
    result = _verify(tmp_path)
    assert isinstance(result.exception, AuditBroken)
    assert "第 2 条" in str(result.exception)


def test_reordered_entries_are_named(site) -> None:
    _, _, settings, tmp_path = site
    with _raw(settings) as db:
        rows = {
            r[0]: r[1:]
            for r in db.execute(
                "SELECT seq, time, actor, action, target, detail, prev, hash FROM accounts_audit"
                " WHERE seq IN (3, 5)"
            )
        }
        for seq, other in ((3, 5), (5, 3)):
            db.execute(
                "UPDATE accounts_audit SET time=?, actor=?, action=?, target=?, detail=?, prev=?,"
                " hash=? WHERE seq = ?",
                (*rows[other], seq),
            )
    result = _verify(tmp_path)
    assert isinstance(result.exception, AuditBroken)
    assert "第 3 条" in str(result.exception)


def test_a_recomputed_chain_without_the_key_does_not_verify(site) -> None:
    """Someone who can write the database but not read audit.key cannot forge entries."""
    import hashlib
    import json

    _, _, settings, tmp_path = site
    with _raw(settings) as db:
        prev = db.execute("SELECT hash FROM accounts_audit WHERE seq = 1").fetchone()[0]
        for seq, time, actor, action, target, detail in db.execute(
            "SELECT seq, time, actor, action, target, detail FROM accounts_audit WHERE seq > 1"
            " ORDER BY seq"
        ).fetchall():
            target = "forged" if seq == 2 else target
            message = json.dumps(
                [prev, seq, time, actor, action, target, detail],
                ensure_ascii=False,
                separators=(",", ":"),
            )
            digest = hashlib.sha256(message.encode()).hexdigest()
            db.execute(
                "UPDATE accounts_audit SET target=?, prev=?, hash=? WHERE seq=?",
                (target, prev, digest, seq),
            )
            prev = digest
    result = _verify(tmp_path)
    assert isinstance(result.exception, AuditBroken) and "第 2 条" in str(result.exception)


def test_auditors_read_the_log_and_its_chain_state(site) -> None:
    app, services, _, _ = site
    add_user(services, "aud", "auditor")
    add_user(services, "unit1", "unit")
    http = app.test_client()
    body = http.get("/api/v1/audit?limit=3", headers=bearer(services, "aud")).get_json()
    assert len(body["entries"]) == 3 and body["chain"]["ok"] is True
    assert http.get("/api/v1/audit", headers=bearer(services, "unit1")).status_code == 403
