"""What every ``qtrace`` command shares: the context object, output helpers, one error path.

Feature commands import from here (never from :mod:`traceability.app.cli`, which discovers
the features).  Errors of the hierarchy become one ``错误`` line on stderr and the exit code
of their class (the README lists them); nothing prints a traceback to a user.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.table import Table

from config import Settings, SettingsError, load_settings
from traceability.errors import ConfigurationError, QtraceError
from traceability.formats.ceb.times import CHINA_TZ
from traceability.ingest.ingestor import IngestReport
from traceability.services import Services, build_services

console = Console()
err_console = Console(stderr=True)


class Context:
    """Settings and services, each made on first use and once per command."""

    def __init__(self, config_file: str | None) -> None:
        self.config_file = config_file
        self._settings: Settings | None = None
        self._services: Services | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_file)
            except SettingsError as exc:
                raise ConfigurationError(str(exc)) from None
        return self._settings

    @property
    def services(self) -> Services:
        if self._services is None:
            self._services = build_services(self.settings)
        return self._services

    def close(self) -> None:
        if self._services is not None:
            self._services.close()


pass_context = click.make_pass_decorator(Context)


class CommandError(click.ClickException):
    """An error of the hierarchy, shown as one line with its class's exit code."""

    def __init__(self, error: QtraceError) -> None:
        super().__init__(str(error))
        self.error = error
        # click reads the code from the instance: one class serves every error class.
        self.exit_code = error.exit_code  # type: ignore[misc]

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"错误 Error [{self.error.code}]: {self.format_message()}", err=True)


class QtraceGroup(click.Group):
    """The root group: turns every :class:`QtraceError` into a :class:`CommandError`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QtraceError as exc:
            raise CommandError(exc) from None


def parse_time(value: str | None) -> dt.datetime | None:
    """An ISO 8601 option value; without a zone it is Beijing time (UTC+8)."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"时间应为 ISO 8601，例如 2026-11-20 或 2026-11-20T08:00，收到 {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TZ)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def print_ingest(report: IngestReport) -> None:
    table = Table(title="导入结果 Ingest summary")
    for column in ("格式 format", "已接收文件", "记录数", "拒收文件", "新发现"):
        table.add_column(column)
    for fmt, tally in sorted(report.formats.items()):
        table.add_row(
            fmt, str(tally.files), str(tally.records), str(tally.rejected_files),
            str(tally.findings),
        )  # fmt: skip
    console.print(table)
    if report.sweep_findings:
        console.print(f"缺少对应单证的新发现: {report.sweep_findings} 条")
    for rejection in report.rejections:
        click.echo(f"拒收 rejected: {rejection}", err=True)  # one line per file, never wrapped


def ingest_json(report: IngestReport) -> dict[str, Any]:
    return {
        "formats": {k: asdict(v) for k, v in sorted(report.formats.items())},
        "sweepFindings": report.sweep_findings,
        "rejections": [asdict(r) for r in report.rejections],
    }


def program_name() -> str:
    """How the user can run qtrace again: the bare name if it is on PATH, else its path."""
    if shutil.which("qtrace"):
        return "qtrace"
    invoked = Path(sys.argv[0])
    return str(invoked) if invoked.name == "qtrace" else "qtrace"
