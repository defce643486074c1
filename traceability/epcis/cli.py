"""``qtrace epcis …``: event hash IDs, validation and capture from the command line.

The EPCIS feature adds the ``epcis`` group to the qtrace CLI.  ``qtrace epcis hash FILE``
prints the CBV 2.0 hash ID of each event of a JSON-LD or XML document in document order,
one per line, as the reference implementation's test vectors list them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from traceability.epcis.errors import EpcisError
from traceability.epcis.hashing import hash_id, prehash
from traceability.epcis.parse import DEFAULT_MAX_BYTES, parse_document
from traceability.epcis.validate import document_problems
from traceability.errors import TooLarge


def _read(path: Path, max_bytes: int) -> bytes:
    size = path.stat().st_size
    if size > max_bytes:
        raise TooLarge(f"{path}: 文件过大: {size} 字节，上限 {max_bytes} 字节")
    return path.read_bytes()


def _fail(path: Path, exc: EpcisError) -> None:
    click.echo(f"{path}: [{exc.exception}] {exc}", err=True)


@click.group("epcis")
def epcis_group() -> None:
    """GS1 EPCIS 2.0 事件：哈希 ID、校验与采集 (event hash IDs, validation, capture)."""


@epcis_group.command("hash")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--prehash", is_flag=True, help="同时输出规范化前的预哈希串 (pre-hash strings).")
@click.option("--max-bytes", default=DEFAULT_MAX_BYTES, show_default=True, help="文件大小上限。")
def hash_command(files: tuple[Path, ...], prehash: bool, max_bytes: int) -> None:
    """输出每个事件的 CBV 2.0 哈希 ID，按文档顺序每行一个。"""
    failed = False
    for path in files:
        try:
            document = parse_document(_read(path, max_bytes), max_bytes)
        except EpcisError as exc:
            _fail(path, exc)
            failed = True
            continue
        for event in document.events:
            click.echo(hash_id(event.body, event.namespaces))
            if prehash:
                click.echo(_prehash(event), err=True)
    if failed:
        sys.exit(1)


def _prehash(event: Any) -> str:
    return prehash(event.body, event.namespaces)


@epcis_group.command("validate")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--max-bytes", default=DEFAULT_MAX_BYTES, show_default=True, help="文件大小上限。")
def validate_command(files: tuple[Path, ...], max_bytes: int) -> None:
    """按官方 JSON Schema 与 CBV 代码表校验文档，列出全部问题。"""
    failed = False
    for path in files:
        try:
            problems = document_problems(parse_document(_read(path, max_bytes), max_bytes))
        except EpcisError as exc:
            _fail(path, exc)
            failed = True
            continue
        if problems:
            failed = True
            click.echo(
                f"{path}: 校验未通过，{len(problems)} 处问题 (ValidationException)", err=True
            )
            for problem in problems:
                click.echo(f"  {problem}", err=True)
        else:
            click.echo(f"{path}: 通过")
    if failed:
        sys.exit(1)


@epcis_group.command("capture")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--proceed", is_flag=True, help="跳过无效事件继续采集 (默认整份回滚)。")
@click.pass_obj
def capture_command(ctx: Any, files: tuple[Path, ...], proceed: bool) -> None:
    """把 EPCIS 文档采集进事件库与图库 (与 POST /epcis/capture 相同，但同步执行)。"""
    capture = ctx.services.feature("epcis").capture  # closed with the services at exit
    failed = False
    for path in files:
        try:
            result = capture.capture_bytes(
                _read(path, capture.max_bytes), "proceed" if proceed else "rollback"
            )
        except EpcisError as exc:
            _fail(path, exc)
            for problem in exc.problems[:20]:
                click.echo(f"  {problem}", err=True)
            failed = True
            continue
        click.echo(
            f"{path}: {result.events} 个事件，新增 {len(result.captured)}，"
            f"已存在 {len(result.duplicates)}，错误声明 {len(result.declared)}，"
            f"跳过 {len(result.rejected)}"
        )
    if failed:
        sys.exit(1)
