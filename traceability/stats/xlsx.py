"""A release as an XLSX workbook: every table of the release, the same numbers as its JSON.

Sheets: ``说明`` (the release and its method), one sheet per dimension (``total`` first;
the columns and rows of the release CSV for that dimension), ``index`` (the rows of the
index CSV), ``reconciliation`` and ``revisions``.  Sheet names are the dimension codes, so
a reader finds a table by the same name as in the JSON.  Amounts are numeric cells (the
JSON's decimal strings, written exactly, format ``#,##0.00``), counts integers, rates
decimals; codes (HS, district, trade mode, days) stay text.  Empty cells are JSON nulls.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from traceability.stats.aggregate import DIMENSIONS
from traceability.stats.config import SUB_INDICES

TEXT_COLUMNS = frozenset({"dimension", "value", "label", "findings"})
AMOUNT = re.compile(r"^-?\d+\.\d+$")


def cell(column: str, value: Any) -> Any:
    """The cell value of one release value: amounts as exact decimals, codes as text."""
    if value is None or value == "":
        return None
    if column in TEXT_COLUMNS:
        return str(value)
    if isinstance(value, str) and AMOUNT.match(value):
        return Decimal(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def index_rows(content: dict[str, Any]) -> list[list[Any]]:
    """The rows of the index table (the same as the ``-index.csv``)."""
    index = content["index"]
    if "sub_indices" not in index:
        return []
    rows: list[list[Any]] = [["composite", index["composite"], None, None, "ok", "综合指数"]]
    for name in SUB_INDICES:
        sub = index["sub_indices"][name]
        rows.append(
            [
                name,
                sub["value"],
                sub["weight"],
                sub["effective_weight"],
                sub["status"],
                sub["direction"],
            ]
        )
    return rows


def _sheet(book: Workbook, title: str, head: list[str], rows: list[list[Any]]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(head)
    for item in sheet[1]:
        item.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    widths = [len(str(h)) for h in head]
    for row in rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], min(len(str(value or "")), 40))
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width + 2
    for column in sheet.iter_cols(min_row=2):
        for item in column:
            if isinstance(item.value, Decimal):
                item.number_format = "#,##0.00"
    sheet.freeze_panes = "A2"


def write_xlsx(content: dict[str, Any], rows: list[dict[str, Any]], columns: tuple[str, ...],
               index_columns: tuple[str, ...], out: Path) -> None:  # fmt: skip
    """Write the workbook of a release; ``rows`` are the release CSV's rows (by dimension)."""
    book = Workbook()
    info = book.active
    assert info is not None
    info.title = "说明"
    method = content["method"]
    index = content["index"]
    for key, value in (
        ("title", content["title"]),
        ("month", content["month"]),
        ("version", content.get("version")),
        ("replaces", content.get("replaces")),
        ("published_at", content.get("published_at")),
        ("revision", content["revision"]),
        ("computed_at", content["computed_at"]),
        ("content_hash", content["content_hash"]),
        ("base_month", index.get("base_month")),
        ("config_file", method["config_file"]),
        ("config_sha256", method["config_sha256"]),
        ("released_statuses", "/".join(method["released_statuses"])),
        ("document", method["document"]),
    ):
        info.append([key, value])
    info.column_dimensions["A"].width = 16
    info.column_dimensions["B"].width = 70
    for dimension in DIMENSIONS:
        _sheet(
            book,
            dimension,
            list(columns),
            [[cell(c, row[c]) for c in columns] for row in rows if row["dimension"] == dimension],
        )
    _sheet(book, "index", list(index_columns), index_rows(content))
    recon = content["reconciliation"]
    _sheet(book, "reconciliation", ["item", "value"], [[k, cell(k, v)] for k, v in recon.items()])
    _sheet(
        book,
        "revisions",
        ["revision", "revised_at", "reasons"],
        [
            [r["revision"], r["revised_at"], cell("reasons", r["reasons"])]
            for r in content.get("revisions", [])
        ],
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    book.save(partial)
    partial.replace(out)
