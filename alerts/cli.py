"""The risk commands: `qtrace risk`, `risks`, `alerts`, `credit` and `worker`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from alerts.config import LEVEL_ZH, LEVELS, load_rules
from alerts.scheduler import run_worker
from alerts.service import MECHANISMS, OUTCOMES, RiskService
from traceability.app.context import Context, console, emit_json, parse_time, pass_context
from traceability.errors import InvalidInput

CST = dt.timezone(dt.timedelta(hours=8))
_FACTOR_ZH = {**LEVEL_ZH, "confirmed": "属实", "notices": "通报"}


def _service(ctx: Context) -> RiskService:
    service: RiskService = ctx.services.feature("risk")
    return service


def _print_runs(runs: list[dict[str, Any]]) -> None:
    table = Table(title="风险机制运行记录 Risk runs")
    for column in ("id", "机制", "状态", "开始", "耗时 ms", "计数", "错误"):
        table.add_column(column)
    for run in runs:
        counts = {k: v for k, v in run["counts"].items() if not isinstance(v, dict)}
        table.add_row(
            str(run["id"]), run["mechanism"], run["status"], run["started"],
            str(run["duration_ms"] if run["duration_ms"] is not None else ""),
            json.dumps(counts, ensure_ascii=False), str(len(run["errors"])),
        )  # fmt: skip
    console.print(table)
    for run in runs:
        for error in run["errors"]:
            click.echo(f"运行 {run['id']} 错误: {json.dumps(error, ensure_ascii=False)}", err=True)


# -- qtrace risk -----------------------------------------------------------------------------


@click.group("risk")
def risk_group() -> None:
    """风险防控：采集、研判、预警、复核四个机制，规则与名单管理。"""


@risk_group.command("run")
@click.argument("mechanism", type=click.Choice([*MECHANISMS, "all"]))
@click.option("--as-of", default=None, help="研判的时间点（ISO 8601，默认现在）。")
@click.option("--full", is_flag=True, help="研判时重新评估全部规则（默认跳过输入未变的规则）。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出运行记录。")
@pass_context
def risk_run(ctx: Context, mechanism: str, as_of: str | None, full: bool, as_json: bool) -> None:
    """手动运行一个机制（或 all：依次采集、研判、预警、复核）；每次运行都有记录。"""
    runs = _service(ctx).run(mechanism, as_of=parse_time(as_of), full=full)
    if as_json:
        emit_json(runs)
    else:
        _print_runs(runs)
    if any(run["status"] == "error" for run in runs):
        raise click.exceptions.Exit(1)


@risk_group.command("runs")
@click.option("--mechanism", type=click.Choice(MECHANISMS), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=20)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def risk_runs(ctx: Context, mechanism: str | None, limit: int, as_json: bool) -> None:
    """最近的运行记录：机制、窗口、计数、耗时与错误。"""
    runs = _service(ctx).runs(mechanism, limit)
    if as_json:
        emit_json(runs)
    else:
        _print_runs(runs)


@risk_group.group("rules")
def rules_group() -> None:
    """风险规则文件。"""


@rules_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def rules_check(file: Path) -> None:
    """检查规则文件；有误时指出规则与行号并以非零状态退出。"""
    rules = load_rules(file)
    for rule in rules:
        click.echo(
            f"{rule.id}\t{rule.kind}\t{rule.signal}\t{LEVEL_ZH[rule.level]}\t{rule.owner}"
            f"\t{rule.category}"
        )
    click.echo(f"规则文件有效，共 {len(rules)} 条规则。")


@rules_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def rules_list(ctx: Context, as_json: bool) -> None:
    """当前生效的规则及其风险等级（严重程度 × 可能性）。"""
    rules = _service(ctx).rules()
    if as_json:
        emit_json([dict(r.model_dump(by_alias=True), level=r.level) for r in rules])
        return
    for rule in rules:
        click.echo(f"{rule.id}\t{rule.kind}\t{LEVEL_ZH[rule.level]}\t{rule.description}")


@risk_group.command("explain")
@click.argument("fingerprint")
@pass_context
def risk_explain(ctx: Context, fingerprint: str) -> None:
    """一条风险的完整解释（JSON）：规则、证据信号、传播路径、路由与预警。"""
    service = _service(ctx)
    emit_json(service.explain(service.find_risk(fingerprint)["fingerprint"]))


@risk_group.command("report")
@pass_context
def risk_report(ctx: Context) -> None:
    """当前的复核报告（JSON）。"""
    emit_json(_service(ctx).report())


@risk_group.group("negative")
def negative_group() -> None:
    """负面清单。"""


@negative_group.command("add")
@click.argument("entity")
@click.option("--reason", required=True, help="列入理由。")
@click.option("--source", default="", help="依据（文号等）。")
@click.option("--by", default="", help="操作人。")
@pass_context
def negative_add(ctx: Context, entity: str, reason: str, source: str, by: str) -> None:
    """列入负面清单，实体写作 标签:业务键（如 Enterprise:4101762709）。"""
    emit_json(_service(ctx).add_negative(entity, reason, source, by))


@negative_group.command("remove")
@click.argument("entity")
@pass_context
def negative_remove(ctx: Context, entity: str) -> None:
    """移出负面清单（保留记录）。"""
    _service(ctx).remove_negative(entity)
    click.echo(f"已移出负面清单: {entity}")


@negative_group.command("list")
@pass_context
def negative_list(ctx: Context) -> None:
    emit_json(_service(ctx).negative_list())


@risk_group.group("notice")
def notice_group() -> None:
    """监管通报。"""


@notice_group.command("add")
@click.argument("ref")
@click.option("--issuer", required=True)
@click.option("--title", required=True)
@click.option("--entity", "entities", multiple=True, required=True, help="涉及实体，可多次给出。")
@click.option("--measure", default="", help="措施：下架、召回、退运、销毁 …")
@click.option("--severity", type=click.IntRange(1, 4), default=3)
@click.option("--published", default=None, help="发布时间（ISO 8601）。")
@pass_context
def notice_add(ctx: Context, ref: str, issuer: str, title: str, entities: tuple[str, ...],
               measure: str, severity: int, published: str | None) -> None:  # fmt: skip
    """登记监管通报（下次采集时成为信号）。"""
    emit_json(
        _service(ctx).add_notice(ref, issuer, title, list(entities), measure, severity, published)
    )


@notice_group.command("withdraw")
@click.argument("ref")
@pass_context
def notice_withdraw(ctx: Context, ref: str) -> None:
    _service(ctx).withdraw_notice(ref)
    click.echo(f"已撤销通报: {ref}")


@notice_group.command("list")
@pass_context
def notice_list(ctx: Context) -> None:
    emit_json(_service(ctx).notices())


# -- qtrace risks ----------------------------------------------------------------------------


@click.command("risks")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.option("--level", type=click.Choice(LEVELS), default=None)
@click.option("--entity", default=None, help="实体（标签:业务键，或业务键）。")
@click.option("--status", type=click.Choice(["open", "resolved", "all"]), default="open")
@click.option("--limit", type=click.IntRange(1, 100_000), default=500)
@pass_context
def risks_command(ctx: Context, as_json: bool, level: str | None, entity: str | None,
                  status: str, limit: int) -> None:  # fmt: skip
    """列出风险（默认未消除的），可按等级与实体筛选。"""
    risks = _service(ctx).risks(
        level=level, entity=entity, status=None if status == "all" else status, limit=limit
    )
    fields = ("fingerprint", "rule", "level", "category", "entities", "evidence", "explanation",
              "status", "first_seen", "last_seen")  # fmt: skip
    if as_json:
        emit_json([{f: r[f] for f in fields} for r in risks])
        return
    table = Table(title=f"风险 Risks（{len(risks)}）")
    for column in ("指纹", "等级", "类别", "规则", "状态", "说明"):
        table.add_column(column)
    for r in risks:
        table.add_row(r["fingerprint"], LEVEL_ZH[r["level"]], r["category"], r["rule"],
                      r["status"], r["explanation"])  # fmt: skip
    console.print(table)


# -- qtrace alerts ---------------------------------------------------------------------------


@click.group("alerts")
def alerts_group() -> None:
    """预警：路由到牵头与配合单位，签收与办结。"""


@alerts_group.command("route")
@click.argument("risk")
@click.option("--dry-run", is_flag=True, help="只显示路由决定，不生成预警。")
@pass_context
def alerts_route(ctx: Context, risk: str, dry_run: bool) -> None:
    """一条风险（指纹或其前缀）的路由决定：匹配的路由、牵头单位、配合单位。"""
    service = _service(ctx)
    found = service.find_risk(risk)
    decision = service.route(found)
    if not dry_run:
        decision["created"] = service.warn(only=found["fingerprint"]).get("alerts", 0)
    emit_json(decision)


@alerts_group.command("list")
@click.option("--status", default=None, help="open / acknowledged / closed / resolved …")
@click.option("--unit", default=None, help="单位 id（牵头或配合）。")
@pass_context
def alerts_list(ctx: Context, status: str | None, unit: str | None) -> None:
    emit_json(_service(ctx).alerts(status, unit))


@alerts_group.command("ack")
@click.argument("alert_id", type=int)
@click.option("--by", default="", help="签收人。")
@pass_context
def alerts_ack(ctx: Context, alert_id: int, by: str) -> None:
    """签收预警（签收后不再升级）。"""
    emit_json(_service(ctx).acknowledge(alert_id, by))


@alerts_group.command("close")
@click.argument("alert_id", type=int)
@click.option("--outcome", type=click.Choice(OUTCOMES), required=True,
              help="confirmed 属实 / false_positive 误报（用于计算规则准确率）。")  # fmt: skip
@click.option("--note", default="")
@pass_context
def alerts_close(ctx: Context, alert_id: int, outcome: str, note: str) -> None:
    """办结预警并记录处置结果。"""
    emit_json(_service(ctx).close_alert(alert_id, outcome, note))


@alerts_group.command("notify")
@click.option("--as-of", default=None, help="时间点（ISO 8601，默认现在）。")
@pass_context
def alerts_notify(ctx: Context, as_of: str | None) -> None:
    """按分组把到期的预警（及每日汇总）放入发件箱。"""
    emit_json(_service(ctx).notify(parse_time(as_of)))


@alerts_group.command("send-pending")
@pass_context
def alerts_send_pending(ctx: Context) -> None:
    """手动发送发件箱中到期的邮件（临时失败按退避重试，永久失败标记为失败）。"""
    emit_json(_service(ctx).send_pending())


@alerts_group.command("history")
@click.option("--alert", "alert_id", type=int, default=None, help="只看一条预警的邮件。")
@click.option("--limit", type=int, default=50)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def alerts_history(ctx: Context, alert_id: int | None, limit: int, as_json: bool) -> None:
    """邮件发送记录：每次尝试的收件人、分组、时间、SMTP 结果与 Message-ID。"""
    notifier = _service(ctx).notifier
    attempts = notifier.history(alert_id, limit)
    pending = notifier.messages("pending", alert_id, limit)
    if as_json:
        emit_json({"attempts": attempts, "pending": pending})
        return
    table = Table(title="预警邮件发送记录 Alert email history")
    for column in ("时间", "类型", "收件人", "主题", "结果", "答复", "Message-ID"):
        table.add_column(column)
    for a in attempts:
        table.add_row(a["time"], a["kind"], ", ".join(a["recipients"]), a["subject"],
                      a["result"], str(a["reply"] or ""), a["message_id"])  # fmt: skip
    console.print(table)
    click.echo(f"待发送 {len(pending)} 封")


@alerts_group.group("silence")
def silence_group() -> None:
    """静默：匹配的预警照常记录与显示，只是不发邮件。"""


@silence_group.command("add")
@click.option(
    "--match",
    "matchers",
    multiple=True,
    required=True,
    help="标签=值，可重复：rule、category、level、owner、unit、route、entity、id …",
)
@click.option("--by", required=True, help="创建人。")
@click.option("--comment", required=True, help="说明。")
@click.option("--hours", type=float, default=24.0, help="时长（小时）。")
@pass_context
def silence_add(ctx: Context, matchers: tuple[str, ...], by: str, comment: str,
                hours: float) -> None:  # fmt: skip
    parsed: dict[str, str] = {}
    for item in matchers:
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--match 应写作 标签=值，收到 {item!r}")
        parsed[name.strip()] = value.strip()
    emit_json(_service(ctx).notifier.add_silence(parsed, by, comment, hours))


@silence_group.command("list")
@click.option("--active", is_flag=True, help="只列生效中的静默。")
@pass_context
def silence_list(ctx: Context, active: bool) -> None:
    emit_json(_service(ctx).notifier.silences(active_only=active))


@silence_group.command("expire")
@click.argument("silence_id", type=int)
@click.option("--by", required=True)
@pass_context
def silence_expire(ctx: Context, silence_id: int, by: str) -> None:
    """提前结束一个静默（留有审计记录）。"""
    _service(ctx).notifier.expire_silence(silence_id, by)
    click.echo(f"静默 {silence_id} 已结束")


# -- qtrace credit ---------------------------------------------------------------------------


@click.group("credit")
def credit_group() -> None:
    """企业信用评级 A/B/C/D。"""


@credit_group.command("show")
@click.argument("enterprise")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def credit_show(ctx: Context, enterprise: str, as_json: bool) -> None:
    """一家企业（统一社会信用代码或海关编码）的等级，逐项说明扣分，及历史。"""
    graded = _service(ctx).credit(enterprise)
    if as_json:
        emit_json(graded)
        return
    click.echo(f"企业 {graded['enterprise']} {graded.get('name') or ''}")
    click.echo(
        f"信用等级 {graded['grade']}（{graded['grade_zh']}），得分 {graded['score']:g}，"
        f"建议查验比例 {graded['inspection_ratio']:.1%}"
    )
    click.echo(f"基础分 {graded['base']:g}")
    for f in graded["factors"]:
        counts = "，".join(f"{_FACTOR_ZH.get(k, k)} {v}" for k, v in f["counts"].items()) or "无"
        capped = "（已封顶）" if f["capped"] else ""
        click.echo(f"  − {f['deduction']:g}  {f['zh']}：{counts}{capped}")
    if graded["negative_list"]:
        click.echo("  列入负面清单：等级不高于 D")
    click.echo("历史：")
    for h in graded["history"]:
        click.echo(f"  {h['graded_at']}  {h['grade']}  {h['score']:g}")


@credit_group.command("list")
@click.option("--grade", type=click.Choice(list("ABCD")), default=None)
@pass_context
def credit_list(ctx: Context, grade: str | None) -> None:
    emit_json(_service(ctx).grades(grade))


# -- qtrace worker ---------------------------------------------------------------------------


@click.command("worker")
@click.option("--for", "seconds", type=float, default=None, help="运行若干秒后退出（测试用）。")
@click.option("--holder", default=None, help="租约持有者名称（默认 主机:进程号:随机）。")
@pass_context
def worker_command(ctx: Context, seconds: float | None, holder: str | None) -> None:
    """调度进程：按设置 [risk] 的间隔运行各机制；多个进程只有租约持有者执行任务。"""
    if seconds is not None and seconds <= 0:
        raise InvalidInput("--for 应为正数")
    summary = run_worker(ctx.services, holder=holder, seconds=seconds)
    emit_json(summary)


def commands() -> list[click.Command]:
    return [risk_group, risks_command, alerts_group, credit_group, worker_command]
