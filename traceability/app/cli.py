"""The ``qtrace`` command line: the core commands, then every installed feature's.

Errors of the hierarchy are turned into one line and an exit code by
:class:`~traceability.app.context.QtraceGroup`; the README lists the codes.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from config import Settings, SettingsError
from config.settings import StoreLocation, parse_store_url
from graph_schema import SCHEMA
from traceability.analysis.compliance import FINDING_TYPES
from traceability.analysis.describe import describe
from traceability.analysis.keys import KINDS
from traceability.app.context import (
    Context,
    QtraceGroup,
    console,
    emit_json,
    err_console,
    ingest_json,
    pass_context,
    print_ingest,
)
from traceability.app.web import serve_app
from traceability.errors import InvalidParameter, NotFound, QtraceError
from traceability.features import installed_features
from traceability.ingest.ingestor import collect_files
from traceability.store.copy import checkpoint_path, copy_store
from traceability.store.factory import open_store, open_store_url
from traceability.store.neo4j import Neo4jGraphStore
from traceability.store.port import StoreError

DIRECTION_ZH = {"back": "溯源（向上游）", "forward": "去向（向下游）", "both": "双向"}


@click.group(cls=QtraceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    envvar="QTRACE_CONFIG",
    help="设置文件 (TOML)，覆盖 config/default.toml；也可用环境变量 QTRACE_CONFIG。",
)
@click.version_option(package_name="qtrace")
@click.pass_context
def main(ctx: click.Context, config_file: str | None) -> None:
    """跨境电商质量安全追溯与风险预警 (cross-border e-commerce quality traceability)."""
    ctx.obj = Context(config_file)
    ctx.call_on_close(ctx.obj.close)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果。")
@pass_context
def ingest(ctx: Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """导入文件或目录 (CEB XML、EPCIS JSON-LD)；有拒收时以非零状态退出。"""
    files = collect_files(paths)
    ingestor = ctx.services.ingestor()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        disable=as_json or not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("导入中", total=len(files))
        report = ingestor.ingest_paths(files, on_file=lambda _: progress.advance(task))
    if as_json:
        emit_json(ingest_json(report))
    else:
        print_ingest(report)
    if not report.ok:
        sys.exit(1)


@main.command()
@click.argument("kind", type=click.Choice(sorted(KINDS), case_sensitive=False))
@click.argument("key")
@click.option(
    "--direction", type=click.Choice(["back", "forward", "both"]), default="both",
    show_default=True, help="back 溯源、forward 去向、both 双向。",
)  # fmt: skip
@click.option(
    "--json", "as_json", is_flag=True, help="以 JSON 输出 (nodes/edges/responsibility/summary)。"
)
@pass_context
def trace(ctx: Context, kind: str, key: str, direction: str, as_json: bool) -> None:
    """追溯一个对象：KIND 为 batch/product/order/payment/waybill/inventory/enterprise。"""
    result = ctx.services.trace.trace(kind, key, direction)
    if as_json:
        emit_json(result)
        return
    summary = result["summary"]
    console.print(
        f"[bold]{DIRECTION_ZH[direction]}[/bold] {result['root']['id']}  "
        f"节点 {summary['nodeCount']} 个，关系 {summary['edgeCount']} 条"
        + ("  [yellow]（结果已截断）[/yellow]" if summary["truncated"] else "")
    )
    nodes = Table(title="追溯链 Chain (上游 → 下游)")
    for column in ("列", "类型", "业务键", "说明"):
        nodes.add_column(column)
    for node in sorted(result["nodes"], key=lambda n: (n["column"], n["label"], n["key"])):
        nodes.add_row(
            str(node["column"]), node["labelZh"], node["key"],
            describe(node["label"], node["key"], node["props"]),
        )  # fmt: skip
    console.print(nodes)
    _print_responsibility(result["responsibility"])


def _print_responsibility(hops: list[dict[str, Any]]) -> None:
    table = Table(title="责任链 Responsibility")
    for column in ("环节角色", "企业", "代码/信用代码", "时间", "依据"):
        table.add_column(column)
    for hop in hops:
        enterprise = hop["enterprise"]
        table.add_row(
            hop["roleZh"],
            enterprise["name"] or "—",
            enterprise["uscc"] or enterprise["key"],
            (hop["time"] or "")[:19].replace("T", " "),
            hop["via"]["id"],
        )
    console.print(table)


@main.command()
@click.argument("batch_keys", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@pass_context
def recall(ctx: Context, batch_keys: tuple[str, ...], as_json: bool) -> None:
    """召回范围：一个或多个批次 (GTIN:LOT) 下游的全部订单、买家、地区、平台与承运人。"""
    result = ctx.services.trace.recall(list(batch_keys))
    if as_json:
        emit_json(result)
        return
    s = result["summary"]
    console.print(
        f"[bold]召回范围[/bold] 批次 {len(result['batches'])} 个：订单 {s['orders']} 笔，"
        f"订购人 {s['buyers']} 人，地区 {s['districts']} 个，平台 {s['platforms']} 家，"
        f"承运人 {s['carriers']} 家"
    )
    for title, bucket, name_of in (
        ("受影响地区", "districts", lambda d: d.get("name", d["key"])),
        ("电商平台", "platforms", lambda d: d.get("name", d["key"])),
        ("物流企业", "carriers", lambda d: d.get("name", d["key"])),
    ):
        table = Table(title=title)
        table.add_column("名称")
        table.add_column("代码")
        table.add_column("订单数", justify="right")
        for item in result[bucket][:20]:
            table.add_row(name_of(item), item["key"], str(item["orders"]))
        console.print(table)


@main.command()
@click.option("--host", default=None, help="监听地址（默认取设置 web.host）。")
@click.option("--port", type=int, default=None, help="端口（默认取设置 web.port）。")
@pass_context
def serve(ctx: Context, host: str | None, port: int | None) -> None:
    """启动网页控制台与 API。"""
    serve_app(ctx.settings, host, port, ctx.services)


@main.command()
@click.option("--code", help="只列出该代码的发现，如 PAYMENT_AMOUNT_MISMATCH。")
@click.option("--all", "include_resolved", is_flag=True, help="包括已消除的发现。")
@click.option("--sweep", is_flag=True, help="先检查超时仍缺少对应单证的单据。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@pass_context
def findings(ctx: Context, code: str | None, include_resolved: bool, sweep: bool,
             as_json: bool) -> None:  # fmt: skip
    """列出单证核验发现 (三单对碰、限值、证件校验、缺单、重复申报)。"""
    if code and code not in FINDING_TYPES:
        raise InvalidParameter(f"未知的发现代码 {code}，可选: {', '.join(FINDING_TYPES)}")
    services = ctx.services
    if sweep:
        services.compliance.sweep(dt.datetime.now(dt.UTC))
    items = services.ledger.findings(code, include_resolved)
    if as_json:
        emit_json(items)
        return
    table = Table(title=f"核验发现 Findings（{len(items)} 条）")
    for column in ("代码", "级别", "单证", "应为", "实为", "说明"):
        table.add_column(column)
    for item in items:
        table.add_row(
            item["code"], item["severity"], "\n".join(item["keys"]),
            json.dumps(item["expected"], ensure_ascii=False),
            json.dumps(item["actual"], ensure_ascii=False), item["message_zh"],
        )  # fmt: skip
    console.print(table)


@main.group()
def graph() -> None:
    """图存储维护。"""


@graph.command("stats")
@pass_context
def graph_stats(ctx: Context) -> None:
    """各标签节点数与各关系类型数量。"""
    emit_json(ctx.services.store.counts())


@graph.command("migrate")
@pass_context
def graph_migrate(ctx: Context) -> None:
    """应用图模式：按 graph_schema 幂等创建约束与索引，并记录模式版本。"""
    store = open_store(ctx.settings, check_schema=False)
    try:
        if not isinstance(store, Neo4jGraphStore):
            console.print(
                f"嵌入式存储的表与索引已就绪 (embedded store ready), "
                f"模式版本 schema version {SCHEMA.version}"
            )
            return
        before = store.schema_version()
        report = store.ensure_schema()
        table = Table(title=f"Neo4j 约束与索引 ({store.url}, 数据库 {store.database})")
        table.add_column("名称 name")
        table.add_column("状态 status")
        for name in report.created:
            table.add_row(name, "[green]新建 created[/green]")
        for name in report.dropped:
            table.add_row(name, "[yellow]已删除（graph_schema 不再声明）dropped[/yellow]")
        for name in report.existing:
            table.add_row(name, "已存在 exists")
        console.print(table)
        console.print(
            f"模式版本 schema version: {before if before is not None else '无 none'} -> "
            f"{store.schema_version()}；新建 {len(report.created)} 项，删除 "
            f"{len(report.dropped)} 项 (created {len(report.created)}, dropped "
            f"{len(report.dropped)})"
        )
    finally:
        store.close()


def _location(option: str, url: str) -> StoreLocation:
    try:
        return parse_store_url(url)
    except SettingsError as exc:
        raise InvalidParameter(f"{option}: {exc}") from None


def _open_named(option: str, url: str, settings: Settings, *, check_schema: bool = True) -> Any:
    """Open a store named on the command line; an error names the option it came from."""
    try:
        return open_store_url(url, settings, check_schema=check_schema)
    except QtraceError as exc:
        exc.detail = f"{option}: {exc.detail}"
        raise


@graph.command("copy")
@click.option("--from", "source_url", required=True, help="源存储 URL：sqlite:///路径 或 neo4j://…")
@click.option("--to", "target_url", required=True, help="目标存储 URL：sqlite:///路径 或 neo4j://…")
@click.option(
    "--batch-size", type=click.IntRange(1, 1_000_000), default=5000, show_default=True,
    help="每批写入的节点/关系数。",
)  # fmt: skip
@pass_context
def graph_copy(ctx: Context, source_url: str, target_url: str, batch_size: int) -> None:
    """复制整个图：先各标签节点、再各关系类型；可断点续传，结束时按类型核对数量。

    Neo4j 的用户名、密码与数据库取自设置 (QTRACE_GRAPH_USER / QTRACE_GRAPH_PASSWORD /
    QTRACE_GRAPH_DATABASE)；目标 Neo4j 须已运行 qtrace graph migrate。
    """
    if source_url == target_url:
        raise InvalidParameter("--from 与 --to 不能是同一个存储 (source equals target)")
    settings = ctx.settings
    source_file = _location("--from", source_url).path
    if source_file is not None and not source_file.is_file():
        raise NotFound(f"--from: 嵌入式存储文件不存在 {source_file} (绝对路径写作 sqlite:////路径)")
    source = _open_named("--from", source_url, settings, check_schema=False)
    try:
        target = _open_named("--to", target_url, settings)
    except QtraceError:
        source.close()
        raise
    checkpoint = checkpoint_path(source_url, target_url, settings.data_dir)
    try:
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=not err_console.is_terminal,
        ) as progress:
            task = progress.add_task("复制中 copying", total=None)

            def on_start(counts: dict[str, int], already: int) -> None:
                progress.update(task, total=sum(counts.values()), completed=already)
                if already:
                    progress.console.print(
                        f"从检查点继续 (resuming from {checkpoint})：已复制 {already} 条"
                    )

            def on_page(name: str, records: int) -> None:
                progress.update(task, advance=records, description=f"复制 {name}")

            report = copy_store(
                source, target, source_url=source_url, target_url=target_url,
                checkpoint=checkpoint, batch_size=batch_size,
                on_start=on_start, on_page=on_page,
            )  # fmt: skip
    except StoreError as exc:
        exc.detail = f"{exc.detail}\n复制已中断，重新运行同一命令将从检查点继续 ({checkpoint})"
        raise
    finally:
        source.close()
        target.close()
    if report.resumed_from:
        console.print(f"已从检查点续传 (resumed at {report.resumed_from})")
    console.print(f"已复制 copied {sum(report.copied.values())} 条记录")
    if report.ok:
        console.print("[green]核对一致[/green]：各标签与关系类型的数量相同 (counts match)")
        return
    table = Table(title="数量不一致 Count mismatches")
    for column in ("标签/关系类型", "源 source", "目标 target"):
        table.add_column(column)
    for mismatch in report.mismatches:
        table.add_row(mismatch.name, str(mismatch.source), str(mismatch.target))
    console.print(table)
    sys.exit(1)


def _add_feature_commands() -> None:
    """Every installed feature's commands join ``qtrace`` (the settings may disable one;
    its commands then answer that the feature is off)."""
    for feature in installed_features():
        for command in feature.commands() if feature.commands else ():
            main.add_command(command)


_add_feature_commands()


if __name__ == "__main__":
    main()
