"""The risk service: the four mechanisms (collect, assess, warn, review), each recorded.

``run(mechanism)`` takes the mechanism's run lease (so a manual run and the worker never
run the same mechanism at once), records a ``risk_runs`` row with its window, counts,
duration and errors, and is idempotent: signals are deduplicated, risks are upserted by
fingerprint (rule + key), alerts are unique per (risk, level), escalations per (alert,
step).  Repeating a run that crashed part-way therefore counts nothing twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import logging
import os
import socket
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from html import escape
from pathlib import Path
from typing import Any

import orjson

from alerts.collect import Collector
from alerts.config import (
    LEVEL_RANK,
    LEVEL_ZH,
    LEVELS,
    CreditConfig,
    RiskSettings,
    Routing,
    Rule,
    Unit,
    checked,
    load_credit,
    load_routing,
    load_rules,
    load_units,
)
from alerts.db import RiskDB, dumps, iso, now_utc, parse_time
from alerts.notify import outbox
from alerts.notify.notifier import Notifier
from alerts.propagate import propagate
from alerts.rules import Hit, SignalRow, evaluate, span_seconds
from traceability.errors import Conflict, InvalidInput, NotFound
from traceability.store.port import GraphStore

log = logging.getLogger(__name__)

MECHANISMS = ("collect", "assess", "warn", "review")
ALERT_OPEN = ("open", "acknowledged")
OUTCOMES = ("confirmed", "false_positive")
#: A signal row as read: id, time, entity, entities (JSON text), attributes.
_Raw = tuple[int, str, str | None, str, dict[str, Any]]
#: Rule kinds whose result for a key depends on that key's signals only (see _may_increment).
INCREMENTAL_KINDS = frozenset(
    {"any", "match", "frequency", "threshold", "new_term", "cardinality", "list"}
)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Reading many signals allocates many containers and no cycles: the cyclic collector
    would only walk them again and again (it doubled an incremental assess)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def fingerprint(rule: str, key: str) -> str:
    return hashlib.sha1(f"{rule}\x1f{key}".encode()).hexdigest()[:20]


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _risk_json(row: Any) -> dict[str, Any]:
    return {
        "fingerprint": row["fingerprint"],
        "rule": row["rule"],
        "key": row["key"],
        "level": row["level"],
        "level_zh": LEVEL_ZH[row["level"]],
        "category": row["category"],
        "owner": row["owner"],
        "severity": row["severity"],
        "likelihood": row["likelihood"],
        "entities": json.loads(row["entities"]),
        "evidence": json.loads(row["evidence"]),
        "explanation": row["explanation"],
        "metrics": json.loads(row["metrics"]),
        "status": row["status"],
        "status_reason": row["status_reason"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "changed_at": row["changed_at"],
        "resolved_at": row["resolved_at"],
    }


class RiskService:
    def __init__(
        self,
        settings: RiskSettings,
        db_path: Path,
        store: GraphStore,
        data_dir: Path,
        opinions: Any = None,
    ) -> None:
        self.settings = settings
        self.rdb = RiskDB(db_path)
        self.store = store
        self.data_dir = data_dir
        self.opinions = opinions
        self.collector = Collector(self.rdb, store)
        self.notifier = Notifier(self)

    # -- configuration (read at run time, so edits apply without a restart) ----------------

    def rules(self) -> list[Rule]:
        return checked(load_rules, self.settings.path("rules"))

    def units(self) -> dict[str, Unit]:
        return checked(load_units, self.settings.path("units"))

    def routing(self) -> Routing:
        return checked(load_routing, self.settings.path("routes"), self.units())

    def credit_config(self) -> CreditConfig:
        return checked(load_credit, self.settings.path("credit"))

    # -- runs ----------------------------------------------------------------------------

    def run(
        self,
        mechanism: str,
        *,
        holder: str | None = None,
        as_of: dt.datetime | None = None,
        full: bool = False,
    ) -> list[dict[str, Any]]:
        """Run one mechanism (or ``all`` in order); each is recorded in ``risk_runs``.

        ``full`` makes assess evaluate every rule, even those whose inputs did not change.
        """
        if mechanism == "all":
            return [self.run(m, holder=holder, as_of=as_of, full=full)[0] for m in MECHANISMS]
        if mechanism not in MECHANISMS:
            raise InvalidInput(f"机制应为 {'、'.join(MECHANISMS)} 或 all，收到 {mechanism!r}")
        holder = holder or default_holder()
        lease = f"run:{mechanism}"
        if not self.rdb.acquire(lease, holder, self.settings.run_lease_seconds):
            other = self.rdb.lease(lease) or {}
            raise Conflict(f"{mechanism} 正由 {other.get('holder', '另一进程')} 运行，请稍后再试")
        try:
            return [self._recorded(mechanism, holder, as_of, full)]
        finally:
            self.rdb.release(lease, holder)

    def _recorded(
        self, mechanism: str, holder: str, as_of: dt.datetime | None, full: bool = False
    ) -> dict[str, Any]:
        started = now_utc()
        clock = time.perf_counter()
        with self.rdb.transaction() as conn:
            # Runs left "running" by a crashed process (their lease is gone now).
            conn.execute(
                "UPDATE risk_runs SET status = 'abandoned' WHERE mechanism = ?"
                " AND status = 'running'",
                (mechanism,),
            )
            run_id = conn.execute(
                "INSERT INTO risk_runs (mechanism, status, holder, started) VALUES (?,?,?,?)",
                (mechanism, "running", holder, iso(started)),
            ).lastrowid
        errors: list[dict[str, Any]] = []
        counts: dict[str, Any] = {}
        window: tuple[str | None, str | None] = (None, iso(as_of or started))
        status = "ok"
        try:
            if mechanism == "collect":
                before = self.rdb.db.execute("SELECT count(*) FROM risk_signals").fetchone()[0]
                counts = self.collector.run(errors)
                counts["total_signals"] = self.rdb.db.execute(
                    "SELECT count(*) FROM risk_signals"
                ).fetchone()[0]
                counts["new_signals"] = counts["total_signals"] - before
            elif mechanism == "assess":
                counts, window = self.assess(as_of, errors, full)
            elif mechanism == "warn":
                counts = self.warn()
            else:
                counts = self.review(as_of)
        except Exception as exc:
            log.exception("risk %s failed", mechanism)
            errors.append({"error": f"{type(exc).__name__}: {exc}"})
            status = "error"
        if status == "ok" and errors:
            status = "partial"
        duration = int((time.perf_counter() - clock) * 1000)
        with self.rdb.transaction() as conn:
            conn.execute(
                "UPDATE risk_runs SET status = ?, finished = ?, duration_ms = ?,"
                " window_from = ?, window_to = ?, counts = ?, errors = ? WHERE id = ?",
                (
                    status,
                    iso(now_utc()),
                    duration,
                    window[0],
                    window[1],
                    dumps(counts),
                    dumps(errors),
                    run_id,
                ),
            )
        return self.run_record(int(run_id))  # type: ignore[arg-type]

    def run_record(self, run_id: int) -> dict[str, Any]:
        row = self.rdb.db.execute("SELECT * FROM risk_runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFound(f"没有运行记录 {run_id}")
        return self._run_json(row)

    @staticmethod
    def _run_json(row: Any) -> dict[str, Any]:
        item = dict(row)
        item["counts"] = json.loads(item["counts"])
        item["errors"] = json.loads(item["errors"])
        return item

    def runs(self, mechanism: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM risk_runs", []
        if mechanism:
            sql += " WHERE mechanism = ?"
            params.append(mechanism)
        sql += " ORDER BY id DESC LIMIT ?"
        rows = self.rdb.db.execute(sql, (*params, limit)).fetchall()
        return [self._run_json(r) for r in rows]

    # -- assess --------------------------------------------------------------------------

    def _rows(self, kind: str, span: float | None, now: dt.datetime) -> list[_Raw]:
        """The signals of ``kind`` in ``span`` before ``now``, attributes parsed, the rest not."""
        sql = "SELECT id, time, entity, entities, attrs FROM risk_signals WHERE kind = ?"
        params: list[Any] = [kind]
        if span:
            sql += " AND time > ?"
            params.append(iso(now - dt.timedelta(seconds=span)))
        sql += " AND time <= ? ORDER BY time, id"
        params.append(iso(now))
        loads = orjson.loads
        with _no_gc():
            return [(r[0], r[1], r[2], r[3], loads(r[4])) for r in self.rdb.db.execute(sql, params)]

    @staticmethod
    def _signal_rows(rows: Iterable[_Raw], now: dt.datetime) -> list[SignalRow]:
        loads = orjson.loads
        with _no_gc():
            return [SignalRow(r[0], parse_time(r[1]) or now, r[2], loads(r[3]), r[4]) for r in rows]

    def negative_set(self) -> frozenset[str]:
        rows = self.rdb.db.execute(
            "SELECT entity FROM risk_negative_list WHERE removed_at IS NULL"
        ).fetchall()
        return frozenset(r[0] for r in rows)

    def _inputs(self, kind: str) -> str:
        """What a rule's result depends on besides time: its signals (new or updated)."""
        row = self.rdb.db.execute(
            "SELECT count(*), max(id), max(collected_at) FROM risk_signals WHERE kind = ?",
            (kind,),
        ).fetchone()
        return dumps(list(row))

    def assess(
        self, as_of: dt.datetime | None, errors: list[dict[str, Any]], full: bool = False
    ) -> tuple[dict[str, Any], tuple[str | None, str | None]]:
        """Evaluate the rules at ``as_of`` (default now).

        Incremental unless ``full``: a rule is skipped when its definition, its inputs (the
        signals of its kind; the negative list for list rules) and the evaluation time
        (within ``assess_recheck_seconds``) are all as at its last successful evaluation;
        when only its inputs changed, a rule of a kind in ``INCREMENTAL_KINDS`` evaluates just
        the keys the new or updated signals name (see ``_may_increment``).  The signals of a
        kind are read once, over the widest span its rules need.
        """
        now = as_of or now_utc()
        stamp = iso(now_utc())
        rules = self.rules()
        negative = self.negative_set()
        counts: Counter[str] = Counter()
        per_rule: dict[str, int] = {}
        widest = 0.0
        # Signals are read once per kind, over the widest span its rules need.
        spans: dict[str, float | None] = {}
        for rule in rules:
            if rule.enabled:
                span = span_seconds(rule)
                known = spans.get(rule.signal, 0.0)
                spans[rule.signal] = None if span is None or known is None else max(known, span)
        raw: dict[str, list[_Raw]] = {}
        loaded: dict[str, list[SignalRow]] = {}
        inputs: dict[str, str] = {}
        listed = dumps(sorted(negative))
        for rule in rules:
            if not rule.enabled:
                continue
            try:
                if rule.signal not in inputs:
                    inputs[rule.signal] = self._inputs(rule.signal)
                state = {
                    "rule": rule.model_dump(by_alias=True),
                    "inputs": inputs[rule.signal],
                    "negative": listed if rule.kind == "list" else None,
                }
                before = json.loads(self.rdb.watermark(f"assess:input:{rule.id}", "{}"))
                moved = abs(now.timestamp() - before.get("as_of", -1e18))
                recheck = self.settings.assess_recheck_seconds
                if not full and before.get("state") == json.loads(dumps(state)) and moved < recheck:
                    counts["skipped_rules"] += 1
                    continue
                if rule.signal not in raw:
                    raw[rule.signal] = self._rows(rule.signal, spans[rule.signal], now)
                subset = None
                full_as_of = now.timestamp()
                if not full and self._may_increment(rule, before, state, now, recheck):
                    previous = json.loads(before["state"]["inputs"])
                    subset = self._touched(rule, previous, now, raw[rule.signal])
                hits = []
                if subset is not None:
                    # Only the keys new signals touched can change: evaluate those alone.
                    hits = evaluate(rule, subset[0], now, negative, self.settings.evidence_limit)
                    if self._stopped(rule, subset[1], hits):
                        subset = None  # a key stopped firing: a full evaluation resolves it
                    else:
                        full_as_of = before["full_as_of"]
                        counts["incremental_rules"] += 1
                if subset is None:
                    if rule.signal not in loaded:
                        loaded[rule.signal] = self._signal_rows(raw[rule.signal], now)
                    hits = evaluate(
                        rule, loaded[rule.signal], now, negative, self.settings.evidence_limit
                    )
                with self.rdb.transaction() as conn:
                    for hit in hits:
                        counts[self._upsert(conn, rule, hit, stamp)] += 1
                    if subset is None:  # review resolves what a full evaluation no longer finds
                        self.rdb.set_watermark(conn, f"assess:rule:{rule.id}", stamp)
                    self.rdb.set_watermark(
                        conn,
                        f"assess:input:{rule.id}",
                        dumps({"state": state, "as_of": now.timestamp(), "full_as_of": full_as_of}),
                    )
                per_rule[rule.id] = len(hits)
                widest = max(widest, span_seconds(rule) or 0)
            except Exception as exc:
                log.exception("rule %s failed", rule.id)
                errors.append({"rule": rule.id, "error": f"{type(exc).__name__}: {exc}"})
        counts["propagated"] = self._propagate_open(errors)
        try:
            counts["graded"] = self.grade_all(stamp)
        except Exception as exc:
            log.exception("credit grading failed")
            errors.append({"step": "credit", "error": f"{type(exc).__name__}: {exc}"})
        window_from = iso(now - dt.timedelta(seconds=widest)) if widest else None
        return {**counts, "rules": per_rule}, (window_from, iso(now))

    @staticmethod
    def _may_increment(
        rule: Rule, before: dict[str, Any], state: dict[str, Any], now: dt.datetime,
        recheck: float,
    ) -> bool:  # fmt: skip
        """Whether ``rule`` may be evaluated on the keys new signals touched only.

        At a fixed evaluation time a key's result depends on that key's signals alone; the
        kinds here only gain hits when signals are added (spike and flatline compare with the
        past and may lose them, and are always evaluated in full).  The definition (and for a
        list rule the negative list) must be unchanged, and the last full evaluation must be
        at (within ``assess_recheck_seconds`` of) the same time, so that no signal left a
        window meanwhile.  A touched key that no longer fires makes the evaluation full, so
        that review resolves it as before.
        """
        if rule.kind not in INCREMENTAL_KINDS or "full_as_of" not in before:
            return False
        previous = before.get("state") or {}
        if previous.get("rule") != json.loads(dumps(state["rule"])):
            return False
        if previous.get("negative") != state["negative"]:  # list rules: the list changed
            return False
        return abs(now.timestamp() - before["full_as_of"]) < recheck

    def _stopped(self, rule: Rule, keys: set[str], hits: list[Hit]) -> bool:
        """Whether an open risk of ``rule`` on one of ``keys`` is no longer among ``hits``."""
        if not keys:
            return False
        found = {hit.key for hit in hits}
        for (key,) in self.rdb.db.execute(
            "SELECT key FROM risk_risks WHERE rule = ? AND status = 'open'", (rule.id,)
        ):
            base = key.split("|", 1)[0] if rule.kind == "new_term" else key
            if base in keys and key not in found:
                return True
        return False

    def _touched(
        self, rule: Rule, inputs: list[Any], now: dt.datetime, rows: list[_Raw]
    ) -> tuple[list[SignalRow], set[str]] | None:
        """Of ``rows`` (the kind's signals), those in the rule's span of every key that a
        signal new or updated since ``inputs`` names, and those keys; None when a key is not
        one text value (a list, a number), which a full evaluation handles."""
        if rule.key in ("entities", "time"):
            return None
        _, top, collected = inputs
        fresh = self._signal_rows(
            (
                (r[0], r[1], r[2], r[3], orjson.loads(r[4]))
                for r in self.rdb.db.execute(
                    "SELECT id, time, entity, entities, attrs FROM risk_signals"
                    " WHERE kind = ? AND (id > ? OR collected_at > ?) AND time <= ?",
                    (rule.signal, top or 0, collected or "", iso(now)),
                )
            ),
            now,
        )
        keys: set[str] = set()
        for signal in fresh:  # matching or not: an updated signal may no longer match
            value = signal.get(rule.key)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                return None
            keys.add(value)
        if not keys:
            return [], keys
        span = span_seconds(rule)
        start = iso(now - dt.timedelta(seconds=span)) if span else ""
        name = rule.key
        if name == "entity":
            chosen = [r for r in rows if r[1] > start and r[2] in keys]
        else:
            chosen = [r for r in rows if r[1] > start and r[4].get(name) in keys]
        return self._signal_rows(chosen, now), keys

    def _upsert(self, conn: Any, rule: Rule, hit: Hit, stamp: str) -> str:
        fp = fingerprint(rule.id, hit.key)
        level = rule.level
        row = conn.execute(
            "SELECT level, status, entities FROM risk_risks WHERE fingerprint = ?", (fp,)
        ).fetchone()
        values = (
            level,
            rule.category,
            rule.owner,
            rule.severity,
            rule.likelihood,
            dumps(hit.entities),
            dumps(hit.evidence),
            hit.explanation,
            dumps(hit.metrics),
        )
        if row is None:
            conn.execute(
                "INSERT INTO risk_risks (fingerprint, rule, key, level, category, owner,"
                " severity, likelihood, entities, evidence, explanation, metrics, status,"
                " first_seen, last_seen, changed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (fp, rule.id, hit.key, *values, "open", stamp, stamp, stamp),
            )
            outcome = "new"
        else:
            changed = row["level"] != level or row["status"] != "open"
            conn.execute(
                "UPDATE risk_risks SET level = ?, category = ?, owner = ?, severity = ?,"
                " likelihood = ?, entities = ?, evidence = ?, explanation = ?, metrics = ?,"
                " status = 'open', status_reason = CASE WHEN status = 'open' THEN status_reason"
                "   ELSE '重新触发' END, resolved_at = NULL, last_seen = ?,"
                " changed_at = CASE WHEN ? THEN ? ELSE changed_at END,"
                " propagation = CASE WHEN ? THEN NULL ELSE propagation END"
                " WHERE fingerprint = ?",
                (*values, stamp, changed, stamp, changed or row["entities"] != values[5], fp),
            )
            outcome = (
                "reopened" if row["status"] != "open" else ("changed" if changed else "unchanged")
            )
        conn.execute("DELETE FROM risk_risk_entities WHERE fingerprint = ?", (fp,))
        conn.executemany(
            "INSERT OR IGNORE INTO risk_risk_entities VALUES (?,?)",
            [(entity, fp) for entity in hit.entities],
        )
        return outcome

    def _propagate_open(self, errors: list[dict[str, Any]]) -> int:
        levels = [lv for lv in self.settings.propagation_levels if lv in LEVEL_RANK]
        if not levels:
            return 0
        rows = self.rdb.db.execute(
            f"SELECT fingerprint, level, entities FROM risk_risks WHERE status = 'open'"
            f" AND propagation IS NULL AND level IN ({','.join('?' * len(levels))})",
            levels,
        ).fetchall()
        done = 0
        for row in rows:
            try:
                result = propagate(
                    self.store,
                    json.loads(row["entities"]),
                    row["level"],
                    depth=self.settings.propagation_depth,
                    max_nodes=self.settings.propagation_max_nodes,
                    decay=self.settings.propagation_decay,
                )
            except Exception as exc:
                errors.append(
                    {"propagation": row["fingerprint"], "error": f"{type(exc).__name__}: {exc}"}
                )
                continue
            with self.rdb.transaction() as conn:
                conn.execute(
                    "UPDATE risk_risks SET propagation = ? WHERE fingerprint = ?",
                    (dumps(result), row["fingerprint"]),
                )
            done += 1
        return done

    # -- credit --------------------------------------------------------------------------

    def grade(
        self, enterprise: str, config: CreditConfig, negative: frozenset[str], now: dt.datetime
    ) -> dict[str, Any]:
        entity = f"Enterprise:{enterprise}"
        db = self.rdb.db
        factors: list[dict[str, Any]] = []

        def factor(name: str, zh: str, items: dict[str, int], weights: dict[str, float]) -> None:
            raw = sum(weights.get(k, 0) * n for k, n in items.items())
            points = min(raw, config.factor_cap)
            factors.append(
                {
                    "factor": name,
                    "zh": zh,
                    "counts": items,
                    "weights": weights,
                    "deduction": points,
                    "capped": raw > points,
                }
            )

        open_rows = db.execute(
            "SELECT r.level, count(*) FROM risk_risk_entities e JOIN risk_risks r"
            " ON r.fingerprint = e.fingerprint WHERE e.entity = ? AND r.status = 'open'"
            " GROUP BY r.level",
            (entity,),
        ).fetchall()
        factor("open_risk", "未消除的风险（按等级扣分）", dict(open_rows), config.open_risk)
        since = iso(now - dt.timedelta(days=config.history_days))
        resolved_rows = db.execute(
            "SELECT r.level, count(*) FROM risk_risk_entities e JOIN risk_risks r"
            " ON r.fingerprint = e.fingerprint WHERE e.entity = ? AND r.status = 'resolved'"
            " AND r.resolved_at > ? GROUP BY r.level",
            (entity, since),
        ).fetchall()
        factor(
            "resolved_risk",
            f"近 {config.history_days} 天已消除的风险（历史记录）",
            dict(resolved_rows),
            config.resolved_risk,
        )
        confirmed = db.execute(
            "SELECT count(*) FROM risk_alerts a JOIN risk_risk_entities e"
            " ON e.fingerprint = a.fingerprint WHERE e.entity = ? AND a.outcome = 'confirmed'",
            (entity,),
        ).fetchone()[0]
        factor(
            "confirmed_alert",
            "经核查属实的预警",
            {"confirmed": confirmed},
            {"confirmed": config.confirmed_alert},
        )
        notices = db.execute(
            "SELECT count(*) FROM risk_notices n, json_each(n.entities) j"
            " WHERE j.value = ? AND n.withdrawn_at IS NULL",
            (entity,),
        ).fetchone()[0]
        factor("notice", "监管通报", {"notices": notices}, {"notices": config.notice})
        score = round(config.base - sum(f["deduction"] for f in factors), 2)
        band = next(g for g in config.grades if score >= g.min_score) if config.grades else None
        grade = band.grade if band else "D"
        listed = entity in negative
        if listed and grade < config.negative_list_grade:
            grade = config.negative_list_grade
        chosen = next((g for g in config.grades if g.grade == grade), band)
        return {
            "enterprise": enterprise,
            "score": score,
            "grade": grade,
            "inspection_ratio": chosen.inspection_ratio if chosen else 1.0,
            "grade_zh": chosen.zh if chosen else "",
            "base": config.base,
            "factors": factors,
            "negative_list": listed,
        }

    def grade_all(self, stamp: str) -> int:
        config = self.credit_config()
        negative = self.negative_set()
        names: dict[str, str | None] = {}
        for nodes in self.store.iter_nodes("Enterprise"):
            for node in nodes:
                names[node.key] = str(node.props.get("name") or "") or None
        for (entity,) in self.rdb.db.execute(
            "SELECT DISTINCT entity FROM risk_risk_entities WHERE entity LIKE 'Enterprise:%'"
        ):
            names.setdefault(entity.split(":", 1)[1], None)
        for entity in negative:
            if entity.startswith("Enterprise:"):
                names.setdefault(entity.split(":", 1)[1], None)
        latest = {
            r["enterprise"]: (r["grade"], r["score"])
            for r in self.rdb.db.execute(
                "SELECT enterprise, grade, score FROM risk_credit_grades WHERE id IN"
                " (SELECT max(id) FROM risk_credit_grades GROUP BY enterprise)"
            )
        }
        now = parse_time(stamp) or now_utc()
        rows = []
        for code, name in sorted(names.items()):
            graded = self.grade(code, config, negative, now)
            if latest.get(code) != (graded["grade"], graded["score"]):
                rows.append(
                    (
                        code,
                        name,
                        graded["grade"],
                        graded["score"],
                        graded["inspection_ratio"],
                        dumps(graded["factors"]),
                        stamp,
                    )
                )
        with self.rdb.transaction() as conn:
            conn.executemany(
                "INSERT INTO risk_credit_grades (enterprise, name, grade, score,"
                " inspection_ratio, factors, graded_at) VALUES (?,?,?,?,?,?,?)",
                rows,
            )
        return len(rows)

    def credit(self, enterprise: str) -> dict[str, Any]:
        """The current grade of an enterprise explained factor by factor, with its history."""
        code = enterprise.removeprefix("Enterprise:")
        history = [
            dict(r, factors=json.loads(r["factors"]))
            for r in self.rdb.db.execute(
                "SELECT * FROM risk_credit_grades WHERE enterprise = ? ORDER BY id DESC",
                (code,),
            )
        ]
        if not history:
            raise NotFound(f"企业 {code} 尚无信用评级（先运行 qtrace risk run assess）")
        current = self.grade(code, self.credit_config(), self.negative_set(), now_utc())
        current["name"] = history[0]["name"]
        current["graded_at"] = history[0]["graded_at"]
        current["history"] = [
            {k: h[k] for k in ("grade", "score", "inspection_ratio", "graded_at")} for h in history
        ]
        return current

    def grades(self, grade: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT enterprise, name, grade, score, inspection_ratio, graded_at"
            " FROM risk_credit_grades WHERE id IN"
            " (SELECT max(id) FROM risk_credit_grades GROUP BY enterprise)"
        )
        params: list[Any] = []
        if grade:
            sql += " AND grade = ?"
            params.append(grade)
        return [dict(r) for r in self.rdb.db.execute(sql + " ORDER BY score, enterprise", params)]

    # -- warn ----------------------------------------------------------------------------

    def route(
        self,
        risk: dict[str, Any],
        routing: Routing | None = None,
        units: dict[str, Unit] | None = None,
    ) -> dict[str, Any]:
        """The routing decision for a risk: matched routes, lead and cooperating units."""
        routing = routing or self.routing()
        units = units or self.units()
        facts = {
            "category": risk["category"],
            "level": risk["level"],
            "rule": risk["rule"],
            "owner": risk["owner"],
        }
        matched, lead, cooperate, steps = [], [], [], []
        for route in routing.routes:
            ok = all(
                facts.get(name) in (wanted if isinstance(wanted, list) else [wanted])
                for name, wanted in route.match.items()
            )
            steps.append({"route": route.name, "matched": ok})
            if not ok:
                continue
            matched.append(route.name)
            lead.extend(route.lead)
            cooperate.extend(route.cooperate)
            if not route.cont:
                break
        reason = f"匹配路由：{'、'.join(matched)}" if matched else "无路由匹配，由规则责任单位牵头"
        if not lead:
            lead = [risk["owner"], *routing.default_lead]
        if not matched:
            cooperate = [*cooperate, *routing.default_cooperate]
        lead = list(dict.fromkeys(lead))
        cooperate = [u for u in dict.fromkeys(cooperate) if u not in lead]

        def named(ids: list[str]) -> list[dict[str, str]]:
            return [{"id": u, "name": units[u].name if u in units else u} for u in ids]

        return {
            "fingerprint": risk["fingerprint"],
            "level": risk["level"],
            "matched": matched,
            "lead": named(lead),
            "cooperate": named(cooperate),
            "reason": reason,
            "steps": steps,
        }

    def warn(self, only: str | None = None) -> dict[str, Any]:
        """New or changed open risks become alerts routed to units (one per risk and level)."""
        routing, units = self.routing(), self.units()
        # An alert at the risk's level that is open, acknowledged or closed by a person is
        # enough; one auto-resolved (or superseded) before is raised again when the risk is.
        sql = (
            "SELECT r.* FROM risk_risks r WHERE r.status = 'open' AND NOT EXISTS"
            " (SELECT 1 FROM risk_alerts a WHERE a.fingerprint = r.fingerprint"
            "  AND a.level = r.level AND a.status IN ('open', 'acknowledged', 'closed'))"
        )
        params: tuple[str, ...] = ()
        if only:
            sql += " AND r.fingerprint = ?"
            params = (only,)
        rows = self.rdb.db.execute(sql, params).fetchall()
        counts: Counter[str] = Counter()
        now = now_utc()
        for row in rows:
            risk = _risk_json(row)
            decision = self.route(risk, routing, units)
            hours = self.settings.deadline_hours.get(risk["level"], 72)
            with self.rdb.transaction() as conn:
                superseded = conn.execute(
                    "UPDATE risk_alerts SET status = 'superseded', closed_at = ?,"
                    " note = '风险等级变化，已由新预警取代' WHERE fingerprint = ?"
                    " AND status IN ('open', 'acknowledged')",
                    (iso(now), risk["fingerprint"]),
                ).rowcount
                created = conn.execute(
                    "INSERT INTO risk_alerts (fingerprint, rule, level, lead,"
                    " cooperate, decision, status, created_at, deadline)"
                    " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (fingerprint, level) DO UPDATE"
                    " SET lead = excluded.lead, cooperate = excluded.cooperate,"
                    " decision = excluded.decision, status = 'open', outcome = NULL,"
                    " created_at = excluded.created_at, deadline = excluded.deadline,"
                    " acknowledged_at = NULL, acknowledged_by = NULL, closed_at = NULL,"
                    " note = '风险重新触发，预警重新打开'"
                    " WHERE risk_alerts.status IN ('resolved', 'superseded')",
                    (
                        risk["fingerprint"],
                        risk["rule"],
                        risk["level"],
                        dumps([u["id"] for u in decision["lead"]]),
                        dumps([u["id"] for u in decision["cooperate"]]),
                        dumps(decision),
                        "open",
                        iso(now),
                        iso(now + dt.timedelta(hours=hours)),
                    ),
                ).rowcount
            counts["alerts"] += created
            counts["superseded"] += superseded
        return dict(counts)

    def alerts(
        self, status: str | None = None, unit: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM risk_alerts WHERE 1 = 1", []
        if status:
            sql += " AND status = ?"
            params.append(status)
        if unit:
            sql += " AND (EXISTS (SELECT 1 FROM json_each(lead) WHERE value = ?)"
            sql += " OR EXISTS (SELECT 1 FROM json_each(cooperate) WHERE value = ?))"
            params += [unit, unit]
        sql += " ORDER BY id DESC LIMIT ?"
        return [self._alert_json(r) for r in self.rdb.db.execute(sql, (*params, limit))]

    @staticmethod
    def _alert_json(row: Any) -> dict[str, Any]:
        item = dict(row)
        for name in ("lead", "cooperate", "decision"):
            item[name] = json.loads(item[name])
        return item

    def alert(self, alert_id: int) -> dict[str, Any]:
        row = self.rdb.db.execute("SELECT * FROM risk_alerts WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            raise NotFound(f"没有预警 {alert_id}")
        return self._alert_json(row)

    def acknowledge(self, alert_id: int, by: str) -> dict[str, Any]:
        alert = self.alert(alert_id)
        if alert["status"] != "open":
            raise Conflict(f"预警 {alert_id} 状态为 {alert['status']}，不能签收")
        with self.rdb.transaction() as conn:
            conn.execute(
                "UPDATE risk_alerts SET status = 'acknowledged', acknowledged_at = ?,"
                " acknowledged_by = ? WHERE id = ?",
                (iso(now_utc()), by, alert_id),
            )
        return self.alert(alert_id)

    def close_alert(self, alert_id: int, outcome: str, note: str = "") -> dict[str, Any]:
        if outcome not in OUTCOMES:
            raise InvalidInput(f"处置结果应为 {'、'.join(OUTCOMES)}，收到 {outcome!r}")
        alert = self.alert(alert_id)
        if alert["status"] not in ALERT_OPEN:
            raise Conflict(f"预警 {alert_id} 状态为 {alert['status']}，不能办结")
        with self.rdb.transaction() as conn:
            conn.execute(
                "UPDATE risk_alerts SET status = 'closed', outcome = ?, closed_at = ?, note = ?"
                " WHERE id = ?",
                (outcome, iso(now_utc()), note, alert_id),
            )
        return self.alert(alert_id)

    # -- review --------------------------------------------------------------------------

    def review(self, as_of: dt.datetime | None = None) -> dict[str, Any]:
        now = now_utc()
        counts: Counter[str] = Counter()
        rules = {r.id: r for r in self.rules() if r.enabled}
        marks = {
            r[0].removeprefix("assess:rule:"): r[1]
            for r in self.rdb.db.execute(
                "SELECT name, value FROM risk_watermarks WHERE name LIKE 'assess:rule:%'"
            )
        }
        open_rows = self.rdb.db.execute(
            "SELECT fingerprint, rule, last_seen FROM risk_risks WHERE status = 'open'"
        ).fetchall()
        with self.rdb.transaction() as conn:
            for row in open_rows:
                if row["rule"] not in rules:
                    reason = f"规则 {row['rule']} 已删除或停用"
                elif marks.get(row["rule"], "") > row["last_seen"]:
                    reason = (
                        f"规则 {row['rule']} 于 {marks[row['rule']]} 复核未再触发（条件已消除）"
                    )
                else:
                    continue
                conn.execute(
                    "UPDATE risk_risks SET status = 'resolved', status_reason = ?,"
                    " resolved_at = ?, changed_at = ? WHERE fingerprint = ?",
                    (reason, iso(now), iso(now), row["fingerprint"]),
                )
                counts["resolved"] += 1
            resolving = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM risk_alerts WHERE status IN ('open', 'acknowledged') AND"
                    " fingerprint IN (SELECT fingerprint FROM risk_risks WHERE status = 'resolved')"
                )
            ]
            counts["alerts_resolved"] = conn.execute(
                "UPDATE risk_alerts SET status = 'resolved', closed_at = ?,"
                " note = '风险已自动消除' WHERE status IN ('open', 'acknowledged') AND"
                " fingerprint IN (SELECT fingerprint FROM risk_risks WHERE status = 'resolved')",
                (iso(now),),
            ).rowcount
            for alert in conn.execute(
                "SELECT id, level, lead, cooperate, deadline FROM risk_alerts"
                " WHERE status = 'open' AND deadline < ?",
                (iso(now),),
            ).fetchall():
                deadline = parse_time(alert["deadline"]) or now
                period = dt.timedelta(hours=self.settings.deadline_hours.get(alert["level"], 72))
                step = 1 + int((now - deadline) / period)
                units = json.loads(alert["lead"]) + json.loads(alert["cooperate"])
                counts["escalations"] += conn.execute(
                    "INSERT OR IGNORE INTO risk_escalations (alert_id, step, level, units,"
                    " reason, created_at) VALUES (?,?,?,?,?,?)",
                    (
                        alert["id"],
                        step,
                        alert["level"],
                        dumps(units),
                        f"{LEVEL_ZH[alert['level']]}级预警超过签收时限 {alert['deadline']} 未签收"
                        f"（第 {step} 次升级）",
                        iso(now),
                    ),
                ).rowcount
            # Escalation and resolved emails commit with the review; if they cannot be
            # rendered (a broken units file) the review still commits, and the next review
            # enqueues the escalations still without an email.
            conn.execute("SAVEPOINT review_emails")
            try:
                emails = self.notifier.on_review(conn, now, resolving)
            except Exception:
                log.exception("alert emails of the review could not be enqueued")
                conn.execute("ROLLBACK TO review_emails")
                emails = 0
                counts["email_errors"] += 1
            conn.execute("RELEASE review_emails")
            if emails:
                counts["emails"] = emails
        report = self.report()
        counts["report"] = str(self._write_report(report, now))  # type: ignore[assignment]
        return dict(counts)

    def precision(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for rule, outcome, n in self.rdb.db.execute(
            "SELECT rule, outcome, count(*) FROM risk_alerts WHERE outcome IS NOT NULL"
            " GROUP BY rule, outcome"
        ):
            item = result.setdefault(rule, {"confirmed": 0, "false_positive": 0})
            item[outcome] = n
        for item in result.values():
            handled = item["confirmed"] + item["false_positive"]
            item["handled"] = handled
            item["precision"] = round(item["confirmed"] / handled, 4) if handled else None
        return result

    def overview(self) -> dict[str, Any]:
        db = self.rdb.db
        by_level = dict.fromkeys(LEVELS, 0)
        by_level.update(
            dict(
                db.execute(
                    "SELECT level, count(*) FROM risk_risks WHERE status = 'open' GROUP BY level"
                ).fetchall()
            )
        )
        by_category = dict(
            db.execute(
                "SELECT category, count(*) FROM risk_risks WHERE status = 'open' GROUP BY category"
                " ORDER BY 2 DESC"
            ).fetchall()
        )
        units = self._units_or_empty()
        by_unit: dict[str, dict[str, Any]] = defaultdict(lambda: {"lead": 0, "cooperate": 0})
        for lead, cooperate in db.execute(
            "SELECT lead, cooperate FROM risk_alerts WHERE status IN ('open', 'acknowledged')"
        ):
            for unit in json.loads(lead):
                by_unit[unit]["lead"] += 1
            for unit in json.loads(cooperate):
                by_unit[unit]["cooperate"] += 1
        alerts_by_unit = [
            {"unit": u, "name": units[u].name if u in units else u, **c}
            for u, c in sorted(by_unit.items(), key=lambda kv: -kv[1]["lead"])
        ]
        grades = dict.fromkeys("ABCD", 0)
        for row in self.grades():
            grades[row["grade"]] += 1
        status = dict(db.execute("SELECT status, count(*) FROM risk_risks GROUP BY status"))
        alert_status = dict(db.execute("SELECT status, count(*) FROM risk_alerts GROUP BY status"))
        last_runs = {
            r["mechanism"]: {"status": r["status"], "started": r["started"]}
            for r in db.execute(
                "SELECT mechanism, status, started FROM risk_runs WHERE id IN"
                " (SELECT max(id) FROM risk_runs GROUP BY mechanism)"
            )
        }
        return {
            "open_by_level": by_level,
            "open_by_category": by_category,
            "risks_by_status": status,
            "alerts_by_status": alert_status,
            "open_alerts_by_unit": alerts_by_unit,
            "enterprises_by_grade": grades,
            "last_runs": last_runs,
        }

    def _units_or_empty(self) -> dict[str, Unit]:
        try:
            return self.units()
        except Exception:
            return {}

    def report(self) -> dict[str, Any]:
        escalations = [
            dict(r, units=json.loads(r["units"]))
            for r in self.rdb.db.execute(
                "SELECT * FROM risk_escalations WHERE sent_at IS NULL ORDER BY id"
            )
        ]
        return {
            "generated_at": iso(now_utc()),
            **self.overview(),
            "rule_precision": self.precision(),
            "pending_escalations": escalations,
        }

    def _reports_dir(self) -> Path:
        given = self.settings.reports_dir
        return Path(given) if given else self.data_dir / "risk-reports"

    def _write_report(self, report: dict[str, Any], now: dt.datetime) -> Path:
        folder = self._reports_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"review-{now.strftime('%Y%m%dT%H%M%S')}"
        stem.with_suffix(".json").write_text(
            json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        stem.with_suffix(".html").write_text(report_html(report), encoding="utf-8")
        return stem.with_suffix(".json")

    # -- queries -------------------------------------------------------------------------

    def risks(
        self,
        *,
        level: str | None = None,
        entity: str | None = None,
        status: str | None = "open",
        category: str | None = None,
        rule: str | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        if level and level not in LEVELS:
            raise InvalidInput(f"风险等级应为 {'、'.join(LEVELS)}，收到 {level!r}")
        sql, params = "SELECT * FROM risk_risks r WHERE 1 = 1", []
        for column, value in (
            ("status", status),
            ("level", level),
            ("category", category),
            ("rule", rule),
        ):
            if value:
                sql += f" AND r.{column} = ?"
                params.append(value)
        if entity:
            sql += (
                " AND r.fingerprint IN (SELECT fingerprint FROM risk_risk_entities"
                " WHERE entity = ? OR entity LIKE ?)"
            )
            params += [entity, f"%:{entity}"]
        sql += (
            " ORDER BY CASE r.level WHEN 'serious' THEN 0 WHEN 'high' THEN 1"
            " WHEN 'medium' THEN 2 ELSE 3 END, r.last_seen DESC, r.fingerprint LIMIT ?"
        )
        return [_risk_json(r) for r in self.rdb.db.execute(sql, (*params, limit))]

    def risk(self, fp: str) -> dict[str, Any]:
        row = self.rdb.db.execute(
            "SELECT * FROM risk_risks WHERE fingerprint = ?", (fp,)
        ).fetchone()
        if row is None:
            raise NotFound(f"没有风险 {fp}")
        return _risk_json(row)

    def explain(self, fp: str) -> dict[str, Any]:
        """A risk with its rule, evidence signals, propagation, routing and alerts."""
        risk = self.risk(fp)
        row = self.rdb.db.execute(
            "SELECT propagation FROM risk_risks WHERE fingerprint = ?", (fp,)
        ).fetchone()
        rule = next((r for r in self._rules_or_empty() if r.id == risk["rule"]), None)
        ids = risk["evidence"]
        signals = [
            {
                "id": r["id"],
                "kind": r["kind"],
                "time": r["time"],
                "entity": r["entity"],
                "attrs": json.loads(r["attrs"]),
            }
            for r in self.rdb.db.execute(
                "SELECT s.* FROM json_each(?) j JOIN risk_signals s ON s.id = j.value",
                (dumps(ids),),
            )
        ]
        risk["rule_definition"] = rule.model_dump(by_alias=True) if rule else None
        risk["signals"] = signals
        risk["propagation"] = json.loads(row[0]) if row[0] else None
        risk["alerts"] = [
            self._alert_json(a)
            for a in self.rdb.db.execute(
                "SELECT * FROM risk_alerts WHERE fingerprint = ? ORDER BY id", (fp,)
            )
        ]
        return risk

    def _rules_or_empty(self) -> list[Rule]:
        try:
            return self.rules()
        except Exception:
            return []

    def find_risk(self, ref: str) -> dict[str, Any]:
        """A risk by fingerprint, or by unique fingerprint prefix."""
        rows = self.rdb.db.execute(
            "SELECT fingerprint FROM risk_risks WHERE fingerprint LIKE ? LIMIT 2", (f"{ref}%",)
        ).fetchall()
        if len(rows) != 1:
            raise NotFound(f"没有唯一匹配 {ref!r} 的风险指纹")
        return self.risk(rows[0][0])

    # -- negative list and notices --------------------------------------------------------

    @staticmethod
    def _entity(value: str) -> str:
        label, _, key = value.partition(":")
        if not key or not label:
            raise InvalidInput(f"实体应写作 标签:业务键，例如 Enterprise:91410000…，收到 {value!r}")
        return value

    def negative_list(self, include_removed: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT * FROM risk_negative_list"
        if not include_removed:
            sql += " WHERE removed_at IS NULL"
        return [dict(r) for r in self.rdb.db.execute(sql + " ORDER BY added_at, entity")]

    def add_negative(
        self, entity: str, reason: str, source: str = "", by: str = ""
    ) -> dict[str, Any]:
        entity = self._entity(entity)
        if not reason.strip():
            raise InvalidInput("列入负面清单须说明理由")
        with self.rdb.transaction() as conn:
            conn.execute(
                "INSERT INTO risk_negative_list (entity, reason, source, added_by, added_at)"
                " VALUES (?,?,?,?,?) ON CONFLICT (entity) DO UPDATE SET reason = excluded.reason,"
                " source = excluded.source, added_by = excluded.added_by,"
                " added_at = CASE WHEN removed_at IS NULL THEN added_at ELSE excluded.added_at END,"
                " removed_at = NULL",
                (entity, reason, source, by, iso(now_utc())),
            )
        return dict(
            self.rdb.db.execute(
                "SELECT * FROM risk_negative_list WHERE entity = ?", (entity,)
            ).fetchone()
        )

    def remove_negative(self, entity: str) -> None:
        with self.rdb.transaction() as conn:
            changed = conn.execute(
                "UPDATE risk_negative_list SET removed_at = ? WHERE entity = ?"
                " AND removed_at IS NULL",
                (iso(now_utc()), entity),
            ).rowcount
        if not changed:
            raise NotFound(f"负面清单中没有 {entity}")

    def notices(self, include_withdrawn: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT * FROM risk_notices"
        if not include_withdrawn:
            sql += " WHERE withdrawn_at IS NULL"
        return [
            dict(r, entities=json.loads(r["entities"]))
            for r in self.rdb.db.execute(sql + " ORDER BY id")
        ]

    def add_notice(
        self,
        ref: str,
        issuer: str,
        title: str,
        entities: list[str],
        measure: str = "",
        severity: int = 3,
        published: str | None = None,
    ) -> dict[str, Any]:
        if not ref.strip() or not title.strip():
            raise InvalidInput("通报须有文号 ref 与标题 title")
        if not entities:
            raise InvalidInput("通报须至少涉及一个实体（批次、商品或企业）")
        entities = [self._entity(e) for e in entities]
        if not 1 <= int(severity) <= 4:
            raise InvalidInput("severity 应为 1–4")
        when = parse_time(published) if published else now_utc()
        if when is None:
            raise InvalidInput(f"published 应为 ISO 8601 时间，收到 {published!r}")
        try:
            with self.rdb.transaction() as conn:
                conn.execute(
                    "INSERT INTO risk_notices (ref, issuer, title, entities, measure, severity,"
                    " published, created_at) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        ref,
                        issuer,
                        title,
                        dumps(entities),
                        measure,
                        int(severity),
                        iso(when),
                        iso(now_utc()),
                    ),
                )
        except Exception as exc:
            if "UNIQUE" in str(exc):
                raise Conflict(f"通报文号 {ref} 已存在") from None
            raise
        return next(n for n in self.notices(True) if n["ref"] == ref)

    def withdraw_notice(self, ref: str) -> None:
        with self.rdb.transaction() as conn:
            changed = conn.execute(
                "UPDATE risk_notices SET withdrawn_at = ? WHERE ref = ? AND withdrawn_at IS NULL",
                (iso(now_utc()), ref),
            ).rowcount
            conn.execute(
                "UPDATE risk_signals SET attrs = json_set(attrs, '$.withdrawn', json('true')),"
                " collected_at = ? WHERE kind = 'notice' AND json_extract(attrs, '$.ref') = ?",
                (iso(now_utc()), ref),
            )
        if not changed:
            raise NotFound(f"没有有效的通报 {ref}")

    # -- alert emails (alerts/notify) --------------------------------------------------------

    def notify(self, as_of: dt.datetime | None = None) -> dict[str, int]:
        """Enqueue due alert groups and daily digests."""
        counts = self.notifier.flush(as_of)
        digests = self.notifier.digest(as_of)
        return {**counts, **({"digests": digests} if digests else {})}

    def send_pending(self, holder: str | None = None, limit: int | None = None) -> dict[str, int]:
        """Drain the email outbox (the worker's ``risk.send`` job, ``alerts send-pending``)."""
        return outbox.drain(self.notifier, holder or default_holder(), limit)

    def close(self) -> None:
        self.rdb.close()


def report_html(report: dict[str, Any]) -> str:
    """The review report as a self-contained zh-CN HTML page (no scripts, no CDN)."""

    def table(head: list[str], rows: list[list[Any]]) -> str:
        cells = "".join(f"<th>{escape(h)}</th>" for h in head)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
        )
        return f"<table><tr>{cells}</tr>{body}</table>"

    parts = [
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">',
        "<title>风险复核报告</title><style>body{font-family:sans-serif;margin:1em}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:.2em .6em}</style></head><body>",
        f"<h1>风险复核报告</h1><p>生成时间 {escape(report['generated_at'])}</p>",
        "<h2>未消除风险（按等级）</h2>",
        table(["等级", "数量"], [[LEVEL_ZH[k], v] for k, v in report["open_by_level"].items()]),
        "<h2>未消除风险（按类别）</h2>",
        table(["类别", "数量"], [[k, v] for k, v in report["open_by_category"].items()]),
        "<h2>各单位待办预警</h2>",
        table(
            ["单位", "牵头", "配合"],
            [[u["name"], u["lead"], u["cooperate"]] for u in report["open_alerts_by_unit"]],
        ),
        "<h2>企业信用等级分布</h2>",
        table(["等级", "企业数"], [[k, v] for k, v in report["enterprises_by_grade"].items()]),
        "<h2>规则准确率</h2>",
        table(
            ["规则", "属实", "误报", "准确率"],
            [
                [r, p["confirmed"], p["false_positive"], p["precision"]]
                for r, p in report["rule_precision"].items()
            ],
        ),
        "<h2>待发送的升级</h2>",
        table(
            ["预警", "次序", "等级", "原因"],
            [
                [e["alert_id"], e["step"], LEVEL_ZH.get(e["level"], e["level"]), e["reason"]]
                for e in report["pending_escalations"]
            ],
        ),
        "</body></html>",
    ]
    return "".join(parts)
