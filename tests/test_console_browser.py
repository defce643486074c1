"""The console in a real headless Chromium against a real server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from waitress.server import create_server

from config import load_settings
from tests.conftest import require_or_skip
from tests.world_builder import build_small_world
from traceability.app.web import create_app

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(url: str, profile: Path) -> str:
    """Load ``url`` in headless Chromium and return the DOM after rendering."""
    result = subprocess.run(
        [
            CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-quic", f"--user-data-dir={profile}", "--dump-dom", url,
        ],
        capture_output=True, text=True, timeout=90, check=True,
    )  # fmt: skip
    return result.stdout


@pytest.fixture
def server(tmp_path: Path, hasher):
    require_or_skip(CHROMIUM is not None, "chromium is not installed (apt-get install chromium)")
    app = create_app(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)}))
    world = build_small_world(hasher)
    for batch in world.batches:
        app.extensions["qtrace"].store.upsert(batch.nodes, batch.edges)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    httpd = create_server(app, host="127.0.0.1", port=port, threads=2)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", world
    httpd.close()


def test_trace_page_renders_chain_and_responsibility(server, tmp_path: Path) -> None:
    base, world = server
    dom = dump_dom(f"{base}/?kind=order&key={world.orders['O1']}&direction=back", tmp_path / "p")
    assert '<svg id="chain"' in dom
    assert dom.count("<rect") >= 10
    table = dom[dom.index('id="responsibility"') :]
    assert table.count("<tr>") >= 8 and "生产企业" in table and "物流企业" in table
    assert "1101**********002X" in dom and "11010519491231002X" not in dom


def test_recall_page_lists_affected_orders(server, tmp_path: Path) -> None:
    base, world = server
    dom = dump_dom(f"{base}/recall?batch={world.lots['I1']}", tmp_path / "p")
    assert "订单 2 笔" in dom
    assert world.orders["O1"] in dom and world.orders["O2"] in dom


def test_opinions_page_is_a_console_page(server, tmp_path: Path) -> None:
    base, _world = server
    dom = dump_dom(f"{base}/opinions", tmp_path / "p")
    assert dom.count("<header") == 1 and "跨境电商质量安全追溯与风险预警" in dom
    assert '<a href="/opinions" aria-current="page">网络舆情</a>' in dom
    assert '<a href="/recall">召回范围</a>' in dom and "<footer>" in dom
    assert 'name="q"' in dom and "检索结果（共 0 条）" in dom
