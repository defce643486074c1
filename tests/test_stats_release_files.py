"""The XLSX workbook and the PDF of a release: the same figures as its JSON and CSV."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.conftest import require_or_skip
from tests.pdf_text import text_layer_characters
from tests.test_stats_publish import env, load, run  # noqa: F401  (the env fixture)
from tests.test_stats_world import phase_one, phase_two
from traceability.app.pdf import find_browser, html_to_pdf
from traceability.errors import StoreUnavailable
from traceability.stats.aggregate import DIMENSIONS
from traceability.stats.publish import CSV_COLUMNS, INDEX_COLUMNS


def _same(cell: Any, expected: Any) -> bool:
    """A workbook cell against a JSON/CSV value (amounts compared exactly, to the fen)."""
    if expected is None or expected == "":
        return cell is None
    if isinstance(expected, str) and re.fullmatch(r"-?\d+\.\d+", expected):
        return isinstance(cell, int | float) and Decimal(str(cell)) == Decimal(expected)
    if isinstance(expected, bool) or not isinstance(expected, int | float):
        return cell == str(expected) if isinstance(cell, str) else cell == expected
    return isinstance(cell, int | float) and float(cell) == float(expected)


def _publish(env_path: Path, *extra: str) -> tuple[Path, dict[str, Any]]:
    out_dir = env_path / "releases"
    load(env_path, phase_one, phase_two)
    code, out = run("stats", "publish", "--month", "2026-05", "--out", str(out_dir), *extra)
    assert code == 0, out
    content = json.loads((out_dir / "stats-2026-05-v1.json").read_text(encoding="utf-8"))
    return out_dir, content


def test_xlsx_holds_every_table_with_the_json_and_csv_figures(env: Path) -> None:  # noqa: F811
    out_dir, content = _publish(env, "--no-pdf")
    book = load_workbook(out_dir / "stats-2026-05-v1.xlsx", read_only=True)
    assert book.sheetnames == [
        "说明",
        *DIMENSIONS,
        "index",
        "reconciliation",
        "revisions",
    ]
    sheets = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}

    # Every dimension sheet is the CSV's rows of that dimension, cell for cell.
    with (out_dir / "stats-2026-05-v1.csv").open(encoding="utf-8-sig", newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    compared = 0
    for dimension in DIMENSIONS:
        head, *rows = sheets[dimension]
        assert head == CSV_COLUMNS
        expected = [r for r in csv_rows if r["dimension"] == dimension]
        assert len(rows) == len(expected), dimension
        for got, want in zip(rows, expected, strict=True):
            for column, value in zip(CSV_COLUMNS, got, strict=True):
                if column in ("dimension", "value", "label", "findings"):
                    assert (value or "") == want[column], (dimension, column)
                elif want[column] == "":
                    assert value is None, (dimension, column)
                else:
                    assert Decimal(str(value)) == Decimal(want[column]), (dimension, column)
                compared += 1
    assert compared > 500

    # ... and the JSON's numbers: the totals and every dimension row.
    head, total = sheets["total"]
    by_name = dict(zip(head, total, strict=True))
    for column in CSV_COLUMNS[3:-1]:
        assert _same(by_name[column], content["totals"].get(column)), column
    assert by_name["goods_value"] == 500 and by_name["returned_value"] == 220
    assert by_name["findings"] == "ORDER_ARITHMETIC=1"
    for dimension, items in content["dimensions"].items():
        head, *rows = sheets[dimension]
        assert len(rows) == len(items)
        for row, item in zip(rows, items, strict=True):
            named = dict(zip(head, row, strict=True))
            assert named["value"] == item["value"] and named["label"] == item["label"]
            for column in CSV_COLUMNS[3:-1]:
                assert _same(named[column], item.get(column)), (dimension, column)
    # Codes stay text: a district or HS chapter is never turned into a number.
    assert {r[1] for r in sheets["hs_chapter"][1:]} == {"19", "21", "22"}
    assert all(isinstance(r[1], str) for r in sheets["district"][1:])

    # The index table is the index CSV; the composite is the JSON's.
    with (out_dir / "stats-2026-05-v1-index.csv").open(encoding="utf-8-sig") as handle:
        index_csv = list(csv.reader(handle))
    assert tuple(index_csv[0]) == INDEX_COLUMNS == sheets["index"][0]
    for got, want in zip(sheets["index"][1:], index_csv[1:], strict=True):
        for value, text in zip(got, want, strict=True):
            if isinstance(value, int | float):
                assert float(value) == float(text)
            else:
                assert (value or "") == text
    composite = next(r for r in sheets["index"] if r[0] == "composite")
    assert composite[1] == content["index"]["composite"]
    for name, sub in content["index"]["sub_indices"].items():
        row = next(r for r in sheets["index"] if r[0] == name)
        assert (row[1], row[2], row[4]) == (sub["value"], sub["weight"], sub["status"])

    recon = dict(sheets["reconciliation"][1:])
    assert set(recon) == set(content["reconciliation"])
    for key, value in content["reconciliation"].items():
        assert _same(recon[key], value), key
    info = dict(sheets["说明"])
    assert info["content_hash"] == content["content_hash"] and info["version"] == 1


@pytest.mark.integration
def test_pdf_release_has_the_chinese_titles_as_text(env: Path) -> None:  # noqa: F811
    require_or_skip(
        find_browser() is not None, "chromium is not installed (apt-get install chromium)"
    )
    out_dir, _ = _publish(env, "--pdf")
    pdf = (out_dir / "stats-2026-05-v1.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    characters = text_layer_characters(pdf)
    for title in ("跨境电商统计监测", "总量", "按消费品类别", "综合指数", "订单与清单核对"):
        assert set(title) <= characters, title
    assert set("婴幼儿配方食品") <= characters  # a label of the chart (inline SVG) as text
    # Publishing again changes nothing; asking for the PDF of a release without one adds it.
    code, out = run("stats", "publish", "--month", "2026-05", "--out", str(out_dir), "--json")
    record = json.loads(out)
    assert code == 0 and record["created"] is False
    assert any(f.endswith("stats-2026-05-v1.pdf") for f in record["files"])


@pytest.mark.integration
def test_pdf_added_to_an_unchanged_release(env: Path) -> None:  # noqa: F811
    require_or_skip(
        find_browser() is not None, "chromium is not installed (apt-get install chromium)"
    )
    out_dir, _ = _publish(env, "--no-pdf")
    assert not (out_dir / "stats-2026-05-v1.pdf").exists()
    code, out = run("stats", "publish", "--month", "2026-05", "--out", str(out_dir), "--pdf",
                    "--json")  # fmt: skip
    record = json.loads(out)
    assert code == 0 and record["created"] is False and record["version"] == 1
    assert (out_dir / "stats-2026-05-v1.pdf").read_bytes().startswith(b"%PDF-")


def test_a_missing_browser_is_a_503_naming_chromium(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        html_to_pdf("<p>x</p>", tmp_path / "x.pdf", browser=str(tmp_path / "no-such-browser"))
    assert caught.value.status == 503 and caught.value.extra["store"] == "Chromium"
    assert not (tmp_path / "x.pdf").exists()


def test_publish_without_a_browser_writes_nothing(env: Path, monkeypatch) -> None:  # noqa: F811
    settings = env / "site.toml"
    settings.write_text(f'[statistics]\npdf_browser = "{env / "no-such-browser"}"\n')
    monkeypatch.setenv("QTRACE_CONFIG", str(settings))
    out_dir = env / "releases"
    load(env, phase_one)
    code, out = run("stats", "publish", "--month", "2026-05", "--out", str(out_dir), "--pdf")
    assert code == 10 and "Chromium" in out, out
    assert not out_dir.exists() or not list(out_dir.iterdir())
    code, out = run("stats", "publish", "--month", "2026-05", "--out", str(out_dir), "--json")
    assert code == 0 and json.loads(out)["version"] == 1  # nothing half-published
