"""Typed opinion-monitoring settings: sources, crawler limits, taxonomy, watch rules.

The settings tree's section ``[opinions]`` names the file (``config_file``; the shipped
``config/opinions.toml`` by default).  Regulators edit the taxonomy, the watch rules and the
brand list there, so every value is validated with a message that names the offending entry.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sentiment.analysis.rules import RuleSyntaxError, parse_rule
from traceability.errors import ConfigurationError

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "config" / "opinions.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CrawlerSettings(_Section):
    user_agent: str = "qtrace-opinions/0.1 (+pilot-zone quality monitoring)"
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(15.0, gt=0)
    max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(5, ge=0, le=20)
    retries: int = Field(2, ge=0, le=10)
    backoff_base: float = Field(1.0, ge=0)
    per_host_concurrency: int = Field(1, ge=1, le=8)
    default_delay: float = Field(1.0, ge=0)
    max_delay: float = Field(30.0, ge=0)
    # Host names or CIDR blocks that may be fetched although they are private/loopback.
    allow_private: list[str] = Field(default_factory=list)
    respect_robots: bool = True
    max_pages_per_run: int = Field(500, ge=1)

    @field_validator("user_agent")
    @classmethod
    def _ascii(cls, value: str) -> str:
        if not value.isascii() or not value.strip():
            raise ValueError("User-Agent 只能使用 ASCII 字符（HTTP 头不能直接携带中文）")
        return value


class SourceConfig(_Section):
    name: str
    kind: Literal["rss", "html", "sitemap"]
    url: str
    # For html sources: article links to follow (regular expression on the absolute URL),
    # and list pages to walk to (pagination), both within ``max_depth``.
    link_pattern: str = ""
    follow_pattern: str = ""
    every_minutes: int = Field(60, ge=1)
    delay: float | None = Field(None, ge=0)
    max_depth: int = Field(1, ge=0, le=5)
    enabled: bool = True

    @field_validator("link_pattern", "follow_pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"不是有效的正则表达式: {value!r} ({exc})") from None
        return value


class Category(_Section):
    code: str
    name: str
    keywords: list[str]


class WatchRule(_Section):
    name: str
    query: str


class Brand(_Section):
    name: str
    aliases: list[str] = Field(default_factory=list)


class SignalSettings(_Section):
    lookback_hours: int = Field(24 * 14, ge=24)
    window_hours: int = Field(6, ge=1, le=72)
    ewma_alpha: float = Field(0.1, gt=0, le=1)
    z_threshold: float = Field(3.0, gt=0)
    min_count: int = Field(3, ge=1)
    silent_after_runs: int = Field(3, ge=1)
    max_evidence: int = Field(10, ge=1)


class OpinionsConfig(_Section):
    crawler: CrawlerSettings = Field(default_factory=CrawlerSettings)
    sources: list[SourceConfig] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)
    watch_rules: list[WatchRule] = Field(default_factory=list)
    brands: list[Brand] = Field(default_factory=list)
    signals: SignalSettings = Field(default_factory=SignalSettings)
    near_duplicate_bits: int = Field(7, ge=0, le=7)
    source_file: str = ""


class OpinionsSettings(_Section):
    """Section ``[opinions]`` of the settings tree: the rules file and the worker's pace."""

    config_file: Path = DEFAULT_FILE
    # ``qtrace worker``: how often due sources are crawled, and how often documents that
    # waited for Elasticsearch are sent again.
    crawl_every_seconds: int = Field(300, ge=10)
    search_queue_every_seconds: int = Field(60, ge=5)


class OpinionsConfigError(ConfigurationError):
    """The opinions file is missing or invalid; the message names the file and entry."""


def load_opinions_config(path: str | Path | None = None) -> OpinionsConfig:
    """Load the file given, else the shipped default."""
    chosen = Path(path or DEFAULT_FILE)
    try:
        with chosen.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise OpinionsConfigError(f"舆情配置文件不存在: {chosen}") from None
    except tomllib.TOMLDecodeError as exc:
        raise OpinionsConfigError(f"舆情配置文件 {chosen} 不是有效的 TOML: {exc}") from None
    data["source_file"] = str(chosen)
    try:
        config = OpinionsConfig.model_validate(data)
    except ValidationError as exc:
        raise OpinionsConfigError(f"舆情配置无效 ({chosen}):\n{exc}") from None
    _check_unique(config, chosen)
    for rule in config.watch_rules:
        try:
            parse_rule(rule.query)
        except RuleSyntaxError as exc:
            raise OpinionsConfigError(
                f"监测规则 {rule.name!r} 语法错误 ({chosen}): {exc}"
            ) from None
    return config


def _check_unique(config: OpinionsConfig, path: Path) -> None:
    for what, names in (
        ("信息源", [s.name for s in config.sources]),
        ("风险类别", [c.code for c in config.categories]),
        ("监测规则", [r.name for r in config.watch_rules]),
    ):
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise OpinionsConfigError(f"{what}名称重复: {name!r} ({path})")
            seen.add(name)
