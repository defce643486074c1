"""Settings of the risk feature and its reviewed-like-code TOML files.

``[risk]`` in the settings tree (:class:`RiskSettings`) holds the schedule, the lease,
deadlines and graph-propagation bounds, and names four files (empty = the shipped ones
in ``config/risk/``):

* ``rules.toml``  — declarative rules (:class:`Rule`), checked by ``qtrace risk rules check``;
* ``routes.toml`` — the routing tree from a risk to its lead and cooperating units;
* ``units.toml``  — the units directory (editable: 质监/工商/食药监 merged in 2018);
* ``credit.toml`` — the credit grading formula (factors, grade bands, inspection ratios).

Risk levels follow the EU Safety Gate (RAPEX) method: a rule states the *severity* of
the harm (1 轻微 … 4 非常严重) and its *likelihood*; :data:`RISK_MATRIX` maps the pair to
serious / high / medium / low (严重 / 高 / 中 / 低).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alerts.notify.settings import EmailSettings
from traceability.errors import ConfigurationError, InvalidInput

T = TypeVar("T")

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config" / "risk"

LEVELS = ("serious", "high", "medium", "low")
LEVEL_ZH = {"serious": "严重", "high": "高", "medium": "中", "low": "低"}
LEVEL_RANK = {"low": 1, "medium": 2, "high": 3, "serious": 4}
LIKELIHOODS = ("very_likely", "likely", "possible", "unlikely", "rare")
LIKELIHOOD_ZH = {
    "very_likely": "极可能 (>1/10)",
    "likely": "很可能 (>1/100)",
    "possible": "可能 (>1/1000)",
    "unlikely": "不太可能 (>1/10000)",
    "rare": "极少 (≤1/10000)",
}
SEVERITY_ZH = {1: "轻微", 2: "中等", 3: "严重", 4: "非常严重"}

#: likelihood → level by severity 1..4 (a condensed EU Safety Gate risk matrix).
RISK_MATRIX: dict[str, tuple[str, str, str, str]] = {
    "very_likely": ("medium", "serious", "serious", "serious"),
    "likely": ("medium", "high", "serious", "serious"),
    "possible": ("low", "high", "serious", "serious"),
    "unlikely": ("low", "medium", "high", "serious"),
    "rare": ("low", "low", "medium", "high"),
}


def risk_level(severity: int, likelihood: str) -> str:
    """The Safety Gate level of a severity (1–4) and a likelihood."""
    return RISK_MATRIX[likelihood][max(1, min(4, severity)) - 1]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RiskSettings(_Model):
    """The ``[risk]`` section of the settings tree."""

    rules_file: str = ""
    routes_file: str = ""
    units_file: str = ""
    credit_file: str = ""
    # Scheduler intervals (seconds) of ``qtrace worker``.
    collect_seconds: float = Field(300, gt=0)
    assess_seconds: float = Field(600, gt=0)
    warn_seconds: float = Field(300, gt=0)
    review_seconds: float = Field(3600, gt=0)
    misfire_grace_seconds: int = Field(120, ge=1)
    # assess skips a rule whose inputs are unchanged unless time moved this much (seconds).
    assess_recheck_seconds: float = Field(3600, ge=0)
    # The leader lease of ``qtrace worker`` and the per-mechanism run lease.
    lease_seconds: float = Field(30, gt=0)
    run_lease_seconds: float = Field(1800, gt=0)
    # Hours an alert may stay unacknowledged, by level, before it is escalated.
    deadline_hours: dict[str, float] = Field(
        default_factory=lambda: {"serious": 4.0, "high": 24.0, "medium": 72.0, "low": 168.0}
    )
    # Graph propagation of risks at these levels: hops, node cap and decay per hop.
    propagation_levels: list[str] = Field(default_factory=lambda: ["serious", "high"])
    propagation_depth: int = Field(4, ge=1, le=12)
    propagation_max_nodes: int = Field(500, ge=10, le=100_000)
    propagation_decay: float = Field(0.5, gt=0, le=1)
    evidence_limit: int = Field(20, ge=1, le=1000)
    reports_dir: str = ""
    # ``[risk.email]``: alert emails (alerts/notify).
    email: EmailSettings = Field(default_factory=EmailSettings)

    @field_validator("deadline_hours")
    @classmethod
    def _levels(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(LEVELS)
        if unknown:
            raise ValueError(f"未知风险等级: {', '.join(sorted(unknown))}")
        return value

    def path(self, name: str) -> Path:
        given = getattr(self, f"{name}_file")
        return Path(given) if given else CONFIG_DIR / f"{name}.toml"


# -- rules -------------------------------------------------------------------------------

RuleKind = Literal[
    "any",
    "match",
    "frequency",
    "spike",
    "flatline",
    "new_term",
    "cardinality",
    "list",
    "threshold",
]
SIGNAL_KINDS = (
    "finding", "opinion", "epcis", "customs", "order", "notice", "negative", "statistics",
)  # fmt: skip
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(value: str) -> float:
    match = _DURATION.match(value.strip())
    if not match:
        raise ValueError(f'时长应写作 数字+单位(s/m/h/d)，例如 "30d"，收到 {value!r}')
    return float(match[1]) * _UNIT_SECONDS[match[2]]


class Rule(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: RuleKind
    signal: Literal[
        "finding", "opinion", "epcis", "customs", "order", "notice", "negative", "statistics"
    ]
    owner: str
    category: str
    severity: int = Field(ge=1, le=4)
    likelihood: Literal["very_likely", "likely", "possible", "unlikely", "rare"]
    description: str
    action: str
    enabled: bool = True
    # Conditions on the signal's attributes: a value, or a list of accepted values.
    where: dict[str, Any] = Field(default_factory=dict)
    # The attribute that keys a risk (ElastAlert's query_key); "entity" by default.
    key: str = "entity"
    window: str | None = None
    # frequency / flatline: count threshold; spike: minimum current count.
    threshold: float | None = None
    # spike: current window / reference window ratio at or above which it fires.
    ratio: float | None = None
    # new_term / cardinality / threshold / list: the attribute examined.
    field: str | None = None
    # new_term: how far back a term counts as known.
    lookback: str | None = None
    # cardinality: distinct values of ``field`` per key above which it fires.
    max: int | None = None
    # threshold: aggregate of ``field`` per key and the comparison.
    agg: Literal["sum", "max", "min", "avg", "count"] = "max"
    op: Literal[">", ">=", "<", "<="] = ">"
    value: float | None = None
    # list: which list (only the negative list exists today); written ``list = "negative"``.
    list_name: Literal["negative"] = Field("negative", alias="list")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("window", "lookback")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value

    @property
    def window_seconds(self) -> float | None:
        return duration_seconds(self.window) if self.window else None

    def model_post_init(self, context: Any) -> None:
        need: dict[str, tuple[str, ...]] = {
            "match": ("where",),
            "frequency": ("window", "threshold"),
            "spike": ("window", "ratio"),
            "flatline": ("window", "threshold"),
            "new_term": ("field", "lookback"),
            "cardinality": ("window", "field", "max"),
            "list": ("field",),
            "threshold": ("field", "value"),
        }
        missing = [n for n in need.get(self.kind, ()) if getattr(self, n) in (None, "", {})]
        if missing:
            raise ValueError(f"{self.kind} 规则缺少字段: {', '.join(missing)}")

    @property
    def level(self) -> str:
        return risk_level(self.severity, self.likelihood)


def _line_of(text: str, table: str, index: int, key: str | None) -> int:
    """The 1-based line of the ``index``-th ``[[table]]`` (or of ``key`` inside it)."""
    header = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
    any_header = re.compile(r"^\s*\[")
    lines = text.splitlines()
    seen, start = -1, None
    for number, line in enumerate(lines):
        if header.match(line):
            seen += 1
            if seen == index:
                start = number
                break
    if start is None:
        return 1
    if key:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(start + 1, len(lines)):
            if any_header.match(lines[number]):
                break
            if pattern.match(lines[number]):
                return number + 1
    return start + 1


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"文件不存在: {path}") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: 不是有效的 TOML: {exc}") from None


def _invalid(
    path: Path, text: str, table: str, index: int, name: str, exc: ValidationError | ValueError
) -> InvalidInput:
    key = None
    message = str(exc)
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        first = errors[0]
        key = str(first["loc"][0]) if first["loc"] else None
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '规则'}: {e['msg']}" for e in errors
        )
    line = _line_of(text, table, index, key)
    return InvalidInput(f"{path}:{line}: {name}: {message}", line=line, rule=name)


def load_rules(path: Path) -> list[Rule]:
    """Every rule of a rules file; a malformed one is refused naming the rule and line."""
    text, data = _read(path)
    unknown = set(data) - {"rules"}
    if unknown:
        raise InvalidInput(f"{path}: 未知的顶层键: {', '.join(sorted(unknown))}")
    raw = data.get("rules", [])
    if not isinstance(raw, list):
        raise InvalidInput(f"{path}: rules 应写作 [[rules]] 表数组")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        name = str(item.get("id", f"#{index + 1}")) if isinstance(item, dict) else f"#{index}"
        try:
            rule = Rule.model_validate(item)
        except (ValidationError, ValueError) as exc:
            raise _invalid(path, text, "rules", index, f"规则 {name}", exc) from None
        if rule.id in seen:
            line = _line_of(text, "rules", index, "id")
            raise InvalidInput(f"{path}:{line}: 规则 {rule.id}: id 重复", line=line, rule=rule.id)
        seen.add(rule.id)
        rules.append(rule)
    return rules


# -- units and routes ----------------------------------------------------------------------


class Unit(_Model):
    id: str
    name: str
    note: str = ""
    systems: list[str] = Field(default_factory=list)
    # Where the unit's alert emails go, and its duty contacts (值班) for escalations.
    email: list[str] = Field(default_factory=list)
    duty: list[str] = Field(default_factory=list)


class Route(_Model):
    name: str
    match: dict[str, str | list[str]] = Field(default_factory=dict)
    lead: list[str] = Field(default_factory=list)
    cooperate: list[str] = Field(default_factory=list)
    # Alertmanager's ``continue``: keep walking the routes after this one matched.
    cont: bool = Field(False, alias="continue")
    # Email notification of this route (``[risk.email]`` when absent).
    group_by: list[str] | None = None
    send_resolved: bool | None = None
    repeat_interval_seconds: float | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Routing(_Model):
    default_lead: list[str] = Field(default_factory=list)
    default_cooperate: list[str] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    # Escalations also go to the lead unit (``<system>:lead``) of a category's system.
    systems: dict[str, str] = Field(default_factory=dict)


def load_units(path: Path) -> dict[str, Unit]:
    text, data = _read(path)
    units: dict[str, Unit] = {}
    for index, item in enumerate(data.get("units", [])):
        try:
            unit = Unit.model_validate(item)
        except ValidationError as exc:
            raise _invalid(path, text, "units", index, f"单位 #{index + 1}", exc) from None
        units[unit.id] = unit
    return units


def load_routing(path: Path, units: dict[str, Unit]) -> Routing:
    text, data = _read(path)
    try:
        routing = Routing.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"{path}: 路由配置无效: {exc}") from None
    for index, route in enumerate(routing.routes):
        for unit in (*route.lead, *route.cooperate):
            if unit not in units:
                line = _line_of(text, "routes", index, None)
                raise InvalidInput(f"{path}:{line}: 路由 {route.name}: 单位目录中没有 {unit}")
    for unit in (*routing.default_lead, *routing.default_cooperate):
        if unit not in units:
            raise InvalidInput(f"{path}: 默认路由: 单位目录中没有 {unit}")
    return routing


# -- credit ------------------------------------------------------------------------------


class CreditGrade(_Model):
    grade: Literal["A", "B", "C", "D"]
    min_score: float
    inspection_ratio: float = Field(ge=0, le=1)
    zh: str = ""


class CreditConfig(_Model):
    base: float = 100
    # Points deducted per open risk naming the enterprise, by level.
    open_risk: dict[str, float] = Field(
        default_factory=lambda: {"serious": 30.0, "high": 15.0, "medium": 5.0, "low": 1.0}
    )
    # Points deducted per risk resolved in the history window, by level.
    resolved_risk: dict[str, float] = Field(
        default_factory=lambda: {"serious": 8.0, "high": 4.0, "medium": 1.0, "low": 0.0}
    )
    history_days: int = 365
    # Points deducted per alert handled as confirmed (确认属实).
    confirmed_alert: float = 5
    # Points deducted per regulator notice naming it.
    notice: float = 20
    # Largest total deduction from one factor (keeps one noisy rule from grading D alone).
    factor_cap: float = 60
    # On the negative list: the grade is at best this.
    negative_list_grade: Literal["A", "B", "C", "D"] = "D"
    grades: list[CreditGrade] = Field(
        default_factory=lambda: [
            CreditGrade(grade="A", min_score=90, inspection_ratio=0.005),
            CreditGrade(grade="B", min_score=75, inspection_ratio=0.02),
            CreditGrade(grade="C", min_score=60, inspection_ratio=0.1),
            CreditGrade(grade="D", min_score=-1e9, inspection_ratio=0.5),
        ]
    )


def load_credit(path: Path) -> CreditConfig:
    _text, data = _read(path)
    try:
        config = CreditConfig.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"{path}: 信用评级配置无效: {exc}") from None
    config.grades.sort(key=lambda g: -g.min_score)
    return config


def checked(loader: Callable[..., T], *args: Any) -> T:
    """Load a configuration file; a malformed one is a configuration error at run time."""
    try:
        return loader(*args)
    except InvalidInput as exc:
        raise ConfigurationError(str(exc)) from None
