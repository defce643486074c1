"""``qtrace stats …``: compute, show, index, revisions, publish."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from traceability.app.context import console, emit_json, pass_context
from traceability.errors import InvalidParameter
from traceability.stats.aggregate import DIMENSIONS
from traceability.stats.index import recompute
from traceability.stats.service import StatsService

SHOWN = {
    "inventories": "清单",
    "released": "放行",
    "goods_value": "货值(元)",
    "released_value": "放行货值",
    "returned": "退货",
    "inspection_rate": "查验率",
    "problem_rate": "问题率",
    "release_hours_mean": "通关h",
}


def _service(ctx: Any) -> StatsService:
    service: StatsService = ctx.services.feature("statistics")
    return service


def _weights(values: tuple[str, ...]) -> dict[str, float]:
    weights: dict[str, float] = {}
    for item in values:
        name, _, number = item.partition("=")
        try:
            weights[name.strip()] = float(number)
        except ValueError:
            raise InvalidParameter(f"权重应写作 名称=数值，例如 scale=2，收到 {item!r}") from None
    return weights


@click.group("stats")
def stats_group() -> None:
    """统计监测：月度统计、综合指数与发布。"""


@stats_group.command("compute")
@click.option("--month", default=None, help="只计算该月 (YYYY-MM)；默认所有有变化的月份。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@pass_context
def compute_command(ctx: Any, month: str | None, as_json: bool) -> None:
    """增量计算月度统计；已计算月份的变化记为修订。"""
    report = _service(ctx).compute(month)
    if as_json:
        emit_json(report.as_json())
        return
    console.print(
        f"清单 {report.scanned} 份，变化 {report.changed} 份；"
        f"重算月份: {', '.join(report.months) or '无'}（{report.seconds:.2f} 秒）"
    )
    for month_, reasons in report.revised.items():
        console.print(f"修订 {month_}: " + "，".join(f"{k} {v}" for k, v in reasons.items()))


@stats_group.command("show")
@click.option(
    "--month",
    "period",
    required=True,
    help="统计期: YYYY-MM（已存月度表），或 YYYY-MM-DD、YYYY-Qn、YYYY。",
)
@click.option(
    "--by", "dimension", default="total", type=click.Choice(list(DIMENSIONS)), help="分组维度。"
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@pass_context
def show_command(ctx: Any, period: str, dimension: str, as_json: bool) -> None:
    """显示某期统计（按维度分组）。"""
    data = _service(ctx).show_period(period, dimension)
    if as_json:
        emit_json(data)
        return
    table = Table(title=f"{data['period']} 统计 — {data['dimension_label']}")
    table.add_column("分组", no_wrap=True)
    for name in SHOWN.values():
        table.add_column(name, justify="right")
    rows = data["rows"] if dimension != "total" else [{"label": "合计", **data["totals"]}]
    for row in rows:
        table.add_row(row["label"], *("" if row.get(n) is None else str(row[n]) for n in SHOWN))
    console.print(table)
    if data["reconciliation"]:
        recon = data["reconciliation"]
        console.print(
            f"订单 {recon['orders']}，已申报 {recon['orders_declared']}，"
            f"未申报 {recon['orders_undeclared']}；清单 {recon['inventories']}；"
            f"货值差额（订单 − 清单）{recon['value_difference']} 元"
        )


@stats_group.command("index")
@click.option("--month", required=True, help="YYYY-MM")
@click.option(
    "--weight", "weights", multiple=True, help="覆盖权重，如 --weight scale=2（可重复）。"
)
@click.option("--base", "base_month", default=None, help="基期 YYYY-MM（默认取配置）。")
@click.option(
    "--check",
    "check_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="发布的 JSON 文件：用存储的统计重算并核对其综合指数。",
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@pass_context
def index_command(
    ctx: Any,
    month: str,
    weights: tuple[str, ...],
    base_month: str | None,
    check_file: Path | None,
    as_json: bool,
) -> None:
    """由存储的月度统计重算综合指数；--check 核对已发布的数值。"""
    service = _service(ctx)
    overrides = _weights(weights)
    published = None
    if check_file is not None:
        published = json.loads(check_file.read_text(encoding="utf-8"))
        index = published.get("index") or {}
        if "sub_indices" not in index:
            raise InvalidParameter(f"{check_file} 没有可核对的综合指数")
        # The release's own method: its weights and base month, unless overridden here.
        release_weights = {n: s["weight"] for n, s in index["sub_indices"].items()}
        overrides = {**release_weights, **overrides}
        base_month = base_month or index["base_month"]
    result = service.index(month, overrides, base_month)
    if published is not None:
        expected = recompute(published["index"], overrides)
        result["check"] = {
            "published": published["index"]["composite"],
            "published_reweighted": expected,
            "recomputed": result["composite"],
            "matches": expected == result["composite"],
        }
    if as_json:
        emit_json(result)
    else:
        table = Table(title=f"{month} 综合指数（基期 {result['base_month']} = 100）")
        for column in ("分项", "指数", "权重", "状态"):
            table.add_column(column)
        for name, sub in result["sub_indices"].items():
            table.add_row(name, str(sub["value"]), str(sub["weight"]), sub["status"])
        table.add_row("composite", str(result["composite"]), "", "")
        console.print(table)
        if "check" in result:
            state = "一致" if result["check"]["matches"] else "不一致"
            console.print(f"核对发布值: {state} {result['check']}")
    if "check" in result and not result["check"]["matches"]:
        sys.exit(12)


@stats_group.command("revisions")
@click.option("--month", default=None, help="YYYY-MM")
@pass_context
def revisions_command(ctx: Any, month: str | None) -> None:
    """列出修订记录（JSON）。"""
    emit_json(_service(ctx).revisions(month))


@stats_group.command("publish")
@click.option("--month", required=True, help="YYYY-MM")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="输出目录（各版本并存）。",
)
@click.option(
    "--pdf/--no-pdf",
    default=None,
    help="同时用无界面 chromium 生成 PDF（默认取 [statistics] publish_pdf）。",
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@pass_context
def publish_command(ctx: Any, month: str, out: Path, pdf: bool | None, as_json: bool) -> None:
    """发布某月统计：JSON + CSV + XLSX + HTML（及 PDF）；数据或方法有变化时生成新版本。"""
    service = _service(ctx)
    service.compute()  # incremental: the month, its base and previous month are current
    record, created = service.publish(month, out, pdf)
    if as_json:
        emit_json({**record, "created": created})
        return
    state = "新版本" if created else "无变化，沿用"
    replaces = f"，替代第 {record['replaces']} 版" if record["replaces"] else ""
    console.print(f"{month} {state} 第 {record['version']} 版{replaces}")
    for path in record["files"]:
        click.echo(path)


@stats_group.command("signals")
@click.option("--month", default=None, help="只列该月 (YYYY-MM)。")
@click.option("--all", "include_withdrawn", is_flag=True, help="包括已不成立（撤回）的信号。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@pass_context
def signals_command(ctx: Any, month: str | None, include_withdrawn: bool, as_json: bool) -> None:
    """监测信号：放行率环比下降、类别退货率跳升、平台每包裹货值变动（供风险预警采集）。"""
    rows = [s for s in _service(ctx).signals(month) if include_withdrawn or s["active"]]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        console.print("没有监测信号。")
        return
    table = Table(title="监测信号")
    for column in ("月份", "类型", "对象", "说明", "状态"):
        table.add_column(column)
    for row in rows:
        attrs = row["attrs"]
        table.add_row(
            row["month"],
            row["type"],
            attrs.get("label", ""),
            attrs.get("explanation", ""),
            "有效" if row["active"] else "已撤回",
        )
    console.print(table)
