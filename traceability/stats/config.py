"""Settings of the statistics feature and its method file (``config/stats.toml``).

The settings section ``[statistics]`` names the method file (``config_file``, empty for the
shipped one).  The file holds the simplified consumer classification (HS prefixes to about
twenty categories), the receipt codes that count as released, inspected, detained or
returned abroad, and the index base period and weights.  It is read on first use, never at
start-up, so a broken file fails the statistics commands only, with a message naming it.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from traceability.errors import ConfigurationError
from traceability.stats.signals import SignalSettings

DEFAULT_FILE = Path(__file__).resolve().parent.parent.parent / "config" / "stats.toml"
SUB_INDICES = ("scale", "growth", "structure", "efficiency", "quality", "credit")
PublicSection = Literal["index", "release", "negative_list"]
PUBLIC_SECTIONS: tuple[PublicSection, ...] = ("index", "release", "negative_list")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatsSettings(_Model):
    """The ``[statistics]`` settings section."""

    config_file: str = ""
    # ``qtrace worker`` recomputes the statistics (incrementally) at this interval.
    compute_seconds: float = Field(3600.0, gt=0)
    # ``qtrace stats publish`` also prints the release to PDF (as with ``--pdf``), with this
    # browser (empty: chromium on PATH) and time limit.
    publish_pdf: bool = False
    pdf_browser: str = ""
    pdf_timeout_seconds: float = Field(60.0, gt=0, le=600)
    # 有序公开: the public, read-only page ``/open/stats`` (no login); off unless enabled.
    public_page: bool = False
    # What it shows, in this order: the published index, the latest published release of a
    # month, the negative list (active entries of the risk feature: entity, name, reason, date).
    public_sections: list[PublicSection] = Field(default_factory=lambda: list(PUBLIC_SECTIONS))
    # Monitoring signals for the risk feature (table ``stats_signals``): thresholds.
    signals: SignalSettings = Field(default_factory=SignalSettings)


class Category(_Model):
    code: str
    name: str
    hs: list[str] = Field(default_factory=list)

    @field_validator("hs")
    @classmethod
    def _digits(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if not (p.isdigit() and 2 <= len(p) <= 10)]
        if bad:
            raise ValueError(f"HS 前缀应为 2–10 位数字: {bad}")
        return value


class Classification(_Model):
    fallback: str = "OTHER"
    categories: list[Category]


class Receipts(_Model):
    released: list[str] = ["800", "899"]
    inspection: list[str] = ["500"]
    detention_from: int = 501
    detention_to: int = 599
    returned_abroad: list[str] = ["700"]

    def is_detention(self, status: str) -> bool:
        return status.isdigit() and self.detention_from <= int(status) <= self.detention_to


class IndexMethod(_Model):
    base_month: str = ""
    weights: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(SUB_INDICES, 1.0))

    @field_validator("base_month")
    @classmethod
    def _month(cls, value: str) -> str:
        if value and not MONTH.match(value):
            raise ValueError(f"base_month 应为 YYYY-MM，收到 {value!r}")
        return value

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(SUB_INDICES))
        if unknown:
            raise ValueError(f"未知分项指数 {unknown}；可用: {', '.join(SUB_INDICES)}")
        if any(w < 0 for w in value.values()):
            raise ValueError("权重不能为负")
        return {name: float(value.get(name, 0.0)) for name in SUB_INDICES}


@dataclass(frozen=True, slots=True)
class ReceiptRules:
    """The receipt codes as sets, for the per-inventory hot path."""

    released: frozenset[str]
    inspection: frozenset[str]
    returned_abroad: frozenset[str]
    detention: tuple[int, int]


class StatsConfig(_Model):
    classification: Classification
    receipts: Receipts = Field(default_factory=Receipts)
    index: IndexMethod = Field(default_factory=IndexMethod)
    _prefixes: dict[str, str] = PrivateAttr(default_factory=dict)
    _names: dict[str, str] = PrivateAttr(default_factory=dict)
    _cache: dict[str, str] = PrivateAttr(default_factory=dict)
    _digest: str = PrivateAttr("")
    _rules: ReceiptRules | None = PrivateAttr(None)

    def model_post_init(self, _context: object) -> None:
        codes = [c.code for c in self.classification.categories]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"类别代码重复: {duplicates}")
        if self.classification.fallback not in codes:
            raise ValueError(f"fallback 类别 {self.classification.fallback} 未定义")
        prefixes: dict[str, str] = {}
        for category in self.classification.categories:
            for prefix in category.hs:
                if prefix in prefixes:
                    raise ValueError(
                        f"HS 前缀 {prefix} 同时属于 {prefixes[prefix]} 和 {category.code}"
                    )
                prefixes[prefix] = category.code
        self._prefixes = prefixes
        self._names = {c.code: c.name for c in self.classification.categories}
        self._cache = {}
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        self._digest = hashlib.sha1(text.encode()).hexdigest()
        r = self.receipts
        self._rules = ReceiptRules(
            frozenset(r.released),
            frozenset(r.inspection),
            frozenset(r.returned_abroad),
            (r.detention_from, r.detention_to),
        )

    @property
    def digest(self) -> str:
        """A digest of the whole method (classification, receipt codes, index)."""
        return self._digest

    @property
    def receipt_rules(self) -> ReceiptRules:
        assert self._rules is not None
        return self._rules

    def category_of(self, hs_code: str | None) -> str:
        """The category of an HS code: the longest configured prefix, else the fallback."""
        code = (hs_code or "").strip()
        found = self._cache.get(code)
        if found is None:
            found = self.classification.fallback
            for length in range(min(len(code), 10), 1, -1):
                hit = self._prefixes.get(code[:length])
                if hit is not None:
                    found = hit
                    break
            self._cache[code] = found
        return found

    def category_name(self, code: str) -> str:
        return self._names.get(code, code)


def load_stats_config(path: str | Path | None = None) -> StatsConfig:
    """Read and validate the method file; errors name the file and the entry."""
    file = Path(path) if path else DEFAULT_FILE
    try:
        with file.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigurationError(f"统计配置文件不存在: {file}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"统计配置文件 {file} 不是有效的 TOML: {exc}") from None
    try:
        return StatsConfig.model_validate(data)
    except (ValidationError, ValueError) as exc:
        raise ConfigurationError(f"统计配置文件 {file} 无效:\n{exc}") from None
