"""scripts/services.sh itself: a start must not mistake "not exec'd yet" for "exited" (#16).

Right after ``setsid … &`` the recorded pid is still a fork of the script, without the service's
command line; the old readiness wait took that for an exit and failed a cold or loaded start.

* The fast tests run a fake Neo4j / Elasticsearch (no JVM) through the script's own launch and
  wait code, with the fork-to-exec window stretched to seconds by a ``setsid`` shell function
  that sleeps before it execs the real one. The old script fails them at once.
* The slow test (only with ``QTRACE_TEST_SERVICES_SCRIPT=1``; ``.ci/run`` runs this file as a step
  of its own) starts the real Neo4j and Elasticsearch from an empty run dir several times in a
  row under CPU load, on its own ports and run dir: it never touches the servers on 7687/9200
  that the rest of the suite uses. Without the variable it is not even defined, so a normal
  ``make test`` neither runs nor skips it.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# QTRACE_TEST_SERVICES_SH points the tests at another copy of the script (e.g. an old one).
SCRIPT = Path(os.environ.get("QTRACE_TEST_SERVICES_SH", ROOT / "scripts" / "services.sh"))
SLOW = os.environ.get("QTRACE_TEST_SERVICES_SCRIPT") == "1"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("setsid") is None,
    reason="scripts/services.sh needs Linux (/proc) and setsid",
)


def _pom_version(service: str, prop: str) -> str:
    text = (ROOT / "scripts" / "services" / service / "pom.xml").read_text()
    return text.split(f"<{prop}>", 1)[1].split(f"</{prop}>", 1)[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env(**settings: str) -> dict[str, str]:
    """The caller's environment without any QTRACE_SERVICES_* setting, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QTRACE_SERVICES_")}
    env.update(settings)
    return env


def _services(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def _executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


# -- fake services through the real launch/wait code ---------------------------------------

FAKE_NEO4J = """
    import os, signal, socket, sys
    if os.environ.get("FAKE_EXIT"):
        print("fake neo4j: giving up", file=sys.stderr, flush=True)
        sys.exit(int(os.environ["FAKE_EXIT"]))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = int(os.environ["QTRACE_SERVICES_NEO4J_PORT"])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    print(f"QTRACE-NEO4J-READY bolt://127.0.0.1:{port}", flush=True)
    while True:
        server.accept()[0].close()
"""

FAKE_ES = """
    import http.server, os, re, signal, sys
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    conf = open(os.path.join(os.environ["ES_PATH_CONF"], "elasticsearch.yml")).read()
    port = int(re.search(r"^http\\.port: *(\\d+)", conf, re.M).group(1))
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"cluster_name":"fake","status":"yellow"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""

# Sources the script (which then only defines its functions) and starts one service with a
# `setsid` that sleeps before it execs: the pid the script records stays a fork of the script,
# without the service's command line, for $QTRACE_TEST_EXEC_DELAY seconds.
DRIVER = """
    set -euo pipefail
    source "$1" env >/dev/null
    real_setsid="$(command -v setsid)"
    setsid() { sleep "$QTRACE_TEST_EXEC_DELAY"; exec "$real_setsid" "$@"; }
    cmd_start "$2"
"""


@pytest.fixture
def fake_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for services.sh with a fetched-looking cache whose 'servers' are fakes."""
    cache, jdk = tmp_path / "cache", tmp_path / "jdk"
    python3 = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or sys.executable
    neo4j_dist = cache / f"neo4j-harness-{_pom_version('neo4j', 'neo4j.version')}"
    (neo4j_dist / "lib").mkdir(parents=True)
    (neo4j_dist / ".complete").touch()
    (jdk / "fake_neo4j.py").parent.mkdir(parents=True)
    (jdk / "fake_neo4j.py").write_text(textwrap.dedent(FAKE_NEO4J))
    # "$@" keeps Launcher.java in the command line, as the real JVM's has it.
    _executable(jdk / "bin" / "java", f'#!/bin/sh\nexec {python3} {jdk}/fake_neo4j.py "$@"\n')
    es_dist = cache / f"elasticsearch-{_pom_version('es', 'es.version')}"
    (es_dist / "config").mkdir(parents=True)
    (es_dist / "config" / "log4j2.properties").touch()
    (es_dist / "bin" / "fake_es.py").parent.mkdir(parents=True)
    (es_dist / "bin" / "fake_es.py").write_text(textwrap.dedent(FAKE_ES))
    _executable(
        es_dist / "bin" / "elasticsearch",
        f'#!/bin/sh\nexec {python3} "$(dirname "$0")/fake_es.py" "$@"\n',
    )
    (es_dist / ".complete").touch()
    # check_neo4j.py would need the real Bolt protocol: "driver missing" (3) = port check only.
    _executable(
        tmp_path / "python",
        f'#!/bin/sh\ncase "$1" in *check_neo4j.py) exit 3 ;; esac\nexec {python3} "$@"\n',
    )
    # As root the fake ES runs as the ES user, from a mirror it must be able to read.
    system_dir = Path(tempfile.mkdtemp(prefix="qtrace-es-test-"))
    system_dir.chmod(0o755)
    env = _clean_env(
        QTRACE_SERVICES_CACHE=str(cache),
        QTRACE_SERVICES_RUN=str(tmp_path / "run"),
        QTRACE_SERVICES_NEO4J_PORT=str(_free_port()),
        QTRACE_SERVICES_ES_PORT=str(_free_port()),
        QTRACE_SERVICES_ES_ROOT_ENDPOINT="0",
        QTRACE_SERVICES_ES_SYSTEM_DIR=str(system_dir),
        QTRACE_SERVICES_PYTHON=str(tmp_path / "python"),
        QTRACE_SERVICES_TIMEOUT="30",
        QTRACE_SERVICES_STOP_TIMEOUT="10",
        JAVA_HOME=str(jdk),
        QTRACE_TEST_EXEC_DELAY="3",
    )
    (tmp_path / "driver.sh").write_text(textwrap.dedent(DRIVER))
    try:
        yield env
    finally:
        _services(env, "stop", "all", timeout=60)
        shutil.rmtree(system_dir, ignore_errors=True)


def _drive(env: dict[str, str], service: str) -> subprocess.CompletedProcess[str]:
    driver = Path(env["QTRACE_SERVICES_RUN"]).parent / "driver.sh"
    return subprocess.run(
        ["bash", str(driver), str(SCRIPT), service],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("service", ["neo4j", "es"])
def test_start_waits_for_a_late_exec(fake_env: dict[str, str], service: str) -> None:
    started = time.monotonic()
    result = _drive(fake_env, service)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= float(fake_env["QTRACE_TEST_EXEC_DELAY"])
    name = {"neo4j": "neo4j", "es": "elasticsearch"}[service]
    assert f"{name} ready" in result.stderr
    assert "export QTRACE_TEST_NEO4J_URL=" in result.stdout
    assert _services(fake_env, "status", service).returncode == 0
    stopped = _services(fake_env, "stop", service)
    assert stopped.returncode == 0 and f"{service} stopped" in stopped.stderr, stopped.stderr
    assert _services(fake_env, "status", service).returncode != 0
    # A stop is a normal end: the wrapper records it as well.
    run = Path(fake_env["QTRACE_SERVICES_RUN"])
    assert (run / f"{service}.exit").read_text().strip() in ("0", "143")


def test_a_real_exit_is_reported_with_status_and_output(fake_env: dict[str, str]) -> None:
    env = {**fake_env, "FAKE_EXIT": "3"}
    started = time.monotonic()
    result = _drive(env, "neo4j")
    assert result.returncode != 0
    assert "neo4j exited during startup (exit status 3)" in result.stderr, result.stderr
    assert "fake neo4j: giving up" in result.stderr  # the process's own stderr, from its log
    assert time.monotonic() - started < 20  # noticed at once, not at the 30 s deadline
    assert _services(env, "status", "neo4j").returncode != 0


# -- the real servers, cold and under CPU load ----------------------------------------------

LOAD_NEO4J_PORT, LOAD_ES_PORT = 17687, 19200


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _start_timed(env: dict[str, str]) -> tuple[int, str, str, dict[str, float]]:
    """Run `start all`; return code, stdout, stderr and when each '<svc> ready' line came."""
    started = time.monotonic()
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), "start", "all"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    stdout, out = proc.stdout, []
    reader = threading.Thread(target=lambda: out.append(stdout.read()), daemon=True)
    reader.start()
    err: list[str] = []
    ready: dict[str, float] = {}
    for line in proc.stderr:
        err.append(line)
        for name in ("neo4j", "elasticsearch"):
            if line.startswith(f"services: {name} ready"):
                ready[name] = round(time.monotonic() - started, 1)
    code = proc.wait(timeout=600)
    reader.join(10)
    ready["total"] = round(time.monotonic() - started, 1)
    return code, "".join(out), "".join(err), ready


if SLOW:

    @pytest.mark.integration
    def test_cold_starts_under_cpu_load(tmp_path: Path) -> None:
        rounds = int(os.environ.get("QTRACE_TEST_SERVICES_ROUNDS", "3"))
        busy = (os.cpu_count() or 2) + 1
        for port in (LOAD_NEO4J_PORT, LOAD_ES_PORT):
            assert _port_free(port), f"port {port} is taken: this test needs it for itself"
        base = _clean_env(
            QTRACE_SERVICES_NEO4J_PORT=str(LOAD_NEO4J_PORT),
            QTRACE_SERVICES_ES_PORT=str(LOAD_ES_PORT),
            QTRACE_SERVICES_NEO4J_HTTP_PORT="",
            QTRACE_SERVICES_RUN=str(tmp_path / "fetch"),
        )
        # The download cache is shared (default ~/.cache/qtrace-services): fetch it untimed.
        for name in ("QTRACE_SERVICES_CACHE", "QTRACE_SERVICES_MVN_ARGS", "JAVA_HOME"):
            if os.environ.get(name):
                base[name] = os.environ[name]
        fetched = _services(base, "fetch", "all", timeout=1500)
        assert fetched.returncode == 0, fetched.stderr
        timings = []
        for round_no in range(1, rounds + 1):
            env = {**base, "QTRACE_SERVICES_RUN": str(tmp_path / f"run{round_no}")}  # empty
            load = [subprocess.Popen(["bash", "-c", "while :; do :; done"]) for _ in range(busy)]
            try:
                code, out, err, ready = _start_timed(env)
            finally:
                for proc in load:
                    proc.kill()
                    proc.wait()
            try:
                assert code == 0, f"round {round_no}: start failed under load\n{err}"
                assert f"QTRACE_TEST_NEO4J_URL=bolt://127.0.0.1:{LOAD_NEO4J_PORT}" in out
                assert f"QTRACE_TEST_ES_URL=http://127.0.0.1:{LOAD_ES_PORT}" in out
                status = _services(env, "status", "all")
                assert status.returncode == 0, status.stdout + status.stderr
            finally:
                reset = _services(env, "reset", "all", timeout=180)  # stop, delete the data
            assert reset.returncode == 0, reset.stderr
            timings.append(ready)
            print(f"round {round_no} ({busy} busy loops): {ready}")
        assert len(timings) == rounds
