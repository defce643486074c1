"""The statistics service: incremental monthly statistics, revisions, the index, releases.

Tables (all ``stats_``-prefixed, in the embedded SQLite file beside the graph and ledger):

- ``stats_facts``: one row per declared inventory, its month, fact and fingerprint;
- ``stats_monthly``: the figures of each month by dimension and value (measures as JSON);
- ``stats_months``: per month, when computed, its revision number, totals and the
  reconciliation with orders;
- ``stats_revisions``: each change to an already computed month, with its reasons and
  the totals before and after;
- ``stats_releases``: published releases, versioned per month and kept; a revised release
  names the version it replaces.

``compute`` reads fresh facts, compares fingerprints with ``stats_facts`` and re-aggregates
only the months whose facts (or orders) changed: the old and new month of an inventory
whose declaration date was corrected, the month of a cancelled, deleted or returned one,
the month a late document falls into.  Nothing is opened until first use, so building the
service on a fresh data directory costs nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from config import Settings
from traceability.errors import ConfigurationError, InvalidParameter, NotFound, QtraceError
from traceability.stats.aggregate import (
    DIMENSIONS,
    Group,
    aggregate,
    aggregate_into,
    label,
    rates,
)
from traceability.stats.config import (
    MONTH,
    SUB_INDICES,
    StatsConfig,
    StatsSettings,
    load_stats_config,
)
from traceability.stats.facts import (
    PortSource,
    build_fact,
    dec,
    dumps,
    has_table,
    loads,
    read_orders,
    scan,
)
from traceability.stats.index import MonthInputs, compute_index, inputs_from
from traceability.stats.publish import release_content, write_pdf, write_release
from traceability.stats.signals import DDL as SIGNAL_DDL
from traceability.stats.signals import evaluate, read
from traceability.store.embedded import EmbeddedDatabase
from traceability.store.port import GraphStore

_DDL = (
    "CREATE TABLE IF NOT EXISTS stats_facts (cop_no TEXT PRIMARY KEY, month TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL, fact TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS stats_facts_by_month ON stats_facts (month)",
    "CREATE TABLE IF NOT EXISTS stats_monthly (month TEXT NOT NULL, dimension TEXT NOT NULL,"
    " value TEXT NOT NULL, label TEXT NOT NULL, measures TEXT NOT NULL,"
    " PRIMARY KEY (month, dimension, value))",
    "CREATE TABLE IF NOT EXISTS stats_months (month TEXT PRIMARY KEY, computed_at TEXT NOT NULL,"
    " revision INTEGER NOT NULL, totals TEXT NOT NULL, reconciliation TEXT NOT NULL,"
    " orders TEXT NOT NULL, method TEXT NOT NULL, credit TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS stats_revisions (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " month TEXT NOT NULL, revision INTEGER NOT NULL, revised_at TEXT NOT NULL,"
    " reasons TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS stats_revisions_by_month ON stats_revisions (month)",
    "CREATE TABLE IF NOT EXISTS stats_releases (month TEXT NOT NULL, version INTEGER NOT NULL,"
    " published_at TEXT NOT NULL, content_hash TEXT NOT NULL, replaces INTEGER,"
    " revision INTEGER NOT NULL, files TEXT NOT NULL, content TEXT NOT NULL,"
    " PRIMARY KEY (month, version))",
    *SIGNAL_DDL,
)

CHINA = dt.timezone(dt.timedelta(hours=8))
# Version of the derived tables (facts, monthly, months).  They are recomputable: a new
# version drops them and the next compute rebuilds them; revisions and releases are kept.
SCHEMA_VERSION = "2"
DERIVED = ("stats_facts", "stats_monthly", "stats_months")

PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(\d{2}))?|-Q([1-4]))?$")
SAMPLE = 20  # inventory keys kept per revision reason
# Changes after which a month's groups kept in memory are brought up to date by adding the
# new inventories (a daily run of the current month); anything else re-aggregates it.
INCREMENTAL = frozenset({"new", "orders", "credit"})
CACHED_MONTHS = 2  # months whose groups a process keeps (the current and the previous one)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_month(month: str) -> str:
    if not MONTH.match(month or ""):
        raise InvalidParameter(f"月份应为 YYYY-MM，例如 2026-05，收到 {month!r}")
    return month


def months_of(period: str) -> tuple[list[str], str | None]:
    """The months a period covers and, for a day, the day: 2026, 2026-Q2, 2026-05, 2026-05-03."""
    match = PERIOD.match(period or "")
    if not match:
        raise InvalidParameter(f"统计期应为 YYYY、YYYY-Qn、YYYY-MM 或 YYYY-MM-DD，收到 {period!r}")
    year, month, day, quarter = match.groups()
    if day:
        try:
            dt.date.fromisoformat(period)
        except ValueError:
            raise InvalidParameter(f"日期无效: {period!r}") from None
        return [f"{year}-{month}"], period
    if month:
        return [f"{year}-{month}"], None
    if quarter:
        first = 3 * (int(quarter) - 1) + 1
        return [f"{year}-{m:02d}" for m in range(first, first + 3)], None
    return [f"{year}-{m:02d}" for m in range(1, 13)], None


@dataclass
class ComputeReport:
    scanned: int = 0
    changed: int = 0
    months: list[str] = field(default_factory=list)
    revised: dict[str, dict[str, int]] = field(default_factory=dict)
    signals: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            "changed": self.changed,
            "months": self.months,
            "revised": self.revised,
            "signals": self.signals,
            "seconds": round(self.seconds, 3),
        }


# Reasons that always make a revision of a computed month; the others (new documents,
# receipts, findings, orders, method) update a month in place until it is published.
REVISIONS = frozenset(
    {
        "late_document",
        "moved_in",
        "moved_out",
        "correction",
        "cancellation",
        "deletion",
        "return",
        "removed",
    }
)


def _reason(old: dict[str, Any] | None, new: dict[str, Any] | None, published: bool) -> str:
    """Why an inventory's fact changed, in the vocabulary of stats_revisions."""
    if new is None:
        return "removed"
    if old is None:
        return "late_document" if published else "new"
    if new["state"] == "deleted" and old["state"] != "deleted":
        return "deletion"
    if new["state"] == "cancelled" and old["state"] != "cancelled":
        return "cancellation"
    if new["ret"] != old["ret"] or new["retGoods"] != old["retGoods"]:
        return "return"
    if new["month"] != old["month"]:
        return "moved"
    receipt = ("status", "released", "inspected", "detained", "abroad", "hours")
    if any(new[k] != old[k] for k in receipt) and all(
        new[k] == old[k] for k in new if k not in receipt
    ):
        return "receipt"
    if new["findings"] != old["findings"] and all(new[k] == old[k] for k in new if k != "findings"):
        return "findings"
    return "correction" if new["app"] == "2" else "update"


class StatsService:
    def __init__(
        self, settings: Settings, options: StatsSettings, store: GraphStore | None = None
    ) -> None:
        self.settings = settings
        self.options = options
        self.store = store
        self._config: StatsConfig | None = None
        self._database: EmbeddedDatabase | None = None
        self._lock = threading.Lock()
        self._credit: dict[str, dict[str, float]] = {}
        # The groups of the months this process aggregated last (see _rebuild_month).
        self._groups: dict[str, MonthGroups] = {}

    # -- plumbing ------------------------------------------------------------------------

    @property
    def config(self) -> StatsConfig:
        if self._config is None:
            self._config = load_stats_config(self.options.config_file or None)
        return self._config

    @property
    def db(self) -> sqlite3.Connection:
        with self._lock:
            if self._database is None:
                database = EmbeddedDatabase(self.settings.embedded_db_path)
                with database.transaction() as db:
                    _migrate(db)
                    for statement in _DDL:
                        db.execute(statement)
                self._database = database
        return self._database.db

    def _transaction(self) -> Any:
        self.db  # noqa: B018  (opens and creates the tables)
        assert self._database is not None
        return self._database.transaction()

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None

    @staticmethod
    def today() -> dt.date:
        """Today in China (monitoring signals wait until a month has settled)."""
        return dt.datetime.now(CHINA).date()

    def _port(self) -> PortSource | None:
        """None when the graph is in the embedded file (read by SQL), else the port reader."""
        if self.settings.graph_location.engine == "sqlite":
            return None
        if self.store is None:
            raise ConfigurationError("统计监测需要图库：未提供图库服务")
        return PortSource(self.store)

    def _graph_ready(self) -> bool:
        return self._port() is not None or has_table(self.db, "nodes")

    def _names(self) -> dict[str, str]:
        port = self._port()
        if port is not None:
            return port.names()
        return self._enterprise_names(self.db) if has_table(self.db, "nodes") else {}

    # -- compute -------------------------------------------------------------------------

    def compute(self, month: str | None = None) -> ComputeReport:
        """Bring the monthly tables up to date (all months, or one) and record revisions."""
        started = dt.datetime.now()
        if month:
            check_month(month)
        report = ComputeReport()
        if not self._graph_ready():
            return report
        config, db = self.config, self.db
        port = self._port()
        scanned = port.scan(db, config, month) if port else scan(db, config, month)
        report.scanned = len(scanned)
        if month:
            stored_rows = db.execute(
                "SELECT cop_no, month, fingerprint FROM stats_facts WHERE month = ?"
                " OR cop_no IN (SELECT value FROM json_each(?))",
                (month, dumps(list(scanned))),
            ).fetchall()
        else:
            stored_rows = db.execute(
                "SELECT cop_no, month, fingerprint FROM stats_facts"
            ).fetchall()
        stored = {row[0]: row for row in stored_rows}
        computed = {
            r[0]: r
            for r in db.execute("SELECT month, revision, orders, method, credit FROM stats_months")
        }
        published = {r[0] for r in db.execute("SELECT DISTINCT month FROM stats_releases")}
        dirty: set[str] = set()
        reasons: dict[str, Counter[str]] = defaultdict(Counter)
        samples: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        upserts: list[tuple[str, str, str, str]] = []
        deletes: list[str] = []
        added: dict[str, list[dict[str, Any]]] = defaultdict(list)  # new inventories by month
        for cop in sorted(set(scanned) | set(stored)):
            row = stored.get(cop)
            found = scanned.get(cop)
            if row is not None and found is not None and row[2] == found[0]:
                continue
            if found is None and month and row is not None and row[1] != month:
                continue  # outside the month asked for
            new = build_fact(config, found[1], found[2]) if found is not None else None
            old = None
            if row is not None:
                old = loads(db.execute(
                    "SELECT fact FROM stats_facts WHERE cop_no = ?", (cop,)
                ).fetchone()[0])  # fmt: skip
            if new is None and old is None:
                continue  # a stub: known from a receipt only, so far
            if new is not None and old is not None and new == old:
                upserts.append((cop, new["month"], found[0] if found else "", dumps(new)))
                continue  # an input changed that the fact does not use
            touched = {f["month"] for f in (old, new) if f is not None}
            for m in touched:
                why = _reason(old, new, m in published)
                if why == "moved":
                    why = "moved_out" if old is not None and m == old["month"] else "moved_in"
                reasons[m][why] += 1
                if len(samples[m][why]) < SAMPLE:
                    samples[m][why].append(cop)
            dirty |= touched
            report.changed += 1
            if old is None and new is not None:
                added[new["month"]].append(new)
            if new is None:
                deletes.append(cop)
            else:
                upserts.append((cop, new["month"], found[0] if found else "", dumps(new)))
        orders = port.read_orders(month) if port else read_orders(db, month)
        scope = {month} if month else set(orders) | set(computed)
        for m in scope:
            summary = dumps(_orders_json(orders.get(m)))
            if m not in computed or computed[m][2] != summary:
                if m in computed:
                    reasons[m]["orders"] += 1
                dirty.add(m)
        for m in {month} if month else set(computed):
            if m in computed and computed[m][3] != config.digest:
                reasons[m]["method"] += 1
                dirty.add(m)
        self._credit = {}
        for m in ({month} if month else set(computed)) | dirty:
            self._credit[m] = credit_snapshot(db, m)
            if m in computed and computed[m][4] != dumps(self._credit[m]):
                reasons[m]["credit"] += 1
                dirty.add(m)
        with self._transaction() as tx:
            tx.executemany(
                "INSERT INTO stats_facts VALUES (?,?,?,?) ON CONFLICT (cop_no) DO UPDATE SET"
                " month = excluded.month, fingerprint = excluded.fingerprint,"
                " fact = excluded.fact",
                upserts,
            )
            tx.executemany("DELETE FROM stats_facts WHERE cop_no = ?", [(c,) for c in deletes])
            for m in sorted(dirty):
                revise = m in computed and (
                    bool(set(reasons[m]) & REVISIONS) or (m in published and bool(reasons[m]))
                )
                self._rebuild_month(
                    tx,
                    m,
                    orders.get(m),
                    computed.get(m),
                    reasons[m],
                    samples[m],
                    revise,
                    added.get(m, []),
                )
                if revise:
                    report.revised[m] = dict(sorted(reasons[m].items()))
            every = [r[0] for r in tx.execute("SELECT month FROM stats_months")]
            report.signals = evaluate(tx, every, self.options.signals, self.today(), now())
        report.months = sorted(dirty)
        report.seconds = (dt.datetime.now() - started).total_seconds()
        return report

    def _rebuild_month(
        self,
        tx: sqlite3.Connection,
        month: str,
        orders: dict[str, Any] | None,
        known: tuple[Any, ...] | None,
        reasons: Counter[str],
        samples: dict[str, list[str]],
        revise: bool,
        added: list[dict[str, Any]],
    ) -> None:
        cached = self._groups.pop(month, None)
        generation = tx.execute(
            "SELECT value FROM stats_meta WHERE name = ?", (f"generation:{month}",)
        ).fetchone()
        if (
            cached is not None
            and known is not None
            and not revise
            and set(reasons) <= INCREMENTAL
            and len(added) == reasons["new"]
            and generation is not None
            and generation[0] == cached.generation
            and cached.digest == self.config.digest
        ):
            # Only new inventories since this process last aggregated the month: add them
            # to its groups instead of reading and aggregating the whole month again.
            groups = aggregate_into(self.config, cached.groups, added)
            summary = cached.summary
            summary.add(added)
        else:
            facts = [
                loads(r[0])
                for r in tx.execute(
                    "SELECT fact FROM stats_facts WHERE month = ? ORDER BY cop_no", (month,)
                )
            ]
            groups = aggregate(self.config, facts)
            summary = FactSummary()
            summary.add(facts)
        token = uuid.uuid4().hex
        tx.execute(
            "INSERT INTO stats_meta VALUES (?, ?) ON CONFLICT (name) DO UPDATE"
            " SET value = excluded.value",
            (f"generation:{month}", token),
        )
        self._groups[month] = MonthGroups(token, self.config.digest, groups, summary)
        while len(self._groups) > CACHED_MONTHS:
            self._groups.pop(next(iter(self._groups)))
        names = self._names()
        tx.execute("DELETE FROM stats_monthly WHERE month = ?", (month,))
        rows = []
        for dimension, values in groups.items():
            for value, group in sorted(values.items()):
                rows.append(
                    (
                        month,
                        dimension,
                        value,
                        label(self.config, dimension, value, names),
                        json.dumps(group.measures(), ensure_ascii=False, sort_keys=True),
                    )
                )
        totals = groups["total"]["all"].measures() if "all" in groups["total"] else {}
        if not totals:
            totals = Group().measures()
            rows.append((month, "total", "all", "合计", json.dumps(totals, sort_keys=True)))
        scores = self._credit.get(month) or {}
        totals.update(credit_score(groups["platform"], scores))
        rows = [
            (m, d, v, n, json.dumps(totals, sort_keys=True)) if d == "total" else (m, d, v, n, j)
            for m, d, v, n, j in rows
        ]
        tx.executemany("INSERT INTO stats_monthly VALUES (?,?,?,?,?)", rows)
        reconciliation = _reconcile(orders, summary)
        orders_json = dumps(_orders_json(orders))
        totals_json = json.dumps(totals, sort_keys=True)
        recon_json = json.dumps(reconciliation, sort_keys=True)
        method = self.config.digest
        credit = dumps(scores)
        if known is None:
            tx.execute(
                "INSERT INTO stats_months VALUES (?,?,?,?,?,?,?,?)",
                (month, now(), 0, totals_json, recon_json, orders_json, method, credit),
            )
            return
        if not revise:
            tx.execute(
                "UPDATE stats_months SET computed_at = ?, totals = ?, reconciliation = ?,"
                " orders = ?, method = ?, credit = ? WHERE month = ?",
                (now(), totals_json, recon_json, orders_json, method, credit, month),
            )
            return
        before = tx.execute(
            "SELECT totals, reconciliation FROM stats_months WHERE month = ?", (month,)
        ).fetchone()
        revision = int(known[1]) + 1
        tx.execute(
            "UPDATE stats_months SET computed_at = ?, revision = ?, totals = ?,"
            " reconciliation = ?, orders = ?, method = ?, credit = ? WHERE month = ?",
            (now(), revision, totals_json, recon_json, orders_json, method, credit, month),
        )
        tx.execute(
            "INSERT INTO stats_revisions (month, revision, revised_at, reasons, before, after)"
            " VALUES (?,?,?,?,?,?)",
            (
                month,
                revision,
                now(),
                json.dumps(
                    {
                        "counts": dict(sorted(reasons.items())),
                        "samples": {k: v for k, v in sorted(samples.items())},
                    },
                    ensure_ascii=False,
                ),
                json.dumps(
                    {"totals": json.loads(before[0]), "reconciliation": json.loads(before[1])},
                    sort_keys=True,
                ),
                json.dumps({"totals": totals, "reconciliation": reconciliation}, sort_keys=True),
            ),
        )

    @staticmethod
    def _enterprise_names(db: sqlite3.Connection) -> dict[str, str]:
        rows = db.execute(
            "SELECT key, props ->> '$.name' FROM nodes WHERE label = 'Enterprise'"
            " AND props ->> '$.name' IS NOT NULL"
        )
        return dict(rows.fetchall())

    # -- reading -------------------------------------------------------------------------

    def months(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT month, computed_at, revision, totals FROM stats_months ORDER BY month"
        )
        return [
            {"month": m, "computed_at": at, "revision": rev, "totals": json.loads(totals)}
            for m, at, rev, totals in rows
        ]

    def _month_row(self, month: str) -> tuple[Any, ...]:
        row = self.db.execute(
            "SELECT computed_at, revision, totals, reconciliation FROM stats_months"
            " WHERE month = ?",
            (check_month(month),),
        ).fetchone()
        if row is None:
            raise NotFound(f"{month} 尚无统计；先运行 qtrace stats compute --month {month}")
        return tuple(row)

    def rows(self, month: str, dimension: str) -> list[dict[str, Any]]:
        if dimension not in DIMENSIONS:
            raise InvalidParameter(f"维度应为 {'、'.join(DIMENSIONS)} 之一，收到 {dimension!r}")
        self._month_row(month)
        result = []
        for value, name, measures in self.db.execute(
            "SELECT value, label, measures FROM stats_monthly WHERE month = ? AND dimension = ?"
            " ORDER BY value",
            (month, dimension),
        ):
            data = json.loads(measures)
            result.append({"value": value, "label": name, **data, **rates(data)})
        if dimension not in ("total", "day"):
            result.sort(key=lambda r: (-dec(r["goods_value"]), r["value"]))
        return result

    def show(self, month: str, dimension: str = "total") -> dict[str, Any]:
        computed_at, revision, totals, reconciliation = self._month_row(month)
        totals = json.loads(totals)
        return {
            "period": month,
            "computed_at": computed_at,
            "revision": revision,
            "dimension": dimension,
            "dimension_label": DIMENSIONS[dimension][0] if dimension in DIMENSIONS else "",
            "totals": {**totals, **rates(totals)},
            "reconciliation": json.loads(reconciliation),
            "rows": self.rows(month, dimension),
        }

    def show_period(self, period: str, dimension: str = "total") -> dict[str, Any]:
        """Any period: a stored month directly, a day/quarter/year from the stored facts."""
        months, day = months_of(period)
        if len(months) == 1 and day is None:
            return self.show(months[0], dimension)
        if dimension not in DIMENSIONS:
            raise InvalidParameter(f"维度应为 {'、'.join(DIMENSIONS)} 之一，收到 {dimension!r}")
        facts = [
            json.loads(r[0])
            for r in self.db.execute(
                "SELECT fact FROM stats_facts WHERE month IN (SELECT value FROM json_each(?))",
                (json.dumps(months),),
            )
        ]
        if day:
            facts = [f for f in facts if f["day"] == day]
        groups = aggregate(self.config, facts)
        names = self._names()
        totals = groups["total"]["all"].measures() if "all" in groups["total"] else {}
        rows = [
            {
                "value": v,
                "label": label(self.config, dimension, v, names),
                **g.measures(),
                **rates(g.measures()),
            }
            for v, g in sorted(groups[dimension].items())
        ]
        if dimension not in ("total", "day"):
            rows.sort(key=lambda r: (-dec(r["goods_value"]), r["value"]))
        return {
            "period": period,
            "computed_at": None,
            "revision": None,
            "dimension": dimension,
            "dimension_label": DIMENSIONS[dimension][0],
            "totals": {**totals, **rates(totals)},
            "reconciliation": None,
            "rows": rows,
        }

    def revisions(self, month: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, month, revision, revised_at, reasons, before, after FROM stats_revisions"
        params: tuple[str, ...] = ()
        if month:
            sql += " WHERE month = ?"
            params = (check_month(month),)
        return [
            {
                "id": i,
                "month": m,
                "revision": rev,
                "revised_at": at,
                "reasons": json.loads(reasons),
                "before": json.loads(before),
                "after": json.loads(after),
            }
            for i, m, rev, at, reasons, before, after in self.db.execute(
                sql + " ORDER BY id", params
            )
        ]

    def signals(self, month: str | None = None, after: int = 0) -> list[dict[str, Any]]:
        """Monitoring signals (``stats_signals``), in the order they changed."""
        return read(self.db, check_month(month) if month else None, after)

    # -- index ---------------------------------------------------------------------------

    def _series(self) -> dict[str, MonthInputs]:
        categories: dict[str, dict[str, float]] = defaultdict(dict)
        for month, value, measures in self.db.execute(
            "SELECT month, value, measures FROM stats_monthly WHERE dimension = 'category'"
        ):
            categories[month][value] = float(json.loads(measures)["released_value"])
        return {
            m["month"]: inputs_from(m["totals"], categories.get(m["month"], {}))
            for m in self.months()
        }

    def base_month(self, series: dict[str, MonthInputs] | None = None) -> str:
        series = self._series() if series is None else series
        configured = self.config.index.base_month
        if configured:
            if configured not in series:
                raise NotFound(f"基期 {configured} 尚无统计；先计算该月")
            return configured
        with_value = [m for m, inputs in sorted(series.items()) if inputs.value > 0]
        if not with_value:
            raise NotFound("尚无可作基期的月份（没有放行清单的统计）")
        return with_value[0]

    def weights(self, overrides: dict[str, float] | None = None) -> dict[str, float]:
        weights = dict(self.config.index.weights)
        for name, value in (overrides or {}).items():
            if name not in SUB_INDICES:
                raise InvalidParameter(f"未知分项指数 {name}；可用: {', '.join(SUB_INDICES)}")
            if value < 0:
                raise InvalidParameter(f"权重不能为负: {name}={value}")
            weights[name] = float(value)
        return weights

    def index(
        self, month: str, weights: dict[str, float] | None = None, base_month: str | None = None
    ) -> dict[str, Any]:
        """The composite index of a month, recomputed from the stored statistics."""
        self._month_row(month)
        series = self._series()
        base = base_month or self.base_month(series)
        if base not in series:
            raise NotFound(f"基期 {base} 尚无统计")
        return compute_index(month, base, series, self.weights(weights))

    # -- releases ------------------------------------------------------------------------

    def releases(self, month: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT month, version, published_at, content_hash, replaces, revision, files"
        sql += " FROM stats_releases"
        params: tuple[str, ...] = ()
        if month:
            sql += " WHERE month = ?"
            params = (check_month(month),)
        return [
            {
                "month": m,
                "version": v,
                "published_at": at,
                "content_hash": h,
                "replaces": r,
                "revision": rev,
                "files": json.loads(files),
            }
            for m, v, at, h, r, rev, files in self.db.execute(
                sql + " ORDER BY month, version", params
            )
        ]

    def release(self, month: str, version: int | None = None) -> dict[str, Any]:
        sql = "SELECT content FROM stats_releases WHERE month = ?"
        params: tuple[Any, ...] = (check_month(month),)
        if version is not None:
            sql += " AND version = ?"
            params += (version,)
        row = self.db.execute(sql + " ORDER BY version DESC LIMIT 1", params).fetchone()
        if row is None:
            raise NotFound(f"{month} 尚未发布" + (f" 第 {version} 版" if version else ""))
        content: dict[str, Any] = json.loads(row[0])
        return content

    def published(self) -> list[dict[str, Any]]:
        """The latest published version of every month, with its composite index."""
        rows = self.db.execute(
            "SELECT month, version, published_at, content ->> '$.index.composite',"
            " content ->> '$.index.base_month' FROM stats_releases r WHERE version ="
            " (SELECT max(version) FROM stats_releases WHERE month = r.month) ORDER BY month"
        )
        return [
            {"month": m, "version": v, "published_at": at, "composite": c, "base_month": b}
            for m, v, at, c, b in rows
        ]

    def negative_list(self) -> list[dict[str, Any]]:
        """The active entries of the risk feature's negative list (its table in the embedded
        file), with the enterprise's name; empty when the risk feature has no table."""
        if not has_table(self.db, "risk_negative_list"):
            return []
        try:
            names = self._names()
        except QtraceError:  # the graph is down: the list is shown without names
            names = {}
        rows = self.db.execute(
            "SELECT entity, reason, added_at FROM risk_negative_list WHERE removed_at IS NULL"
            " ORDER BY added_at, entity"
        )
        result = []
        for entity, reason, added_at in rows:
            label, _, key = str(entity).partition(":")
            result.append(
                {
                    "entity": entity,
                    "kind": label,
                    "key": key,
                    "name": names.get(key, ""),
                    "reason": reason,
                    "listed_on": str(added_at)[:10],
                }
            )
        return result

    def publish(
        self, month: str, out: Path, pdf: bool | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Publish a month: a new version when its figures or method changed, else the latest.

        ``pdf`` (default ``[statistics] publish_pdf``) also prints the release to PDF; asked
        for on an unchanged release that has none, it is added to that release's files.
        Returns the release record and whether it is new.
        """
        want_pdf = self.options.publish_pdf if pdf is None else pdf
        browser, timeout = self.options.pdf_browser, self.options.pdf_timeout_seconds
        content = release_content(self, month)
        digest = content["content_hash"]
        latest = self.db.execute(
            "SELECT version, content_hash FROM stats_releases WHERE month = ?"
            " ORDER BY version DESC LIMIT 1",
            (month,),
        ).fetchone()
        if latest is not None and latest[1] == digest:
            record = next(r for r in self.releases(month) if r["version"] == latest[0])
            existing = [Path(p) for p in record["files"]]
            stored = self.release(month, latest[0])
            if not all(p.exists() for p in existing):
                existing = write_release(
                    stored, out, pdf=want_pdf, browser=browser, timeout=timeout
                )
            elif want_pdf and not any(p.suffix == ".pdf" for p in existing):
                existing.append(write_pdf(stored, out, browser, timeout))
            else:
                return record, False
            names = sorted({str(p) for p in existing} | set(record["files"]))
            with self._transaction() as tx:
                tx.execute(
                    "UPDATE stats_releases SET files = ? WHERE month = ? AND version = ?",
                    (json.dumps(names), month, latest[0]),
                )
            return {**record, "files": names}, False
        version = 1 if latest is None else latest[0] + 1
        content["version"] = version
        content["replaces"] = None if latest is None else latest[0]
        content["published_at"] = now()
        files = write_release(content, out, pdf=want_pdf, browser=browser, timeout=timeout)
        with self._transaction() as tx:
            tx.execute(
                "INSERT INTO stats_releases VALUES (?,?,?,?,?,?,?,?)",
                (
                    month,
                    version,
                    content["published_at"],
                    digest,
                    content["replaces"],
                    content["revision"],
                    json.dumps([str(f) for f in files]),
                    json.dumps(content, ensure_ascii=False, sort_keys=True),
                ),
            )
        record = next(r for r in self.releases(month) if r["version"] == version)
        return record, True


def _orders_json(orders: dict[str, Any] | None) -> dict[str, Any]:
    orders = orders or {"orders": 0, "declared": 0, "goods": Decimal(0), "paid": Decimal(0)}
    return {
        "orders": orders["orders"],
        "declared": orders["declared"],
        "goods": str(Decimal(orders["goods"]).quantize(Decimal("0.01"))),
        "paid": str(Decimal(orders["paid"]).quantize(Decimal("0.01"))),
    }


@dataclass
class FactSummary:
    """What the reconciliation needs from a month's facts, kept as running sums."""

    valid: int = 0
    without_order: int = 0
    goods: Decimal = Decimal(0)

    def add(self, facts: list[dict[str, Any]]) -> None:
        for fact in facts:
            if fact["state"] == "valid":
                self.valid += 1
                self.without_order += 0 if fact["hasOrder"] else 1
                self.goods += dec(fact["goods"])


@dataclass
class MonthGroups:
    """A month's groups as this process last wrote them; ``generation`` is the token stored
    with them in ``stats_meta``, so that a month rebuilt by another process is not reused."""

    generation: str
    digest: str
    groups: dict[str, dict[str, Group]]
    summary: FactSummary


def _reconcile(orders: dict[str, Any] | None, facts: FactSummary) -> dict[str, Any]:
    """Orders placed in the month against inventories declared in it (the differences)."""
    o = _orders_json(orders)
    fen = Decimal("0.01")
    return {
        "orders": o["orders"],
        "orders_value": o["goods"],
        "orders_paid": o["paid"],
        "orders_declared": o["declared"],
        "orders_undeclared": o["orders"] - o["declared"],
        "inventories": facts.valid,
        "inventories_without_order": facts.without_order,
        "inventories_value": str(facts.goods.quantize(fen)),
        "count_difference": o["orders"] - facts.valid,
        "value_difference": str((dec(o["goods"]) - facts.goods).quantize(fen)),
    }


def credit_snapshot(db: sqlite3.Connection, month: str) -> dict[str, float]:
    """Each graded enterprise's latest credit score as of the end of ``month`` (China time),
    from the risk feature's ``risk_credit_grades`` table when it exists."""
    if not has_table(db, "risk_credit_grades"):
        return {}
    year, mon = int(month[:4]), int(month[5:7])
    first = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=CHINA)
    cut = first.astimezone(dt.UTC).isoformat()
    rows = db.execute(
        "SELECT enterprise, score FROM risk_credit_grades WHERE id IN (SELECT max(id)"
        " FROM risk_credit_grades WHERE graded_at < ? GROUP BY enterprise)",
        (cut,),
    )
    return {enterprise: float(score) for enterprise, score in rows}


def credit_score(platforms: dict[str, Group], scores: dict[str, float]) -> dict[str, Any]:
    """Released value-weighted mean credit score of the month's platforms (graded ones)."""
    weighted = covered = total = 0.0
    for code, group in platforms.items():
        value = float(group.released_value)
        total += value
        if code in scores and value > 0:
            weighted += value * scores[code]
            covered += value
    return {
        "credit_score": round(weighted / covered, 6) if covered else None,
        "credit_coverage": round(covered / total, 6) if total else None,
    }


def _migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS stats_meta (name TEXT PRIMARY KEY, value TEXT)")
    row = db.execute("SELECT value FROM stats_meta WHERE name = 'schema'").fetchone()
    if row is not None and row[0] == SCHEMA_VERSION:
        return
    for table in DERIVED:
        db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(
        "INSERT INTO stats_meta VALUES ('schema', ?) ON CONFLICT (name) DO UPDATE"
        " SET value = excluded.value",
        (SCHEMA_VERSION,),
    )
