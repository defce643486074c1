"""Neo4j under faults: a server restart mid-ingest, wrong settings, interrupted copies.

The restart test stops and starts the test server with ``scripts/services.sh`` (only when
that script manages the server at QTRACE_TEST_NEO4J_URL).  The launcher keeps its data
in ``$RUN/neo4j/data`` across a stop/start, and shuts down cleanly on SIGTERM; the test
does not rely on that: whatever survived, a re-run of the whole ingest must leave exactly
the counts the embedded store has for the same files (nothing lost, nothing doubled).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from config import load_settings
from tests.conftest import neo4j_settings, open_test_neo4j, require_or_skip, wipe_neo4j
from traceability.analysis.trace import TraceService
from traceability.app.cli import main
from traceability.demo.generator.files import write_world
from traceability.epcis.capture import Capture
from traceability.epcis.ingest import EpcisDocumentHandler
from traceability.epcis.store import EventStore
from traceability.errors import ConfigurationError
from traceability.formats.privacy import PersonalDataHasher
from traceability.ingest.ingestor import Ingestor, collect_files
from traceability.services import build_services
from traceability.store.copy import checkpoint_path, copy_store
from traceability.store.neo4j import Neo4jAuthError, Neo4jGraphStore, Neo4jStoreError
from traceability.store.port import GraphStore, StoreError
from traceability.store.sqlite import SQLiteGraphStore

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
HASHER = PersonalDataHasher(b"neo4j-fault-test-key-0123456789ab")


def _ingestor(store: GraphStore, events: Path) -> Ingestor:
    """Like ``Services.ingestor()``: EPCIS documents go through capture into ``events``."""
    return Ingestor(
        store,
        HASHER,
        handlers=[EpcisDocumentHandler(Capture(EventStore(events), store, workers=1))],
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SQLiteGraphStore, dict]:
    """A generated world, and the embedded store it loads into (the expected answer)."""
    out = tmp_path_factory.mktemp("fault-world")
    manifest = write_world(600, 424242, out)
    work = tmp_path_factory.mktemp("fault-db")
    embedded = SQLiteGraphStore(work / "expected.db")
    embedded.ensure_schema()
    report = _ingestor(embedded, work / "events.db").ingest_paths(collect_files([out]))
    assert report.ok, report.rejections[:3]
    return out, embedded, manifest


def _cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, password: str | None = None) -> None:
    _, user, real_password = neo4j_settings()
    monkeypatch.setenv("QTRACE_GRAPH_USER", user)
    monkeypatch.setenv("QTRACE_GRAPH_PASSWORD", password or real_password)
    monkeypatch.setenv("QTRACE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("QTRACE_PRIVACY__HASH_KEY", "neo4j-fault-cli-key-0123456789")
    monkeypatch.delenv("QTRACE_GRAPH_URL", raising=False)
    monkeypatch.delenv("QTRACE_CONFIG", raising=False)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


# -- wrong settings ------------------------------------------------------------------------


def test_wrong_password_names_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url, user, _ = neo4j_settings()
    open_test_neo4j().close()  # reachable with the right password (else skip)
    with pytest.raises(Neo4jAuthError) as caught:
        Neo4jGraphStore(url, user, "not-the-password")
    message = str(caught.value)
    assert "QTRACE_GRAPH_PASSWORD" in message and "QTRACE_GRAPH_USER" in message
    assert message.startswith("Neo4j 拒绝了登录")  # zh-CN first
    assert isinstance(caught.value, StoreError)

    _cli(monkeypatch, tmp_path, password="not-the-password")
    monkeypatch.setenv("QTRACE_GRAPH_URL", url)
    with pytest.raises(ConfigurationError, match="QTRACE_GRAPH_PASSWORD"):
        build_services(load_settings())
    code, out = run("graph", "stats")
    # A configuration error: exit code 11 (README, "Errors and exit codes").
    assert code == 11 and "QTRACE_GRAPH_PASSWORD" in out and "Traceback" not in out


def test_unreachable_server_names_the_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _cli(monkeypatch, tmp_path)
    monkeypatch.setenv("QTRACE_GRAPH_URL", "bolt://127.0.0.1:1")
    started = time.monotonic()
    code, out = run("graph", "stats")
    # The store is unavailable: exit code 10, and the message names the setting.
    assert code == 10 and "QTRACE_GRAPH_URL" in out and "无法连接" in out
    assert time.monotonic() - started < 10  # reported at once, not after the retry window


# -- restart in the middle of an ingest ----------------------------------------------------


def _services(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "services.sh"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _require_managed_server() -> None:
    """Skip unless scripts/services.sh runs the server the tests talk to."""
    url, _, _ = neo4j_settings()
    env = _services("env")
    managed = f"QTRACE_TEST_NEO4J_URL={url}" in env.stdout
    require_or_skip(
        managed and _services("status", "neo4j").returncode == 0,
        f"scripts/services.sh 未管理 {url} 上的 Neo4j，无法停止/重启它 (server not managed here)",
    )


def test_ingest_survives_a_restart(
    world: tuple[Path, SQLiteGraphStore, dict], tmp_path: Path
) -> None:
    _require_managed_server()
    out, embedded, _ = world
    files = collect_files([out])
    assert len(files) > 20
    # Retry long enough to ride out a stop + start (about 15-30 s on a developer machine).
    neo = open_test_neo4j(max_transaction_retry_time=180.0)
    wipe_neo4j(neo)
    neo.ensure_schema()
    events = tmp_path / "events.db"

    reached, finished = threading.Event(), threading.Event()
    done_files: list[Path] = []
    outcome: dict[str, object] = {}

    def on_file(path: Path) -> None:
        done_files.append(path)
        if len(done_files) == 3:
            reached.set()
        if reached.is_set():
            time.sleep(0.3)  # keep writing while the server goes down and comes back

    def ingest() -> None:
        try:
            outcome["report"] = _ingestor(neo, events).ingest_paths(files, on_file=on_file)
        except StoreError as exc:  # failing cleanly is allowed; a re-run must then fix it
            outcome["error"] = exc
        finally:
            finished.set()

    worker = threading.Thread(target=ingest, daemon=True)
    worker.start()
    try:
        assert reached.wait(120), "ingest did not start"
        stopped = _services("stop", "neo4j")
        assert stopped.returncode == 0, stopped.stderr
        assert not finished.is_set(), "the ingest ended before the server went down"
        at_stop = len(done_files)
        time.sleep(2)  # the writer now meets a dead server and retries
    finally:
        started = _services("start", "neo4j")
    assert started.returncode == 0, started.stderr
    assert finished.wait(300), "the ingest neither resumed nor failed"
    assert at_stop < len(files)
    print(f"restart during ingest: {'failed cleanly' if 'error' in outcome else 'resumed'}")
    if "error" in outcome:
        error = outcome["error"]
        assert isinstance(error, Neo4jStoreError) and "未写入" in str(error), error
    else:
        report = outcome["report"]
        assert report.ok and len(done_files) == len(files)  # type: ignore[union-attr]

    # Whatever happened, loading everything again gives exactly the expected graph.
    assert _ingestor(neo, events).ingest_paths(files).ok
    expected = embedded.counts()
    assert neo.counts() == expected
    assert _ingestor(neo, events).ingest_paths(files).ok  # and once more: nothing doubles
    assert neo.counts() == expected
    neo.close()


# -- qtrace graph copy ---------------------------------------------------------------------


def test_copy_round_trip_preserves_counts_and_traces(
    world: tuple[Path, SQLiteGraphStore, dict], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, embedded, manifest = world
    url, _, _ = neo4j_settings()
    neo = open_test_neo4j()
    wipe_neo4j(neo)
    neo.ensure_schema()
    _cli(monkeypatch, tmp_path)
    source = f"sqlite:///{embedded.path}"
    back = tmp_path / "back.db"
    code, out = run("graph", "copy", "--from", source, "--to", url, "--batch-size", "900")
    assert code == 0 and "核对一致" in out, out
    code, out = run("graph", "copy", "--from", url, "--to", f"sqlite:///{back}")
    assert code == 0 and "核对一致" in out, out

    copied = SQLiteGraphStore(back)
    expected = embedded.counts()
    assert neo.counts() == expected and copied.counts() == expected
    story = manifest["stories"]["defective_lot"]
    order = story["sample_orders"][0]
    want = TraceService(embedded).trace("order", order, "both")
    assert TraceService(neo).trace("order", order, "both") == want
    assert TraceService(copied).trace("order", order, "both") == want
    assert TraceService(copied).recall([story["batch"]]) == TraceService(embedded).recall(
        [story["batch"]]
    )
    copied.close()
    neo.close()


class _Interrupt(Exception):
    pass


@pytest.mark.parametrize("direction", ["to-neo4j", "from-neo4j"])
def test_copy_resumes_after_an_interruption(
    world: tuple[Path, SQLiteGraphStore, dict],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    direction: str,
) -> None:
    _, embedded, _ = world
    url, _, _ = neo4j_settings()
    neo = open_test_neo4j()
    wipe_neo4j(neo)
    neo.ensure_schema()
    _cli(monkeypatch, tmp_path)
    target_file = tmp_path / "target.db"
    if direction == "to-neo4j":
        source, target = embedded, neo
        source_url, target_url = f"sqlite:///{embedded.path}", url
    else:
        code, out = run("graph", "copy", "--from", f"sqlite:///{embedded.path}", "--to", url)
        assert code == 0, out
        target = SQLiteGraphStore(target_file)
        target.ensure_schema()
        source, source_url, target_url = neo, url, f"sqlite:///{target_file}"
    checkpoint = checkpoint_path(source_url, target_url, tmp_path / "var")
    pages = 0

    def stop_midway(name: str, records: int) -> None:
        nonlocal pages
        pages += 1
        if name == "Order" and pages > 6:  # inside a label, past a few whole labels
            raise _Interrupt

    with pytest.raises(_Interrupt):
        copy_store(
            source, target, source_url=source_url, target_url=target_url,
            checkpoint=checkpoint, batch_size=113, on_page=stop_midway,
        )  # fmt: skip
    state = json.loads(checkpoint.read_text(encoding="utf-8"))
    assert state["current"] == "Order" and state["copied"] > 0 and "Enterprise" in state["finished"]
    partial = target.counts()
    total = sum(embedded.counts().values())
    assert 0 < partial["Order"] < embedded.counts()["Order"]

    # The re-run (through the CLI, with another page size) continues from the checkpoint.
    code, out = run(
        "graph", "copy", "--from", source_url, "--to", target_url, "--batch-size", "250"
    )
    assert code == 0 and "核对一致" in out and "续传" in out, out
    copied_now = int(out.split("已复制 copied ")[1].split()[0])
    assert copied_now < total  # it did not start over
    assert target.counts() == embedded.counts()
    assert not checkpoint.exists()
    target.close()
    if direction == "from-neo4j":
        neo.close()


def test_copy_reports_count_mismatches(
    world: tuple[Path, SQLiteGraphStore, dict], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, embedded, _ = world
    _cli(monkeypatch, tmp_path)
    url, _, _ = neo4j_settings()
    neo = open_test_neo4j()
    wipe_neo4j(neo)
    neo.ensure_schema()
    from traceability.store.port import Node

    neo.upsert([Node("Order", "EXTRA:1", {"orderNo": "1"})], [])  # the target was not empty
    code, out = run("graph", "copy", "--from", f"sqlite:///{embedded.path}", "--to", url)
    assert code == 1 and "数量不一致" in out and "Order" in out, out
    neo.close()
