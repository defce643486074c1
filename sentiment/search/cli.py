"""``qtrace search …``: the search store's schema, moving the corpus, and the write queue."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sentiment.db import Database
from sentiment.search.elasticsearch import ElasticsearchSearchStore
from sentiment.search.port import OpinionDoc
from sentiment.search.queue import SearchQueue
from sentiment.search.select import SearchAdapter, open_search_store, open_search_url
from sentiment.search.sqlite import _DOC_COLUMNS, SQLiteSearchStore
from traceability.app.context import Context, err_console, pass_context
from traceability.errors import QtraceError


def iter_docs(store: SearchAdapter, batch_size: int = 1000) -> Iterator[OpinionDoc]:
    """Every document of a store, in batches (rowid order for the embedded store)."""
    if isinstance(store, ElasticsearchSearchStore):
        yield from store.iter_docs(batch_size)
        return
    last = 0
    while True:
        rows = store.db.conn.execute(
            f"SELECT {_DOC_COLUMNS} FROM opinion_docs d WHERE d.id > ? ORDER BY d.id LIMIT ?",
            (last, batch_size),
        ).fetchall()
        if not rows:
            return
        yield from store._docs(rows)
        last = rows[-1][0]


def batched(items: Iterable[OpinionDoc], size: int) -> Iterator[list[OpinionDoc]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


@click.group("search")
def search_group() -> None:
    """舆情检索存储：索引迁移、在存储之间重建索引、待写队列。"""


@search_group.command("migrate")
@pass_context
def search_migrate(ctx: Context) -> None:
    """创建或升级检索索引（幂等）：Elasticsearch 的索引模板、带版本的索引与别名。

    QTRACE_SEARCH_URL 为空时是嵌入式检索（SQLite FTS5），只建表。
    """
    settings = ctx.settings
    if not settings.search_url.strip():
        embedded = SQLiteSearchStore(settings.embedded_db_path)
        try:
            embedded.ensure_schema()
        finally:
            embedded.close()
        click.echo(f"嵌入式检索存储已就绪 (SQLite FTS5)：{settings.embedded_db_path}")
        return
    store = open_search_url(settings.search_url.strip(), settings)
    assert isinstance(store, ElasticsearchSearchStore)
    try:
        report = store.migrate(template=True)
    finally:
        store.close()
    previous = ", ".join(report["previous"] or []) or "无 none"
    click.echo(
        f"别名 alias {report['alias']} -> {report['index']}（模式版本 schema version "
        f"{report['version']}）；此前 previous: {previous}；"
        + ("新建索引 created" if report["created"] else "索引已存在 exists")
        + (f"；已复制 copied {report['copied']} 篇" if "copied" in report else "")
    )


def _open(option: str, url: str, ctx: Context) -> SearchAdapter:
    missing = url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file()
    if missing and option == "--from":
        raise click.ClickException(
            f"--from: 嵌入式存储文件不存在 {url.removeprefix('sqlite:///')}"
            " (绝对路径写作 sqlite:////路径)"
        )
    try:
        return open_search_url(url, ctx.settings)
    except QtraceError as exc:
        exc.detail = f"{option}: {exc.detail}"
        raise


@search_group.command("reindex")
@click.option(
    "--from", "source_url", required=True, help="源：sqlite:///路径 或 http(s)://主机:9200"
)
@click.option(
    "--to", "target_url", required=True, help="目标：sqlite:///路径 或 http(s)://主机:9200"
)
@click.option(
    "--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True,
    help="每批写入的文档数。",
)  # fmt: skip
@pass_context
def search_reindex(ctx: Context, source_url: str, target_url: str, batch_size: int) -> None:
    """把全部舆情文档从一个检索存储复制到另一个（文档 ID 不变，可重复运行），最后核对数量。

    Elasticsearch 的凭据与 TLS 设置取自 QTRACE_SEARCH_API_KEY / QTRACE_SEARCH_USERNAME /
    QTRACE_SEARCH_PASSWORD / QTRACE_SEARCH_VERIFY_TLS / QTRACE_SEARCH_CA_FILE。
    """
    if source_url == target_url:
        raise click.ClickException("--from 与 --to 不能是同一个存储 (source equals target)")
    source = _open("--from", source_url, ctx)
    try:
        target = _open("--to", target_url, ctx)
    except BaseException:
        source.close()
        raise
    try:
        source.ensure_schema()
        target.ensure_schema()
        if isinstance(target, ElasticsearchSearchStore):
            target.refresh = False  # one refresh at the end, not one per batch
            target.batch_size = batch_size
        total = source.count()
        copied = 0
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=not err_console.is_terminal,
        ) as progress:
            task = progress.add_task("重建索引 reindexing", total=total)
            for batch in batched(iter_docs(source, batch_size), batch_size):
                target.index(batch)
                copied += len(batch)
                progress.advance(task, len(batch))
        if isinstance(target, ElasticsearchSearchStore):
            target.client.indices.refresh(index=target.alias)
        source_count, target_count = source.count(), target.count()
    finally:
        source.close()
        target.close()
    line = f"已复制 copied {copied} 篇；源 source {source_count} 篇，目标 target {target_count} 篇"
    if source_count != target_count or copied != total:
        raise click.ClickException(f"{line}：数量不一致 (counts differ)")
    click.echo(f"{line}：数量一致 (counts match)")


@search_group.command("queue")
@click.option("--flush", is_flag=True, help="现在就把待写的文档写入 Elasticsearch。")
@click.option("--retry-failed", is_flag=True, help="把被拒绝的写入重新排队（原因已排除后）。")
@pass_context
def search_queue(ctx: Context, flush: bool, retry_failed: bool) -> None:
    """Elasticsearch 不可达时在本地排队等待写入的文档：数量、被拒绝的原因、立即写入。"""
    settings = ctx.settings
    if not settings.search_url.strip():
        click.echo("嵌入式检索存储没有待写队列 (no queue: the embedded store is in use)")
        return
    db = Database(settings.embedded_db_path)
    store = open_search_store(settings, db)
    assert isinstance(store, ElasticsearchSearchStore) and store.queue is not None
    queue: SearchQueue = store.queue
    try:
        if retry_failed:
            click.echo(f"重新排队 requeued {queue.retry_failed()} 项")
        if flush or retry_failed:
            drained = store.flush_queue()
            click.echo(
                "队列已写完 queue drained"
                if drained
                else f"Elasticsearch 仍不可达，稍后再试 (still unavailable): {store.last_error}"
            )
        pending, failed = queue.count()
        click.echo(f"待写 pending {pending} 项，被拒绝 failed {failed} 项")
        for write in queue.failed():
            click.echo(f"  {write.op} {write.doc_id}: {write.failed}")
    finally:
        store.close()
        db.close()
    if failed:
        raise SystemExit(1)
