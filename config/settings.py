"""Typed settings: the packaged default TOML, then the user's file, then QTRACE_ variables.

Precedence, lowest first:

1. ``config/default.toml`` (shipped with the package);
2. the file named by ``QTRACE_CONFIG`` (or passed to :func:`load_settings`);
3. environment variables: ``QTRACE_<FIELD>`` for top-level fields, and
   ``QTRACE_<SECTION>__<FIELD>`` for nested ones (``QTRACE_TRACE__MAX_DEPTH=8``).
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_FILE = Path(__file__).with_name("default.toml")
ENV_PREFIX = "QTRACE_"


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


class ChecksSettings(_Section):
    # Allowed difference between amounts that must agree, in CNY (0 = exact to the fen).
    amount_tolerance: Decimal = Field(Decimal("0"), ge=0)
    # How long an order, payment or waybill may wait for its partner documents.
    partner_window_hours: float = Field(24.0, gt=0)


class EpcisSettings(_Section):
    # Largest EPCIS document accepted, in bytes.
    max_bytes: int = Field(50 * 1024 * 1024, ge=1024)
    # Worker processes that validate and hash large documents; empty = one per CPU.
    workers: int | None = Field(None, ge=0, le=64)


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


class Settings(_Section):
    data_dir: Path = Path("./var")
    graph_url: str = ""
    graph_user: str = "neo4j"
    graph_password: str = ""
    graph_database: str = "neo4j"
    web: WebSettings = Field(default_factory=WebSettings)
    trace: TraceSettings = Field(default_factory=TraceSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    checks: ChecksSettings = Field(default_factory=ChecksSettings)
    epcis: EpcisSettings = Field(default_factory=EpcisSettings)
    source_files: list[str] = Field(default_factory=list)

    @property
    def resolved_graph_url(self) -> str:
        return self.graph_url or f"sqlite:///{self.data_dir / 'qtrace.db'}"

    @property
    def embedded_db_path(self) -> Path:
        """The embedded SQLite file: the graph's when it is embedded, else in data_dir.

        Side tables (the compliance ledger, search, event store) live here whichever graph
        engine is configured.
        """
        url = self.resolved_graph_url
        if url.startswith("sqlite:///"):
            return Path(url.removeprefix("sqlite:///"))
        return self.data_dir / "qtrace.db"


class SettingsError(ValueError):
    """A settings file or variable is invalid; the message names it."""


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


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == f"{ENV_PREFIX}CONFIG":
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        if path[0] not in Settings.model_fields:
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
    data = _merge(data, _env_overrides(environ))
    data["source_files"] = sources
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(f"配置无效 ({', '.join(sources)}):\n{exc}") from None
