"""``qtrace worker`` with real processes: the leader lease keeps jobs to one process."""

from __future__ import annotations

import itertools
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from alerts.scheduler import LEADER, risk_jobs
from config.settings import load_settings
from traceability.services import build_services

CONFIG = """\
[risk]
collect_seconds = 0.2
assess_seconds = 0.3
warn_seconds = 0.3
review_seconds = 0.5
lease_seconds = 3
misfire_grace_seconds = 5

[opinions]
crawl_every_seconds = 3600
"""


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    config = tmp_path / "qtrace.toml"
    config.write_text(CONFIG, encoding="utf-8")
    settings = load_settings(config, environ={"QTRACE_DATA_DIR": str(data)})
    services = build_services(settings)
    service = services.feature("risk")
    service.add_notice("N-1", "市场监管", "召回通报", ["Batch:09468744603986:LOT1"])
    db_path = settings.embedded_db_path
    services.close()
    return config, db_path


def _start(config: Path, data: Path, holder: str, seconds: float) -> subprocess.Popen[str]:
    code = "from traceability.app.cli import main; main()"
    args = ["--config", str(config), "worker", "--for", str(seconds), "--holder", holder]
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env={"QTRACE_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_leader(db_path: Path, holder: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db_path) as db:
                row = db.execute(
                    "SELECT holder FROM risk_leases WHERE name = ?", (LEADER,)
                ).fetchone()
            if row and row[0] == holder:
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{holder} never became leader")


def _finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    try:
        out, err = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0, err
    return json.loads(out)


def _runs(db_path: Path) -> list[tuple[str, str, str, str, str]]:
    with sqlite3.connect(db_path) as db:
        return db.execute(
            "SELECT mechanism, status, holder, started, finished FROM risk_runs ORDER BY id"
        ).fetchall()


def _assert_serial(runs: list[tuple[str, str, str, str, str]]) -> None:
    """No two runs overlap in time, whichever process ran them."""
    ordered = sorted(runs, key=lambda r: r[3])
    for before, after in itertools.pairwise(ordered):
        assert before[4] is not None and before[4] <= after[3], (before, after)


def test_two_workers_never_both_run_a_job(tmp_path: Path) -> None:
    config, db_path = _setup(tmp_path)
    data = tmp_path / "data"
    first = _start(config, data, "worker-A", 120)
    try:
        _wait_leader(db_path, "worker-A")
        second = _start(config, data, "worker-B", 3)
        b = _finish(second)
    finally:
        first.send_signal(signal.SIGTERM)  # a clean stop, while B has long finished
    a = _finish(first)
    assert a["ran"] > 4 and "skipped_not_leader" not in a, a
    assert b.get("ran", 0) == 0 and b["skipped_not_leader"] > 0, (a, b)
    assert "opinions.crawl" in a["jobs"] and "risk.collect" in a["jobs"]
    runs = _runs(db_path)
    assert {r[2] for r in runs} == {"worker-A"}
    assert {r[0] for r in runs} == {"collect", "assess", "warn", "review"}
    assert all(r[1] == "ok" for r in runs), runs
    _assert_serial(runs)
    # Repeated runs (and a second process) counted nothing twice.
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM risk_signals").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM risk_risks").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM risk_alerts").fetchone()[0] == 1


def test_the_other_worker_takes_over_and_a_restart_duplicates_nothing(tmp_path: Path) -> None:
    config, db_path = _setup(tmp_path)
    data = tmp_path / "data"
    first = _start(config, data, "worker-A", 1.5)
    _wait_leader(db_path, "worker-A")
    second = _start(config, data, "worker-B", 6)
    a = _finish(first)
    b = _finish(second)
    assert a["ran"] > 0 and b["ran"] > 0
    runs = _runs(db_path)
    _assert_serial(runs)
    last_a = max(r[4] for r in runs if r[2] == "worker-A")
    assert all(r[3] >= last_a for r in runs if r[2] == "worker-B")
    # A restarted worker (same data) adds no signal, risk or alert.
    again = _start(config, data, "worker-C", 1.5)
    assert _finish(again)["ran"] > 0
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM risk_signals").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM risk_risks").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM risk_alerts").fetchone()[0] == 1


def test_jobs_have_fixed_ids_and_intervals_from_settings(tmp_path: Path) -> None:
    config, _ = _setup(tmp_path)
    settings = load_settings(config, environ={"QTRACE_DATA_DIR": str(tmp_path / "data")})
    services = build_services(settings)
    jobs = {job.id: job.seconds for job in risk_jobs(services)}
    services.close()
    assert jobs == {
        "risk.collect": 0.2, "risk.assess": 0.3, "risk.warn": 0.3, "risk.review": 0.5,
    }  # fmt: skip
