"""Hardening: body limits before reading, headers, ID conflicts, file modes, encodings,
markup limits, the console's recall cap, backup and restore, and no orphan workers."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

import tests.epcis_fixtures as fx
from tests.test_security_support import (
    accounts_of,
    add_user,
    bearer,
    login,
    make_app,
    make_settings,
)
from traceability.accounts.cli import backup as backup_cli
from traceability.accounts.cli import restore as restore_cli
from traceability.app.context import Context
from traceability.app.web import close_app
from traceability.formats.ceb.parse import MAX_MARKUP, MessageError, parse_document
from traceability.formats.privacy import KEY_FILE_NAME, PersonalDataHasher
from traceability.ingest.ingestor import Ingestor
from traceability.store.sqlite import SQLiteGraphStore

LIMIT = 4096
LD = "application/ld+json"


@pytest.fixture
def site(tmp_path: Path):
    app, services = make_app(make_settings(tmp_path, max_body_bytes=LIMIT))
    add_user(services, "root", "admin")
    yield app, services, bearer(services, "root")
    close_app(app)


class Untouchable(io.RawIOBase):
    """A request body of ``size`` bytes that fails the test if anything reads it."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size, self.position = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        raise AssertionError("the body was read before the size check")


def test_every_body_taking_endpoint_refuses_large_bodies_before_reading(site) -> None:
    app, _, auth = site
    http = app.test_client()
    checked = []
    for rule in app.url_map.iter_rules():
        for method in ("POST", "PUT", "PATCH"):
            if method not in (rule.methods or ()):
                continue
            values = {
                n: 1 if "Integer" in type(c).__name__ else "x" for n, c in rule._converters.items()
            }
            path = app.url_map.bind("localhost").build(rule.endpoint, values, method=method)
            response = http.open(
                path,
                method=method,
                input_stream=Untouchable(LIMIT + 1),
                content_type="application/json",
                headers=auth,
            )
            assert response.status_code == 413, (path, response.get_data(as_text=True))
            checked.append(path)
    assert {"/api/v1/ceb", "/epcis/capture", "/epcis/events", "/api/v1/recall"} <= set(checked)


def test_security_headers(site) -> None:
    app, _, auth = site
    http = app.test_client()
    for path, headers in (("/login", {}), ("/api/v1/health", {}), ("/", auth)):
        response = http.get(path, headers=headers)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "'unsafe-inline'" not in csp.split("style-src-attr")[0]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP
    assert http.get("/", headers=auth).headers["Cache-Control"] == "no-store"
    tls = http.get("/api/v1/health", base_url="https://localhost")
    assert "max-age" in tls.headers["Strict-Transport-Security"]


def test_console_templates_have_no_inline_scripts() -> None:
    roots = [Path("traceability"), Path("sentiment"), Path("alerts")]
    for root in roots:
        for template in root.rglob("*.html"):
            text = template.read_text(encoding="utf-8")
            assert "<script>" not in text and "<style" not in text, template
            assert " onclick=" not in text and "javascript:" not in text, template


def test_same_event_id_with_different_content_is_a_conflict(site) -> None:
    app, _, auth = site
    http = app.test_client()
    context = fx.document()["@context"][0]
    first = {"@context": [context], **fx.events()[0], "eventID": "urn:uuid:3f1c-qtrace-1"}
    created = http.post("/epcis/events", data=orjson.dumps(first), content_type=LD, headers=auth)
    assert created.status_code == 201, created.get_data(as_text=True)
    other = {**first, "eventTime": "2026-01-01T09:00:00+08:00"}
    clash = http.post("/epcis/events", data=orjson.dumps(other), content_type=LD, headers=auth)
    assert clash.status_code == 409, clash.get_data(as_text=True)
    assert "eventID" in clash.get_json()["detail"]
    # the same ID twice in one document is a conflict too (the job reports it)
    doc = fx.document(
        [
            {**fx.events()[1], "eventID": "urn:uuid:dup"},
            {**fx.events()[2], "eventID": "urn:uuid:dup"},
        ]
    )
    job = http.post("/epcis/capture", data=orjson.dumps(doc), content_type=LD, headers=auth)
    assert job.status_code == 202
    services = app.extensions["qtrace"]
    services.feature("epcis").capture.wait()
    status = http.get(job.headers["Location"], headers=auth).get_json()
    assert status["success"] is False and "409" in json.dumps(status)


def test_archive_and_key_files_are_private_from_the_start(tmp_path: Path) -> None:
    old = os.umask(0)  # even a permissive umask must not expose them
    try:
        hasher = PersonalDataHasher.from_settings("", tmp_path / "var")
        key_mode = (tmp_path / "var" / KEY_FILE_NAME).stat().st_mode & 0o777
        store = SQLiteGraphStore(tmp_path / "g.db")
        ingestor = Ingestor(store, hasher, archive=tmp_path / "archive")
        ingestor._keep_original("CEB311", b"<x/>")
        (archived,) = (tmp_path / "archive" / "CEB311").iterdir()
        assert archived.stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "archive" / "CEB311").stat().st_mode & 0o777 == 0o700
        store.close()
    finally:
        os.umask(old)
    assert key_mode == 0o600
    app, _ = make_app(make_settings(tmp_path))
    close_app(app)
    assert (tmp_path / "var" / "audit.key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf<?xml version='1.0' encoding='GBK'?><a>\xe4\xb8\xad</a>",
        "<?xml version='1.0' encoding='UTF-8'?><a>中</a>".encode("utf-16"),
        "<?xml version='1.0' encoding='GBK'?><a>中</a>".encode("utf-16-le"),
        b"<?xml version='1.0' encoding='UTF-16'?><a>x</a>",
    ],
    ids=["utf8-bom-says-gbk", "utf16-says-utf8", "utf16le-says-gbk", "ascii-says-utf16"],
)
def test_encoding_declarations_contradicting_the_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(MessageError, match="编码矛盾"):
        parse_document(data)


def test_consistent_declarations_still_parse() -> None:
    assert parse_document(b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?><a/>")[1] == "UTF-8"
    utf16 = "<?xml version='1.0' encoding='UTF-16'?><a>中</a>".encode("utf-16")
    assert parse_document(utf16)[0].text == "中"
    gbk = "<?xml version='1.0' encoding='GBK'?><a>中</a>".encode("gbk")
    assert parse_document(gbk)[0].text == "中"


def test_element_count_is_limited_before_parsing() -> None:
    bomb = b"<a>" + b"<b/>" * (MAX_MARKUP + 1) + b"</a>"
    started = time.perf_counter()
    with pytest.raises(MessageError, match="元素过多"):
        parse_document(bomb)
    assert time.perf_counter() - started < 2.0


def test_console_recall_is_capped_like_the_api(site) -> None:
    app, _, auth = site
    query = "&".join(f"batch=0401234567890{n % 10}:L{n}" for n in range(201))
    page = app.test_client().get(f"/recall?{query}", headers=auth)
    assert page.status_code == 400 and "最多查询 200" in page.get_data(as_text=True)


def test_backup_and_restore_with_integrity_checks(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    app, services = make_app(settings)
    add_user(services, "root", "admin")
    close_app(app)
    config, env = str(tmp_path / "site.toml"), {"QTRACE_DATA_DIR": str(tmp_path / "var")}
    runner = CliRunner()
    target = tmp_path / "backups" / "qtrace.db"
    made = runner.invoke(backup_cli, [str(target)], obj=Context(config), env=env)
    assert made.exit_code == 0, made.output
    assert target.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT name FROM accounts_users").fetchall() == [("root",)]
    again = runner.invoke(backup_cli, [str(target)], obj=Context(config), env=env)
    assert again.exit_code != 0  # no silent overwrite
    # the live data changes; restore brings the backup back
    app, services = make_app(settings)
    add_user(services, "later", "auditor")
    close_app(app)
    refused = runner.invoke(restore_cli, [str(target)], obj=Context(config), env=env)
    assert refused.exit_code != 0  # needs --yes
    restored = runner.invoke(restore_cli, [str(target), "--yes"], obj=Context(config), env=env)
    assert restored.exit_code == 0, restored.output
    app, services = make_app(settings)
    try:
        assert [u.name for u in accounts_of(services).store.users()] == ["root"]
        assert accounts_of(services).store.verify_audit()[1] is None
        assert login(app.test_client(), "root").status_code == 303
    finally:
        close_app(app)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    bad = runner.invoke(restore_cli, [str(garbage), "--yes"], obj=Context(config), env=env)
    assert bad.exit_code != 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_checker_workers_die_with_a_killed_ingest_process(tmp_path: Path) -> None:
    """kill -9 the process that runs a capture: its checking workers must not live on."""
    script = tmp_path / "ingest.py"
    script.write_text(
        textwrap.dedent("""
        import sys, time
        from traceability.epcis.capture import PARALLEL_MIN_BYTES, Capture
        capture = Capture(None, None, workers=2)
        futures = capture._check_async(b"{" + b" " * PARALLEL_MIN_BYTES + b"}")
        for future in futures:
            try:
                future.result(timeout=60)
            except Exception:
                pass
        print(" ".join(str(p) for p in capture._checkers._processes), flush=True)
        time.sleep(120)
    """),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
        text=True,
    )
    try:
        line = process.stdout.readline()
        workers = [int(p) for p in line.split()]
        assert workers, "the ingest process started no workers"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        alive = workers
        while alive and time.monotonic() < deadline:
            alive = [pid for pid in alive if _alive(pid)]
            time.sleep(0.1)
        assert not alive, f"orphaned checker processes: {alive}"
    finally:
        if process.poll() is None:
            process.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
