"""``qtrace user``, ``token``, ``audit``, ``backup``, ``restore`` and ``archive``."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import sys
from pathlib import Path

import click
from rich.table import Table

from config import Settings
from traceability.accounts.permissions import ROLES
from traceability.accounts.settings import AccountsSettings
from traceability.accounts.store import AUDIT_KEY_FILE, SCOPES, AccountStore, private_key_file
from traceability.app.context import Context, console, emit_json, pass_context
from traceability.errors import ConfigurationError, Conflict, InvalidInput, QtraceError
from traceability.formats.archive import Archive, new_key, parse_key


def open_accounts(settings: Settings) -> AccountStore:
    """The account tables alone: no graph, no feature services (works with the server up)."""
    section = settings.section("accounts", AccountsSettings)
    return AccountStore(
        settings.embedded_db_path,
        private_key_file(settings.data_dir / AUDIT_KEY_FILE),
        max_failures=section.max_failures,
        lockout=dt.timedelta(minutes=section.lockout_minutes),
    )


def _read_password(settings: Settings, from_stdin: bool) -> str:
    minimum = settings.section("accounts", AccountsSettings).min_password_length
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码 Password", hide_input=True, confirmation_prompt=True)
    if len(password) < minimum:
        raise InvalidInput(f"密码至少 {minimum} 个字符")
    return password


# -- users ---------------------------------------------------------------------------------


@click.group()
def user() -> None:
    """用户管理：添加、列出、改密码、停用、解锁。"""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(sorted(ROLES)), required=True)
@click.option("--enterprise", help="报送企业 (submitter) 的企业代码，如统一社会信用代码。")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（一行）。")
@pass_context
def user_add(ctx: Context, name: str, role: str, enterprise: str | None,
             password_stdin: bool) -> None:  # fmt: skip
    """添加用户。"""
    password = _read_password(ctx.settings, password_stdin)
    store = open_accounts(ctx.settings)
    try:
        added = store.add_user(name, role, password, enterprise, actor=f"cli:{_os_user()}")
    finally:
        store.close()
    console.print(f"已添加用户 {added.name}（{ROLES[added.role]}）")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def user_list(ctx: Context, as_json: bool) -> None:
    """列出用户。"""
    store = open_accounts(ctx.settings)
    try:
        users = store.users()
    finally:
        store.close()
    if as_json:
        emit_json([u.public() | {"lockedUntil": u.locked_until} for u in users])
        return
    table = Table(title="用户 Users")
    for column in ("用户名", "角色", "企业", "状态"):
        table.add_column(column)
    for u in users:
        state = "停用" if u.disabled else ("锁定至 " + u.locked_until if u.locked_until else "正常")
        table.add_row(u.name, f"{u.role} {ROLES[u.role]}", u.enterprise or "", state)
    console.print(table)


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True)
@pass_context
def user_passwd(ctx: Context, name: str, password_stdin: bool) -> None:
    """重设密码（并结束该用户的全部会话）。"""
    password = _read_password(ctx.settings, password_stdin)
    store = open_accounts(ctx.settings)
    try:
        store.set_password(name, password, actor=f"cli:{_os_user()}")
    finally:
        store.close()
    console.print(f"已重设 {name} 的密码")


@user.command("disable")
@click.argument("name")
@pass_context
def user_disable(ctx: Context, name: str) -> None:
    """停用用户（结束其会话；其令牌随之失效）。"""
    store = open_accounts(ctx.settings)
    try:
        store.set_disabled(name, True, actor=f"cli:{_os_user()}")
    finally:
        store.close()
    console.print(f"已停用 {name}")


@user.command("enable")
@click.argument("name")
@pass_context
def user_enable(ctx: Context, name: str) -> None:
    """重新启用用户。"""
    store = open_accounts(ctx.settings)
    try:
        store.set_disabled(name, False, actor=f"cli:{_os_user()}")
    finally:
        store.close()
    console.print(f"已启用 {name}")


@user.command("unlock")
@click.argument("name")
@pass_context
def user_unlock(ctx: Context, name: str) -> None:
    """解除因密码错误导致的锁定。"""
    store = open_accounts(ctx.settings)
    try:
        store.unlock(name, actor=f"cli:{_os_user()}")
    finally:
        store.close()
    console.print(f"已解锁 {name}")


# -- tokens --------------------------------------------------------------------------------


@click.group()
def token() -> None:
    """API 令牌：创建（只显示一次）、列出、吊销。"""


@token.command("create")
@click.argument("name")
@click.option("--scope", "scopes", type=click.Choice(SCOPES), multiple=True, default=("read",),
              show_default=True, help="可重复：--scope read --scope write")  # fmt: skip
@click.option("--days", type=int, help="有效天数（默认见 [accounts] token_days）。")
@click.option("--label", default="", help="用途说明。")
@pass_context
def token_create(ctx: Context, name: str, scopes: tuple[str, ...], days: int | None,
                 label: str) -> None:  # fmt: skip
    """为用户创建 API 令牌；令牌只显示这一次，服务器只保存其散列。"""
    section = ctx.settings.section("accounts", AccountsSettings)
    days = days or section.token_days
    if not 1 <= days <= section.max_token_days:
        raise InvalidInput(f"有效天数应为 1–{section.max_token_days}")
    store = open_accounts(ctx.settings)
    try:
        secret, info = store.create_token(name, scopes, days, label, actor=f"cli:{_os_user()}")
    finally:
        store.close()
    click.echo(secret)
    click.echo(f"令牌 {info['id']}：范围 {','.join(info['scopes'])}，有效期至 {info['expires']}；"
               "请妥善保存，此后无法再次显示。", err=True)  # fmt: skip


@token.command("list")
@click.option("--user", "name")
@pass_context
def token_list(ctx: Context, name: str | None) -> None:
    """列出令牌（不含令牌本身）。"""
    store = open_accounts(ctx.settings)
    try:
        emit_json(store.tokens(name))
    finally:
        store.close()


@token.command("revoke")
@click.argument("token_id")
@pass_context
def token_revoke(ctx: Context, token_id: str) -> None:
    """吊销令牌（立即生效）。"""
    store = open_accounts(ctx.settings)
    try:
        store.revoke_token(token_id, actor=f"cli:{_os_user()}")
    finally:
        store.close()
    console.print(f"已吊销令牌 {token_id}")


# -- audit ---------------------------------------------------------------------------------


class AuditBroken(QtraceError):
    status = 500
    code = "audit_broken"
    title = "审计日志校验失败"
    exit_code = 12


@click.group()
def audit() -> None:
    """审计日志：校验哈希链、查看最近记录。"""


@audit.command("verify")
@pass_context
def audit_verify(ctx: Context) -> None:
    """校验审计日志的哈希链；被修改、删除或重排时指出第一条出错的记录并以非零状态退出。"""
    store = open_accounts(ctx.settings)
    try:
        checked, problem = store.verify_audit()
    finally:
        store.close()
    if problem is not None:
        raise AuditBroken(f"{problem}（此前 {checked} 条完好）")
    console.print(f"审计日志完好：{checked} 条记录，哈希链一致")


@audit.command("show")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@pass_context
def audit_show(ctx: Context, limit: int) -> None:
    """最近的审计记录（JSON）。"""
    store = open_accounts(ctx.settings)
    try:
        emit_json(store.audit_entries(limit))
    finally:
        store.close()


# -- backup and restore --------------------------------------------------------------------


def _integrity(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        conn.execute("SELECT count(*) FROM schema_versions").fetchone()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{path} 不是有效的 qtrace 数据文件: {exc}") from None
    finally:
        conn.close()
    if rows != [("ok",)]:
        shown = "; ".join(r[0] for r in rows[:3])
        raise InvalidInput(f"{path} 完整性检查失败: {shown}")


def _private_empty_file(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)


def _os_user() -> str:
    try:
        return os.getlogin()
    except OSError:
        return str(os.getuid())


@click.command()
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="覆盖已存在的目标文件。")
@pass_context
def backup(ctx: Context, target: Path, force: bool) -> None:
    """在线备份嵌入式数据文件（SQLite 备份接口，服务运行中也可），并做完整性检查。

    密钥文件 (hash.key、audit.key) 不在备份内：请另行保管，勿与数据放在一起。
    """
    source = ctx.settings.embedded_db_path
    if not source.exists():
        raise ConfigurationError(f"数据文件不存在: {source}")
    if target.exists() and not force:
        raise Conflict(f"{target} 已存在；加 --force 覆盖")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    _private_empty_file(partial)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    try:
        _integrity(partial)
    except InvalidInput:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    store = open_accounts(ctx.settings)
    try:
        store.audit(f"cli:{_os_user()}", "backup", str(target), {"bytes": target.stat().st_size})
    finally:
        store.close()
    console.print(f"已备份到 {target}（{target.stat().st_size} 字节，完整性检查通过）")


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="确认覆盖当前数据（请先停止 qtrace serve/worker）。")
@pass_context
def restore(ctx: Context, source: Path, yes: bool) -> None:
    """从备份恢复嵌入式数据文件：先检查备份的完整性，再以 SQLite 备份接口整体替换。"""
    _integrity(source)
    target = ctx.settings.embedded_db_path
    if target.exists() and not yes:
        raise Conflict(f"{target} 已有数据；确认覆盖请加 --yes（并先停止服务）")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        _private_empty_file(target)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    _integrity(target)
    store = open_accounts(ctx.settings)
    try:
        store.audit(f"cli:{_os_user()}", "restore", str(source), {})
    finally:
        store.close()
    console.print(f"已从 {source} 恢复到 {target}（完整性检查通过）")


# -- the archive of originals ------------------------------------------------------------


@click.group("archive")
def archive() -> None:
    """原始报文归档的静态加密：生成密钥、加密已有文件。"""


@archive.command("keygen")
def archive_keygen() -> None:
    """生成一个新的归档密钥（base64，32 字节），只输出到标准输出。

    写入站点配置 [privacy] archive_key（或环境变量 QTRACE_PRIVACY__ARCHIVE_KEY），
    不要提交到代码仓库；密钥丢失则已加密的原始报文无法再读取，请离线另行保管。
    """
    click.echo(new_key())


def _site_archive(settings: Settings) -> Archive:
    key = parse_key(getattr(settings.privacy, "archive_key", ""))
    return Archive(settings.data_dir / "archive", key)


@archive.command("encrypt")
@pass_context
def archive_encrypt(ctx: Context) -> None:
    """以已配置的密钥加密归档中尚未加密的原始报文（配置密钥之前写入的文件）。"""
    site = _site_archive(ctx.settings)
    done, already = site.encrypt_existing()
    store = open_accounts(ctx.settings)
    try:
        store.audit(f"cli:{_os_user()}", "archive.encrypt", str(site.root),
                    {"encrypted": done, "already": already})  # fmt: skip
    finally:
        store.close()
    console.print(f"已加密 {done} 个文件；{already} 个原已加密")


def commands() -> list[click.Command]:
    return [user, token, audit, backup, restore, archive]
