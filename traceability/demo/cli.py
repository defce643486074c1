"""``qtrace generate`` and ``qtrace demo``: a synthetic world, ingested, crawled and served."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from alerts.scheduler import Worker
from config import Settings
from traceability.app.context import Context, console, pass_context, print_ingest, program_name
from traceability.app.web import serve_app
from traceability.demo.generator.files import write_world
from traceability.demo.mailsink import MailSink, start_for_demo
from traceability.demo.opinions import run_demo
from traceability.errors import InvalidInput
from traceability.ingest.ingestor import collect_files


@click.command()
@click.option("--orders", type=click.IntRange(40, 5_000_000), default=3000, show_default=True)
@click.option("--seed", type=int, default=20261127, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def generate(orders: int, seed: int, out: Path) -> None:
    """生成一个确定性的合成跨境电商世界 (CEB XML + EPCIS JSON-LD + manifest.json)。"""
    with console.status(f"正在生成 {orders} 笔订单 …"):
        manifest = write_world(orders, seed, out)
    console.print(f"[green]已生成[/green] {out}  文件: {manifest['files']}")
    stories = manifest["stories"]
    console.print(
        f"缺陷批次: {stories['defective_lot']['batch']} "
        f"（下游订单 {stories['defective_lot']['recall_orders']} 笔）"
    )


def world_dir(settings: Settings, orders: int, seed: int) -> Path:
    return settings.data_dir / f"demo-world-{orders}-{seed}"


@click.command()
@click.option("--orders", type=click.IntRange(40, 2_000_000), default=3000, show_default=True)
@click.option("--seed", type=int, default=20261127, show_default=True)
@click.option("--no-serve", is_flag=True, help="只生成并导入，不启动网页。")
@pass_context
def demo(ctx: Context, orders: int, seed: int, no_serve: bool) -> None:
    """演示：生成合成世界、导入嵌入式存储，并在 127.0.0.1:8000 启动控制台。"""
    settings = ctx.settings
    folder = world_dir(settings, orders, seed)
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    else:
        with console.status(f"正在生成演示世界 ({orders} 笔订单) …"):
            manifest = write_world(orders, seed, folder)
    with console.status("正在导入嵌入式存储 …"):
        report = ctx.services.ingestor().ingest_paths(collect_files([folder]))
    print_ingest(report)
    if not report.ok:
        raise InvalidInput("演示数据导入失败")
    with console.status("正在抓取本地演示舆情站点并分析 …"):
        opinions = run_demo(settings, ctx.services.feature("opinions"), manifest, folder)
    console.print(
        f"舆情演示: 本地站点发布 {opinions['posts_published']} 篇，"
        f"入库 {opinions['documents']} 篇；"
        f"{opinions['spike_entity_name']} 负面提及 {opinions['negative_mentions_of_spike_entity']}"
        f" 条，新增预警信号 {opinions['new_signals']} 个"
    )
    host, port = settings.web.host, settings.web.port
    sink = _raise_and_mail_alerts(ctx, f"http://{host}:{port}")
    _print_hints(manifest, opinions)
    _print_login(ctx)
    try:
        if no_serve:
            return
        console.print(
            f"\n控制台 Console: [bold]http://{host}:{port}/[/bold]  （在 /login 登录，Ctrl+C 退出）"
        )
        worker = Worker(ctx.services) if ctx.services.has_feature("risk") else None
        if worker is not None:
            worker.start()  # the four mechanisms, the crawler and the mail sender keep running
            console.print(f"调度进程 Worker: {len(worker.jobs)} 个定时任务在本进程中运行")
        try:
            serve_app(settings, host, port, ctx.services)
        finally:
            if worker is not None:
                worker.stop()
    finally:
        if sink is not None:
            sink.stop()


def _raise_and_mail_alerts(ctx: Context, base_url: str) -> MailSink | None:
    """Run the four risk mechanisms once and mail the alerts to a local SMTP sink."""
    if not ctx.services.has_feature("risk"):
        return None
    sink = start_for_demo(ctx.services, base_url)
    risk = ctx.services.feature("risk")
    with console.status("正在运行风险机制并发送预警邮件到本地邮件接收器 …"):
        risk.run("all")
        risk.notify()
        sent = risk.send_pending()
    console.print(
        f"预警邮件: 已发送 {sent['sent']} 封到本地邮件接收器 {sink.host}:{sink.port}"
        f"（原文在 {sink.folder}；控制台 /alerts/emails；{program_name()} alerts history）"
    )
    return sink


def _print_login(ctx: Context) -> None:
    """The demo administrator (made once, its password shown once) or how to sign in."""
    if not ctx.services.has_feature("accounts"):
        return
    name, password = ctx.services.feature("accounts").ensure_demo_admin()
    prog = program_name()
    if password:
        # Plain echo: a terminal's line wrapping must not split the password.
        click.echo(
            f"\n演示管理员 Demo admin: 用户名 {name}  密码 {password}"
            f"（只显示这一次；{prog} user passwd {name} 可重设）"
        )
    else:
        console.print(f"\n请用已有账户登录（{prog} user list；{prog} user passwd 用户名）")


def _print_hints(manifest: dict[str, Any], opinions: dict[str, Any]) -> None:
    defective = manifest["stories"]["defective_lot"]
    console.print("\n[bold]可以试试：[/bold]")
    prog = program_name()
    console.print(f"  {prog} recall {defective['batch']}")
    if defective["sample_orders"]:
        console.print(f"  {prog} trace order {defective['sample_orders'][0]} --direction back")
    console.print(f"  {prog} trace batch {defective['batch']} --direction forward")
    console.print(f"  {prog} findings")
    for line in opinions["try"][:2]:
        console.print(f"  {line.replace('qtrace', prog, 1)}")
