"""`qtrace epcis capture` through the services' capture: idempotent, bad files fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from traceability.app.cli import main
from traceability.demo.generator.files import write_world


def test_capture_twice_then_a_bad_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("QTRACE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("QTRACE_GRAPH_URL", raising=False)
    write_world(40, 3, tmp_path / "world")
    document = str(next((tmp_path / "world" / "epcis").glob("*.jsonld")))
    runner = CliRunner()
    first = runner.invoke(main, ["epcis", "capture", document])
    assert first.exit_code == 0, first.output
    assert "新增 84" in first.output
    again = runner.invoke(main, ["epcis", "capture", document])
    assert again.exit_code == 0 and "新增 0，已存在 84" in again.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "EPCISDocument"}', encoding="utf-8")
    refused = runner.invoke(main, ["epcis", "capture", str(bad)])
    assert refused.exit_code == 1 and "eventList" in refused.output
