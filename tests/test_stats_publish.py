"""``qtrace stats``: compute, show, publish (versioned releases), index check; CSV read back."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_stats_world import make_services, phase_one, phase_two
from traceability.app.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QTRACE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("QTRACE_PRIVACY__HASH_KEY", "stats-test-key-0123456789")
    monkeypatch.delenv("QTRACE_GRAPH_URL", raising=False)
    monkeypatch.delenv("QTRACE_CONFIG", raising=False)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def load(tmp_path: Path, *phases) -> None:
    services = make_services(tmp_path)
    try:
        for phase in phases:
            phase(services)
    finally:
        services.close()


def test_fresh_data_dir(env: Path) -> None:
    code, out = run("stats", "compute", "--json")
    assert code == 0, out
    assert json.loads(out)["months"] == []
    code, out = run("stats", "show", "--month", "2026-05")
    assert code == 4 and "尚无统计" in out
    code, out = run("stats", "show", "--month", "2026-13")
    assert code == 3


def test_publish_versions_and_csv(env: Path) -> None:
    out_dir = env / "releases"
    load(env, phase_one)
    code, out = run("stats", "publish", "--month", "2026-05", "--out", str(out_dir), "--json")
    assert code == 0, out
    first = json.loads(out)
    assert (first["version"], first["replaces"], first["created"]) == (1, None, True)

    load(env, phase_two)
    code, out = run("stats", "compute", "--json")
    assert code == 0, out
    assert set(json.loads(out)["revised"]) == {"2026-04", "2026-05"}
    code, out = run("stats", "publish", "--month", "2026-05", "--out", str(out_dir), "--json")
    second = json.loads(out)
    assert (second["version"], second["replaces"], second["created"]) == (2, 1, True)
    code, out = run("stats", "publish", "--month", "2026-05", "--out", str(out_dir), "--json")
    assert json.loads(out)["created"] is False and json.loads(out)["version"] == 2

    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [
        f"stats-2026-05-v{v}{suffix}"
        for v in (1, 2)
        for suffix in ("-index.csv", ".csv", ".html", ".json", ".xlsx")
    ]
    v1 = json.loads((out_dir / "stats-2026-05-v1.json").read_text(encoding="utf-8"))
    v2 = json.loads((out_dir / "stats-2026-05-v2.json").read_text(encoding="utf-8"))
    assert v1["totals"]["inventories"] == 6 and v2["totals"]["inventories"] == 3
    assert v2["replaces"] == 1 and v2["revision"] == 1

    with (out_dir / "stats-2026-05-v2.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    total = next(r for r in rows if r["dimension"] == "total")
    assert (total["inventories"], total["goods_value"], total["returned_value"]) == (
        "3",
        "500.00",
        "220.00",
    )
    assert total["findings"] == "ORDER_ARITHMETIC=1"
    formula = next(
        r for r in rows if r["dimension"] == "category" and r["value"] == "INFANT_FORMULA"
    )
    assert (formula["label"], formula["released_value"]) == ("婴幼儿配方食品", "500.00")
    with (out_dir / "stats-2026-05-v2-index.csv").open(encoding="utf-8-sig") as handle:
        index_rows = {r["sub_index"]: r for r in csv.DictReader(handle)}
    assert float(index_rows["composite"]["value"]) == v2["index"]["composite"]
    assert index_rows["credit"]["status"] == "pending"

    page = (out_dir / "stats-2026-05-v2.html").read_text(encoding="utf-8")
    assert "<svg" in page and "本版替代第 1 版" in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")


def test_index_command_checks_a_published_value(env: Path) -> None:
    out_dir = env / "releases"
    load(env, phase_one, phase_two)
    code, out = run("stats", "publish", "--month", "2026-05", "--out", str(out_dir))
    assert code == 0, out
    release = str(out_dir / "stats-2026-05-v1.json")
    code, out = run("stats", "index", "--month", "2026-05", "--check", release, "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["check"]["matches"] is True
    assert result["check"]["recomputed"] == result["check"]["published"]
    code, out = run(
        "stats", "index", "--month", "2026-05", "--check", release, "--weight", "scale=3", "--json"
    )
    assert code == 0, out
    check = json.loads(out)["check"]
    assert check["matches"] is True and check["recomputed"] != check["published"]
    # A tampered published value is caught.
    data = json.loads(Path(release).read_text(encoding="utf-8"))
    data["index"]["sub_indices"]["scale"]["value"] += 1
    tampered = env / "tampered.json"
    tampered.write_text(json.dumps(data), encoding="utf-8")
    code, out = run("stats", "index", "--month", "2026-05", "--check", str(tampered))
    assert code == 12, out


def test_show_by_dimension_and_period(env: Path) -> None:
    load(env, phase_one, phase_two)
    code, out = run("stats", "compute")
    assert code == 0, out
    code, out = run("stats", "show", "--month", "2026-05", "--by", "platform", "--json")
    assert code == 0, out
    rows = {r["value"]: r["inventories"] for r in json.loads(out)["rows"]}
    assert rows == {"4101960001": 2, "4101960002": 1}
    code, out = run("stats", "show", "--month", "2026-Q2", "--json")
    assert json.loads(out)["totals"]["inventories"] == 7
    code, out = run("stats", "show", "--month", "2026-04", "--by", "category")
    assert code == 0 and "婴幼儿配方食品" in out
    code, out = run("stats", "revisions", "--month", "2026-05")
    assert code == 0 and json.loads(out) == []  # computed once, after both phases
