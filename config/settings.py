"""Typed settings: the packaged default TOML, then the user's file, then QTRACE_ variables.

Precedence, lowest first:

1. ``config/default.toml`` (shipped with the package);
2. the file named by ``QTRACE_CONFIG`` (or passed to :func:`load_settings`);
3. environment variables: ``QTRACE_<FIELD>`` for top-level fields, and
   ``QTRACE_<SECTION>__<FIELD>`` for nested ones (``QTRACE_TRACE__MAX_DEPTH=8``).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

DEFAULT_FILE = Path(__file__).with_name("default.toml")
ENV_PREFIX = "QTRACE_"
M = TypeVar("M", bound=BaseModel)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)


class TraceSettings(_Section):
    max_depth: int = Field(12, ge=1, le=64)
    max_nodes: int = Field(5000, ge=10, le=1_000_000)


class PrivacySettings(_Section):
    hash_key: str = ""
    # AES-256-GCM key for the archived originals: base64 of 32 bytes (`qtrace archive
    # keygen`); empty = originals unencrypted (still 0600).  Never in the repository.
    archive_key: str = ""

    @field_validator("archive_key")
    @classmethod
    def _archive_key_is_32_bytes(cls, value: str) -> str:
        if value.strip():
            try:
                key = base64.b64decode(value.strip(), validate=True)
            except ValueError:
                raise ValueError("archive_key 应为 32 字节密钥的 base64 编码") from None
            if len(key) != 32:
                raise ValueError(f"archive_key 解码后应为 32 字节，实为 {len(key)} 字节")
        return value


class ChecksSettings(_Section):
    # Allowed difference between amounts that must agree, in CNY (0 = exact to the fen).
    amount_tolerance: Decimal = Field(Decimal("0"), ge=0)
    # How long an order, payment or waybill may wait for its partner documents.
    partner_window_hours: float = Field(24.0, gt=0)


class LimitPeriod(_Section):
    since: dt.date
    single_transaction: Decimal
    annual_per_person: Decimal


class LimitSettings(_Section):
    periods: list[LimitPeriod] = Field(default_factory=list)

    def in_force(self, on: dt.date) -> LimitPeriod:
        """The limits in force on a day (the latest period that started on or before it)."""
        current = [p for p in sorted(self.periods, key=lambda p: p.since) if p.since <= on]
        if not current:
            raise ValueError(f"{on} 早于配置的任何限值期间")
        return current[-1]


class SettingsError(ValueError):
    """A settings file or variable is invalid; the message names it."""


class FeatureSwitches(_Section):
    # Installed features (the ``qtrace.features`` entry points) that this site turns off.
    disabled: list[str] = Field(default_factory=list)

    @field_validator("disabled", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """``QTRACE_FEATURES__DISABLED=opinions,demo`` from the environment."""
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """A store URL parsed once: ``sqlite:///path`` (embedded file) or a Neo4j URL."""

    url: str
    engine: str  # "sqlite" | "neo4j"
    path: Path | None = None  # the file, for the embedded engine


NEO4J_SCHEMES = ("neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt://", "bolt+s://", "bolt+ssc://")


def parse_store_url(url: str) -> StoreLocation:
    """The one parser of graph store URLs; raises :class:`SettingsError` naming the URL."""
    if url.startswith("sqlite:///"):
        return StoreLocation(url, "sqlite", Path(url.removeprefix("sqlite:///")))
    if url.startswith(NEO4J_SCHEMES):
        return StoreLocation(url, "neo4j")
    raise SettingsError(
        f"QTRACE_GRAPH_URL={url!r} 无法识别；应为空、sqlite:///路径 或 neo4j://主机:7687"
    )


class Settings(_Section):
    """The settings tree.  Core sections are typed here; a feature's section (``[opinions]``,
    ``[risk]`` …) is kept as given and validated by :meth:`section` with the feature's model.
    """

    model_config = ConfigDict(extra="allow")
    _sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    data_dir: Path = Path("./var")
    graph_url: str = ""
    graph_user: str = "neo4j"
    graph_password: str = ""
    graph_database: str = "neo4j"
    # The opinion search store: empty = embedded (SQLite FTS5 in embedded_db_path), or an
    # Elasticsearch URL http(s)://host:9200 (see docs/SEARCH.md).
    search_url: str = ""
    search_api_key: str = ""  # base64 "id:key"; takes precedence over username/password
    search_username: str = ""
    search_password: str = ""
    search_verify_tls: bool = True
    search_ca_file: str = ""
    search_index_prefix: str = "qtrace-"
    search_timeout: float = Field(10.0, gt=0)
    web: WebSettings = Field(default_factory=WebSettings)
    trace: TraceSettings = Field(default_factory=TraceSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    checks: ChecksSettings = Field(default_factory=ChecksSettings)
    features: FeatureSwitches = Field(default_factory=FeatureSwitches)
    source_files: list[str] = Field(default_factory=list)

    @property
    def resolved_graph_url(self) -> str:
        return self.graph_url or f"sqlite:///{self.data_dir / 'qtrace.db'}"

    @property
    def graph_location(self) -> StoreLocation:
        return parse_store_url(self.resolved_graph_url)

    @property
    def embedded_db_path(self) -> Path:
        """The embedded SQLite file: the graph's when it is embedded, else in data_dir.

        Side tables (the compliance ledger, search, event store) live here whichever graph
        engine is configured.
        """
        location = self.graph_location
        return location.path if location.path is not None else self.data_dir / "qtrace.db"

    def section(self, name: str, model: type[M]) -> M:
        """A feature's section of the tree, validated by the feature's model (cached)."""
        cache = self._sections
        if name not in cache:
            raw = (self.model_extra or {}).get(name, {})
            try:
                cache[name] = model.model_validate(raw)
            except ValidationError as exc:
                raise SettingsError(
                    f"配置节 [{name}] 无效 ({', '.join(self.source_files)}):\n{exc}"
                ) from None
        return cache[name]  # type: ignore[return-value]  # stored under this name by model


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"配置文件不存在: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"配置文件 {path} 不是有效的 TOML: {exc}") from None


def _env_overrides(environ: Mapping[str, str], sections: set[str]) -> dict[str, Any]:
    """``QTRACE_`` variables for core fields and for sections the files declare."""
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == f"{ENV_PREFIX}CONFIG":
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        if path[0] not in Settings.model_fields and path[0] not in sections:
            continue  # QTRACE_TEST_* and other tool variables are not settings
        target = overrides
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return overrides


def load_settings(
    config_file: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    environ = os.environ if environ is None else environ
    data = _read_toml(DEFAULT_FILE)
    sources = [str(DEFAULT_FILE)]
    user_file = config_file or environ.get(f"{ENV_PREFIX}CONFIG")
    if user_file:
        data = _merge(data, _read_toml(Path(user_file)))
        sources.append(str(user_file))
    sections = {key for key, value in data.items() if isinstance(value, dict)}
    data = _merge(data, _env_overrides(environ, sections))
    data["source_files"] = sources
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(f"配置无效 ({', '.join(sources)}):\n{exc}") from None
