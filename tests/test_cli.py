"""The qtrace command line, end to end on the embedded store, including bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from traceability.app.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QTRACE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("QTRACE_PRIVACY__HASH_KEY", "cli-test-key-0123456789")
    monkeypatch.delenv("QTRACE_GRAPH_URL", raising=False)
    monkeypatch.delenv("QTRACE_CONFIG", raising=False)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture
def loaded(env: Path) -> dict:
    world = env / "world"
    code, out = run("generate", "--orders", "120", "--seed", "5", "--out", str(world))
    assert code == 0, out
    code, out = run("ingest", str(world))
    assert code == 0, out
    return json.loads((world / "manifest.json").read_text(encoding="utf-8"))


def test_generate_ingest_trace_recall(loaded: dict) -> None:
    story = loaded["stories"]["defective_lot"]
    code, out = run("trace", "order", story["sample_orders"][0], "--direction", "back", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert {"nodes", "edges", "responsibility", "summary"} <= set(result)
    assert story["batch"] in {n["key"] for n in result["nodes"]}
    code, out = run("recall", story["batch"], "--json")
    assert code == 0, out
    assert json.loads(out)["summary"]["orders"] == story["recall_orders"]


def test_human_output_is_chinese_tables(loaded: dict) -> None:
    story = loaded["stories"]["defective_lot"]
    code, out = run("trace", "batch", story["batch"], "--direction", "forward")
    assert code == 0 and "责任链" in out and "追溯链" in out
    code, out = run("recall", story["batch"])
    assert code == 0 and f"订单 {story['recall_orders']} 笔" in out


def test_reingest_is_idempotent(loaded: dict, env: Path) -> None:
    code, before = run("graph", "stats")
    assert code == 0
    archived = sorted((env / "var" / "archive").rglob("*.*"))
    sources = [p for p in (env / "world").rglob("*.*") if p.name != "manifest.json"]
    assert len(archived) == len(sources)  # every accepted message kept as received
    code, out = run("ingest", str(env / "world"))
    assert code == 0, out
    assert run("graph", "stats")[1] == before
    assert sorted((env / "var" / "archive").rglob("*.*")) == archived


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trace", "parcel", "x"], "parcel"),
        (["trace", "order", "missing-colon"], "EBPCODE:ORDERNO"),
        (["trace", "order", "X:Y"], "未找到"),
        (["trace", "product", "123"], "GTIN"),
        (["recall", "04000002000028:NOPE"], "未找到批次"),
        (["trace", "order", "A:B", "--direction", "up"], "direction"),
    ],
)
def test_bad_input_fails_with_a_clear_message(env: Path, args: list[str], message: str) -> None:
    code, out = run(*args)
    assert code != 0
    assert message in out


def test_ingest_rejects_bad_files_and_names_them(env: Path) -> None:
    bad = env / "bad"
    bad.mkdir()
    (bad / "broken.xml").write_text("<ceb:CEB311Message", encoding="utf-8")
    (bad / "xxe.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        "<CEB311Message><Order><OrderHead><orderNo>&e;</orderNo></OrderHead></Order>"
        "</CEB311Message>",
        encoding="utf-8",
    )
    (bad / "missing.xml").write_text(
        '<CEB311Message xmlns="http://www.chinaport.gov.cn/ceb"><Order><OrderHead>'
        "<orderNo>1</orderNo></OrderHead></Order></CEB311Message>",
        encoding="utf-8",
    )
    code, out = run("ingest", str(bad))
    assert code == 1
    assert "broken.xml" in out and "xxe.xml" in out and "DTD" in out
    assert "missing.xml 第 1 条记录" in out and "缺少必填字段" in out
    stats = json.loads(run("graph", "stats")[1])
    assert stats["Order"] == 0  # nothing half-written


def test_settings_file_is_honoured(env: Path, tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text("[trace]\nmax_depth = 0\n", encoding="utf-8")
    code, out = run("--config", str(config), "graph", "stats")
    assert code != 0 and "max_depth" in out
