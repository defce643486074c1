"""A release of one month's statistics: JSON, CSV, XLSX, a self-contained HTML page, PDF.

The content is assembled from the stored tables only; its hash (figures, index and method,
not the publication time) decides whether publishing makes a new version.  Files are named
``stats-<month>-v<version>.*`` so that every version stays side by side in the folder.
The HTML page has its chart as inline SVG and its styles inline: no script, no CDN.  The
XLSX workbook holds every table of the release (:mod:`traceability.stats.xlsx`); the PDF is
the HTML page printed by headless Chromium (:mod:`traceability.app.pdf`), written when
asked for (``--pdf`` or ``[statistics] publish_pdf``).
"""

from __future__ import annotations

import csv
import hashlib
import json
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traceability.app.pdf import html_to_pdf
from traceability.errors import QtraceError
from traceability.stats.aggregate import DIMENSIONS
from traceability.stats.config import DEFAULT_FILE
from traceability.stats.xlsx import index_rows, write_xlsx

if TYPE_CHECKING:
    from traceability.stats.service import StatsService

CSV_COLUMNS = (
    "dimension",
    "value",
    "label",
    "inventories",
    "released",
    "orders",
    "parcels",
    "buyers",
    "goods_value",
    "freight",
    "insured",
    "tax",
    "released_value",
    "returned",
    "returned_value",
    "cancelled",
    "deleted",
    "inspected",
    "detained",
    "returned_abroad",
    "problems",
    "release_n",
    "release_hours_mean",
    "release_hours_median",
    "release_rate",
    "inspection_rate",
    "detention_rate",
    "return_rate",
    "problem_rate",
    "findings",
)
INDEX_COLUMNS = ("sub_index", "value", "weight", "effective_weight", "status", "direction")


def _method(service: StatsService) -> dict[str, Any]:
    config = service.config
    path = Path(service.options.config_file or DEFAULT_FILE)
    return {
        "config_file": path.name,
        "config_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "weights": config.index.weights,
        "base_month_setting": config.index.base_month or "(最早有放行清单的月份)",
        "released_statuses": config.receipts.released,
        "document": "docs/INDEX.md",
    }


def release_content(service: StatsService, month: str) -> dict[str, Any]:
    shown = service.show(month)
    try:
        index: dict[str, Any] = service.index(month)
    except QtraceError as exc:
        index = {"status": "unavailable", "reason": str(exc)}
    content: dict[str, Any] = {
        "title": f"跨境电商统计监测 {month}",
        "month": month,
        "revision": shown["revision"],
        "computed_at": shown["computed_at"],
        "method": _method(service),
        "totals": shown["totals"],
        "reconciliation": shown["reconciliation"],
        "dimensions": {name: service.rows(month, name) for name in DIMENSIONS if name != "total"},
        "index": index,
        "revisions": [
            {
                "revision": r["revision"],
                "revised_at": r["revised_at"],
                "reasons": r["reasons"]["counts"],
            }
            for r in service.revisions(month)
        ],
    }
    hashed = {k: v for k, v in content.items() if k not in ("computed_at", "revisions")}
    text = json.dumps(hashed, sort_keys=True, ensure_ascii=False, default=str)
    content["content_hash"] = hashlib.sha256(text.encode()).hexdigest()
    return content


def csv_rows(content: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{"dimension": "total", "value": "all", "label": "合计", **content["totals"]}]
    for dimension, items in content["dimensions"].items():
        rows.extend({"dimension": dimension, **item} for item in items)
    result = []
    for row in rows:
        line = {c: row.get(c) for c in CSV_COLUMNS}
        line["findings"] = ";".join(f"{k}={v}" for k, v in (row.get("findings") or {}).items())
        result.append({k: "" if v is None else v for k, v in line.items()})
    return result


def release_stem(content: dict[str, Any], out: Path) -> Path:
    return out / f"stats-{content['month']}-v{content['version']}"


def pdf_path(content: dict[str, Any], out: Path) -> Path:
    return Path(f"{release_stem(content, out)}.pdf")


def write_pdf(content: dict[str, Any], out: Path, browser: str = "", timeout: float = 60) -> Path:
    """The release's HTML page printed to PDF (StoreUnavailable without a browser)."""
    target = pdf_path(content, out)
    html_to_pdf(html_page(content), target, browser=browser, timeout=timeout)
    return target


def write_release(
    content: dict[str, Any],
    out: Path,
    *,
    pdf: bool = False,
    browser: str = "",
    timeout: float = 60,
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = release_stem(content, out)
    files = [
        stem.with_suffix(".json"),
        Path(f"{stem}.csv"),
        Path(f"{stem}-index.csv"),
        stem.with_suffix(".html"),
        stem.with_suffix(".xlsx"),
    ]
    if pdf:  # first: without a browser nothing is written
        files.append(write_pdf(content, out, browser, timeout))
    files[0].write_text(
        json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    rows = csv_rows(content)
    with files[1].open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    with files[2].open("w", encoding="utf-8-sig", newline="") as handle:
        lines = csv.writer(handle)
        lines.writerow(INDEX_COLUMNS)
        lines.writerows(index_rows(content))
    files[3].write_text(html_page(content), encoding="utf-8")
    write_xlsx(content, rows, CSV_COLUMNS, INDEX_COLUMNS, files[4])
    return files


def bar_svg(items: list[tuple[str, float]], title: str, width: int = 720) -> str:
    """Horizontal bars with escaped labels (inline SVG, no script)."""
    if not items:
        return f'<svg role="img" width="{width}" height="40"><text x="8" y="24">无数据</text></svg>'
    bar_h, gap, left = 18, 6, 190
    height = len(items) * (bar_h + gap) + 30
    peak = max(v for _, v in items) or 1.0
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (name, value) in enumerate(items):
        y = 10 + i * (bar_h + gap)
        w = (width - left - 110) * value / peak
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" font-size="12" text-anchor="end">'
            f"{escape(name)}</text>"
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#2e6da4"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 13}" font-size="11">{value:,.2f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[list[Any]], head: list[str]) -> str:
    cells = "".join(f"<th>{escape(str(h))}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if c is None else str(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def summary_html(content: dict[str, Any]) -> str:
    """The totals of a release as a table."""
    totals = content["totals"]
    return _table(
        [
            ["申报清单", totals["inventories"]],
            ["放行清单", totals["released"]],
            ["订单", totals["orders"]],
            ["包裹", totals["parcels"]],
            ["订购人", totals["buyers"]],
            ["货值（元，扣除退货）", totals["goods_value"]],
            ["放行货值（元）", totals["released_value"]],
            ["运费（元）", totals["freight"]],
            ["税款（元）", totals["tax"]],
            ["退货清单", totals["returned"]],
            ["撤销清单", totals["cancelled"]],
            ["查验率", totals["inspection_rate"]],
            ["问题率", totals["problem_rate"]],
            ["平均通关时长（小时）", totals["release_hours_mean"]],
        ],
        ["指标", "数值"],
    )


def category_chart(content: dict[str, Any]) -> str:
    categories = content["dimensions"].get("category", [])
    return bar_svg(
        [(r["label"], float(r["released_value"])) for r in categories],
        "放行货值（元）按消费品类别",
    )


def reconciliation_html(content: dict[str, Any]) -> str:
    recon = content["reconciliation"]
    return _table([[k, v] for k, v in recon.items()], ["订单与清单核对", "数值"])


def index_html(content: dict[str, Any]) -> str:
    index = content["index"]
    if "sub_indices" not in index:
        return f"<p>综合指数不可用：{escape(index.get('reason', ''))}</p>"
    head = f"<p>综合指数 <strong>{escape(str(index['composite']))}</strong>"
    return (
        head
        + f"（基期 {escape(index['base_month'])} = 100）</p>"
        + _table(
            [
                [n, s["value"], s["weight"], s["status"], s["direction"]]
                for n, s in index["sub_indices"].items()
            ],
            ["分项", "指数", "权重", "状态", "方向"],
        )
    )


def release_meta(content: dict[str, Any]) -> str:
    """The version line of a release: version, dates, what it replaces, the unit of count."""
    replaces = content.get("replaces")
    note = f"本版替代第 {replaces} 版。" if replaces else "首次发布。"
    statuses = "/".join(content["method"]["released_statuses"])
    return (
        f'<p class="meta">第 {content["version"]} 版 · 发布于 {escape(content["published_at"])} ·\n'
        f"统计修订号 {content['revision']} · {escape(note)}\n"
        f"统计口径：已申报清单（CEB621），放行 = 回执状态 {escape(statuses)}；\n"
        "方法见 docs/INDEX.md。</p>"
    )


def html_page(content: dict[str, Any]) -> str:
    summary = summary_html(content)
    chart = category_chart(content)
    reconciliation = reconciliation_html(content)
    index_part = index_html(content)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(content["title"])} 第 {content["version"]} 版</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: .2em .6em; text-align: left; }}
th {{ background: #eef2f7; }}
.meta {{ color: #666; font-size: 90%; }}
</style></head><body>
<h1>{escape(content["title"])}</h1>
{release_meta(content)}
<h2>总量</h2>{summary}
<h2>按消费品类别</h2>{chart}
<h2>综合指数</h2>{index_part}
<h2>订单与清单核对</h2>{reconciliation}
</body></html>
"""
