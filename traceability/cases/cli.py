"""``qtrace case list|show|export``: the case file from the command line.

The command acts as ``--user`` (a user of the accounts feature: their role decides what is
visible and how it is masked); without it, as an unnamed local operator who sees every case
masked as the least privileged reader.  Exports are audited either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from traceability.app.context import Context, console, emit_json, pass_context
from traceability.cases.access import Viewer
from traceability.cases.export import export_html, export_pdf
from traceability.cases.service import STAGES, CaseService


def _service(ctx: Context) -> CaseService:
    service: CaseService = ctx.services.feature("cases")
    return service


def _viewer(ctx: Context, user: str | None) -> Viewer:
    if not user:
        return Viewer("cli", None)
    accounts = ctx.services.feature("accounts")
    found = accounts.store.user(user)

    class _Principal:  # the shape Viewer.of reads
        def __init__(self, u: Any) -> None:
            self.user = u

    return Viewer.of(_Principal(found), _service(ctx).settings)


@click.group("case")
def case_group() -> None:
    """案件：列表、详情、导出案卷。"""


@case_group.command("list")
@click.option("--stage", type=click.Choice(STAGES))
@click.option("--level")
@click.option("--unit")
@click.option("--assignee")
@click.option("--overdue", is_flag=True, help="只列出有逾期任务的案件")
@click.option("--text", "q", help="全文检索")
@click.option("--user", help="以该用户的角色查看")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def list_cases(ctx: Context, stage: str | None, level: str | None, unit: str | None,
               assignee: str | None, overdue: bool, q: str | None, user: str | None,
               as_json: bool) -> None:  # fmt: skip
    """列出案件。"""
    filters = {"stage": stage, "level": level, "unit": unit, "assignee": assignee,
               "overdue": "1" if overdue else None, "q": q}  # fmt: skip
    cases = _service(ctx).cases(_viewer(ctx, user), {k: v for k, v in filters.items() if v})
    if as_json:
        emit_json({"count": len(cases), "cases": cases})
        return
    table = Table(title=f"案件 Cases ({len(cases)})")
    for column in ("编号", "标题", "等级", "阶段", "牵头单位", "承办人", "立案时间"):
        table.add_column(column)
    for case in cases:
        table.add_row(case["ref"], case["title"], case["level_zh"], case["stage_zh"],
                      case["lead_unit"], case["assignee"], case["created_at"])  # fmt: skip
    console.print(table)


@case_group.command("show")
@click.argument("ref")
@click.option("--user", help="以该用户的角色查看")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def show_case(ctx: Context, ref: str, user: str | None, as_json: bool) -> None:
    """案件详情：实体、证据、任务、时间线。"""
    case = _service(ctx).show(_viewer(ctx, user), ref)
    if as_json:
        emit_json(case)
        return
    console.print(f"[bold]{case['ref']} {case['title']}[/bold]  {case['stage_zh']} · "
                  f"等级 {case['level_zh']} · 牵头 {case['lead_unit'] or '—'} · "
                  f"承办 {case['assignee'] or '—'}")  # fmt: skip
    for title, rows, fields in (
        ("实体", case["entities"], ("kind_zh", "display", "key")),
        ("证据", case["evidence"], ("id", "kind_zh", "title", "sha256")),
        ("任务", case["tasks"], ("title", "owner", "due", "status_zh")),
        ("时间线", case["timeline"], ("time", "actor", "action", "audit_seq")),
    ):
        table = Table(title=title)
        for name in fields:
            table.add_column(name)
        for row in rows:
            table.add_row(*(str(row.get(name) or "") for name in fields))
        console.print(table)


@case_group.command("export")
@click.argument("ref")
@click.option(
    "--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--user", help="以该用户的角色导出（决定脱敏）")
@pass_context
def export_case(ctx: Context, ref: str, fmt: str, output: Path, user: str | None) -> None:
    """导出案卷（记入审计）。"""
    if fmt == "pdf":
        output.write_bytes(export_pdf(_service(ctx), _viewer(ctx, user), ref))
    else:
        output.write_text(export_html(_service(ctx), _viewer(ctx, user), ref), encoding="utf-8")
    click.echo(f"已导出 {output}")


def commands() -> list[click.Command]:
    return [case_group]
