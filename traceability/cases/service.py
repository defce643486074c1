"""The case service: lifecycle, tasks, entities, evidence, comments, search, escalation.

Every change is one row of ``cases_events`` (the case's timeline) and one entry of the
accounts feature's audit log (HMAC chain) when that feature is on; the event keeps the
entry's sequence number, so the timeline and the audit log name each other.  Searches by
a personal identifier, unmaskings and exports are audited too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from traceability.accounts.unmask import MIN_REASON
from traceability.accounts.unmask import unmask as unmask_document
from traceability.analysis.keys import KINDS as TRACE_KINDS
from traceability.analysis.keys import parse_key
from traceability.cases.access import (
    OPENERS,
    UNMASKERS,
    WORKERS,
    Viewer,
    mask_entity,
    mask_snapshot,
)
from traceability.cases.db import CaseDB, dumps, iso, now_utc
from traceability.cases.network import KIND_ZH as LINK_ZH
from traceability.cases.network import (
    PERSONAL_KINDS,
    NetworkIndex,
    link_id,
    reach,
    shortest_paths,
)
from traceability.cases.settings import CasesSettings
from traceability.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from traceability.formats.archive import Archive
from traceability.formats.archive import parse_key as parse_archive_key
from traceability.formats.privacy import mask_address, mask_phone, mask_resident_id
from traceability.services import Services
from traceability.store.port import NodeRef

log = logging.getLogger(__name__)

STAGES = ("new", "investigating", "measures_taken", "closed")
STAGE_ZH = {"new": "新建", "investigating": "侦查中", "measures_taken": "已采取措施",
            "closed": "已结案"}  # fmt: skip
STAGE_COLUMN = {"investigating": "investigating_at", "measures_taken": "measures_at",
                "closed": "closed_at"}  # fmt: skip
RESOLUTIONS = ("true_positive", "false_positive", "duplicate")
RESOLUTION_ZH = {"true_positive": "属实", "false_positive": "误报", "duplicate": "重复"}
# The risk feature's alert outcome for each resolution (None: not counted in precision).
ALERT_OUTCOME = {"true_positive": "confirmed", "false_positive": "false_positive",
                 "duplicate": None}  # fmt: skip
LEVELS = ("serious", "high", "medium", "low")
LEVEL_ZH = {"serious": "严重", "high": "高", "medium": "中", "low": "低"}
ENTITY_KINDS = {
    "enterprise": "企业", "buyer": "订购人/支付人", "phone": "电话", "address": "地址",
    "order": "订单", "batch": "批次", "waybill": "运单", "payment": "支付单",
    "post": "舆情帖子",
}  # fmt: skip
PERSONAL = frozenset({"buyer", "phone", "address"})
EVIDENCE_KINDS = {"trace": "追溯快照", "document": "归档单证", "finding": "核验发现",
                  "note": "调查结论", "post": "舆情帖子", "file": "上传文件"}  # fmt: skip
TASK_STATUSES = ("open", "done", "cancelled")
TASK_ZH = {"open": "进行中", "done": "已完成", "cancelled": "已取消"}
LABEL_KIND = {"Order": "order", "Batch": "batch", "Enterprise": "enterprise", "Buyer": "buyer",
              "Payment": "payment", "Waybill": "waybill"}  # fmt: skip
HASH_RE = re.compile(r"^[0-9a-f]{32}$")
MENTION_RE = re.compile(r"@([\w.\-]+)")
# Content sniffing for uploads: (media type, test).
MAGIC = (
    ("application/pdf", lambda b: b.startswith(b"%PDF-")),
    ("image/png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
)
SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


def sniff(data: bytes) -> str | None:
    for media, test in MAGIC:
        if test(data):
            return media
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain"


def _text(body: dict[str, Any], name: str, limit: int = 500, required: bool = False) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} 应为字符串")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"缺少 {name}")
    if len(value) > limit:
        raise InvalidInput(f"{name} 过长（最多 {limit} 字）")
    return value


def _when(value: str, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} 应为 ISO 8601 时间，收到 {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return moment


class CaseService:
    def __init__(self, settings: CasesSettings, services: Services) -> None:
        self.settings = settings
        self.services = services
        self.cdb = CaseDB(services.settings.embedded_db_path)
        self.network = NetworkIndex(services.store)
        self.files_dir = services.settings.data_dir / "cases" / "files"
        self.archive = services.settings.data_dir / "archive"
        self.originals = Archive(
            self.archive, parse_archive_key(services.settings.privacy.archive_key)
        )
        self._local = threading.local()  # the events of this thread's open transaction

    def close(self) -> None:
        self.cdb.close()

    # -- other features, when they are on --------------------------------------------------

    def _feature(self, name: str) -> Any:
        return self.services.feature(name) if self.services.has_feature(name) else None

    def audit(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> int | None:
        accounts = self._feature("accounts")
        if accounts is None:
            return None
        return int(accounts.store.audit(actor, action, target, detail))

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """A write transaction whose events reach the audit log once it has committed.

        The audit log is another connection to the same file: writing it while this
        transaction holds the write lock would wait for ourselves.
        """
        pending: list[tuple[int, str, str, str, dict[str, Any]]] = []
        with self.cdb.transaction() as conn:
            self._local.pending = pending
            try:
                yield conn
            finally:
                self._local.pending = None
        for event_id, actor, action, target, detail in pending:
            seq = self.audit(actor, action, target, detail)
            if seq is not None:
                self.cdb.db.execute("UPDATE cases_events SET audit_seq = ? WHERE id = ?",
                                    (seq, event_id))  # fmt: skip

    def _event(self, conn: Any, case_id: int, actor: str, action: str,
               detail: dict[str, Any]) -> None:  # fmt: skip
        event_id = conn.execute(
            "INSERT INTO cases_events (case_id, time, actor, action, detail) VALUES (?,?,?,?,?)",
            (case_id, iso(now_utc()), actor, action, dumps(detail)),
        ).lastrowid
        conn.execute("UPDATE cases_cases SET updated_at = ? WHERE id = ?",
                     (iso(now_utc()), case_id))  # fmt: skip
        pending = getattr(self._local, "pending", None)
        assert pending is not None, "events are written inside _tx()"
        pending.append((int(event_id or 0), actor, f"case.{action}", f"case:{case_id}",
                              detail))  # fmt: skip

    def record(self, case_id: int, actor: str, action: str, detail: dict[str, Any]) -> None:
        """One timeline event (and audit entry) outside any other change (exports)."""
        with self._tx() as conn:
            self._event(conn, case_id, actor, action, detail)

    # -- cases ---------------------------------------------------------------------------

    @staticmethod
    def _case_json(row: Any) -> dict[str, Any]:
        item = dict(row)
        item["cooperating"] = json.loads(item["cooperating"])
        item["stage_zh"] = STAGE_ZH[item["stage"]]
        item["level_zh"] = LEVEL_ZH.get(item["level"], item["level"])
        item["resolution_zh"] = RESOLUTION_ZH.get(item["resolution"] or "", "")
        return item

    def _row(self, ref: str | int) -> dict[str, Any]:
        text = str(ref)
        column = "id" if text.isdigit() else "ref"
        row = self.cdb.db.execute(
            f"SELECT * FROM cases_cases WHERE {column} = ?",
            (int(text) if column == "id" else text,),
        ).fetchone()
        if row is None:
            raise NotFound(f"没有案件 {ref}")
        return self._case_json(row)

    def case(self, viewer: Viewer, ref: str | int) -> dict[str, Any]:
        """The case row, if ``viewer`` may see it (404 otherwise: no existence leak)."""
        case = self._row(ref)
        where, params = viewer.where()
        seen = self.cdb.db.execute(
            f"SELECT 1 FROM cases_cases c WHERE c.id = ? AND {where}", (case["id"], *params)
        ).fetchone()
        if seen is None:
            raise NotFound(f"没有案件 {ref}")
        return case

    def _fields(self, body: dict[str, Any], partial: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name, limit in (("title", 200), ("category", 64), ("lead_unit", 64),
                            ("assignee", 64), ("description", 5000)):  # fmt: skip
            if name in body:
                fields[name] = _text(body, name, limit)
        if "level" in body:
            if body["level"] not in LEVELS:
                raise InvalidInput(f"level 应为 {'、'.join(LEVELS)} 之一")
            fields["level"] = body["level"]
        if "cooperating" in body:
            units = body["cooperating"]
            if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
                raise InvalidInput("cooperating 应为单位 id 的列表")
            fields["cooperating"] = [u.strip() for u in units if u.strip()]
        if not partial and not fields.get("title"):
            raise InvalidInput("缺少案件标题 title")
        return fields

    def open(self, viewer: Viewer, body: dict[str, Any]) -> dict[str, Any]:
        """A new case: directly, or promoted from alerts (``alerts``: ids)."""
        viewer.require(OPENERS, "立案")
        alerts = self._alerts_of(body.get("alerts") or [])
        fields = self._fields(body, partial=bool(alerts))
        if alerts:
            risk = alerts[0]["risk"]
            first = alerts[0]["alert"]
            fields.setdefault("title", str(risk.get("explanation") or risk["rule"])[:200])
            fields.setdefault("category", risk.get("category") or "")
            fields.setdefault("level", max((a["alert"]["level"] for a in alerts),
                                           key=lambda lv: -LEVELS.index(lv)))  # fmt: skip
            if first["lead"]:
                fields.setdefault("lead_unit", first["lead"][0])
            fields.setdefault("cooperating", list(dict.fromkeys(
                u for a in alerts for u in a["alert"]["lead"] + a["alert"]["cooperate"]
                if u != fields.get("lead_unit"))))  # fmt: skip
        fields.setdefault("level", "medium")
        now = iso(now_utc())
        with self._tx() as conn:
            year = now[:4]
            count = conn.execute(
                "SELECT count(*) FROM cases_cases WHERE ref LIKE ?", (f"AJ{year}-%",)
            ).fetchone()[0]
            ref = f"AJ{year}-{count + 1:05d}"
            case_id = conn.execute(
                "INSERT INTO cases_cases (ref, title, category, level, lead_unit, assignee,"
                " cooperating, description, created_by, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (ref, fields["title"], fields.get("category", ""), fields["level"],
                 fields.get("lead_unit", ""), fields.get("assignee", ""),
                 dumps(fields.get("cooperating", [])), fields.get("description", ""),
                 viewer.name, now, now),
            ).lastrowid  # fmt: skip
            assert case_id is not None
            self._event(conn, case_id, viewer.name, "open",
                        {"ref": ref, "title": fields["title"], "level": fields["level"],
                         "alerts": [a["alert"]["id"] for a in alerts]})  # fmt: skip
            self._link_alerts(conn, case_id, viewer, alerts)
        self._acknowledge(viewer, alerts)
        self._reindex(case_id)
        return self._row(case_id)

    def _alerts_of(self, ids: Any) -> list[dict[str, Any]]:
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise InvalidInput("alerts 应为预警 id（整数）的列表")
        if not ids:
            return []
        risk = self._feature("risk")
        if risk is None:
            raise NotFound("风险预警功能未启用，无法由预警立案")
        found = []
        for alert_id in dict.fromkeys(ids):
            alert = risk.alert(alert_id)
            row = self.cdb.db.execute(
                "SELECT case_id FROM cases_alerts WHERE alert_id = ?", (alert_id,)
            ).fetchone()
            if row is not None:
                raise Conflict(f"预警 {alert_id} 已在案件 {row[0]} 中")
            found.append({"alert": alert, "risk": risk.risk(alert["fingerprint"])})
        return found

    def _link_alerts(self, conn: Any, case_id: int, viewer: Viewer,
                     alerts: list[dict[str, Any]]) -> None:  # fmt: skip
        now = iso(now_utc())
        for item in alerts:
            alert = item["alert"]
            conn.execute(
                "INSERT INTO cases_alerts (alert_id, case_id, rule, fingerprint, added_at,"
                " added_by) VALUES (?,?,?,?,?,?)",
                (alert["id"], case_id, alert["rule"], alert["fingerprint"], now, viewer.name),
            )
            for entity in item["risk"].get("entities", []):
                label, _, key = str(entity).partition(":")
                kind = LABEL_KIND.get(label)
                if kind and key:
                    self._insert_entity(conn, case_id, viewer, kind, key, None)

    def _acknowledge(self, viewer: Viewer, alerts: list[dict[str, Any]]) -> None:
        """Promoted alerts are signed for by whoever opened the case (after it committed)."""
        risk = self._feature("risk")
        for item in alerts:
            if risk is not None and item["alert"]["status"] == "open":
                risk.acknowledge(item["alert"]["id"], viewer.name)

    def merge(self, viewer: Viewer, ref: str | int, ids: Any) -> dict[str, Any]:
        """Merge alerts into an existing case."""
        viewer.require(OPENERS, "合并预警")
        case = self._open_case(viewer, ref)
        alerts = self._alerts_of(ids)
        if not alerts:
            raise InvalidInput("alerts 不能为空")
        with self._tx() as conn:
            self._link_alerts(conn, case["id"], viewer, alerts)
            self._event(conn, case["id"], viewer.name, "merge",
                        {"alerts": [a["alert"]["id"] for a in alerts]})  # fmt: skip
        self._acknowledge(viewer, alerts)
        return self._row(case["id"])

    def _open_case(self, viewer: Viewer, ref: str | int) -> dict[str, Any]:
        case = self.case(viewer, ref)
        if case["stage"] == "closed":
            raise Conflict(f"案件 {case['ref']} 已结案")
        return case

    def update(self, viewer: Viewer, ref: str | int, body: dict[str, Any]) -> dict[str, Any]:
        viewer.require(OPENERS, "修改案件")
        case = self._open_case(viewer, ref)
        fields = self._fields(body, partial=True)
        if not fields:
            raise InvalidInput("没有可修改的字段")
        with self._tx() as conn:
            for name, value in fields.items():
                stored = dumps(value) if name == "cooperating" else value
                conn.execute(f"UPDATE cases_cases SET {name} = ? WHERE id = ?",
                             (stored, case["id"]))  # fmt: skip
            self._event(conn, case["id"], viewer.name, "update",
                        {k: {"from": case[k], "to": v} for k, v in fields.items()})  # fmt: skip
        self._reindex(case["id"])
        return self._row(case["id"])

    def advance(self, viewer: Viewer, ref: str | int, stage: str, resolution: str = "",
                note: str = "") -> dict[str, Any]:  # fmt: skip
        """Move to a later stage; closing needs a resolution, which sets the alerts' outcome."""
        viewer.require(OPENERS, "变更案件阶段")
        case = self._open_case(viewer, ref)
        if stage not in STAGES or STAGES.index(stage) <= STAGES.index(case["stage"]):
            raise Conflict(f"案件处于{case['stage_zh']}，不能转为 {stage!r}"
                           f"（阶段只能向后：{' → '.join(STAGES)}）")  # fmt: skip
        if stage == "closed" and resolution not in RESOLUTIONS:
            raise InvalidInput(f"结案须给出 resolution：{'、'.join(RESOLUTIONS)}")
        if stage != "closed" and resolution:
            raise InvalidInput("只有结案时才给出 resolution")
        now = iso(now_utc())
        outcomes = self._set_outcomes(case, resolution, note) if stage == "closed" else []
        with self._tx() as conn:
            column = STAGE_COLUMN[stage]
            conn.execute(f"UPDATE cases_cases SET stage = ?, {column} = ? WHERE id = ?",
                         (stage, now, case["id"]))  # fmt: skip
            if stage == "closed":
                conn.execute("UPDATE cases_cases SET resolution = ?, resolution_note = ?"
                             " WHERE id = ?", (resolution, note, case["id"]))  # fmt: skip
                for item in outcomes:
                    conn.execute("UPDATE cases_alerts SET outcome = ? WHERE alert_id = ?",
                                 (item["outcome"], item["alert"]))  # fmt: skip
            self._event(conn, case["id"], viewer.name, "stage",
                        {"from": case["stage"], "to": stage, "resolution": resolution or None,
                         "note": note, "alerts": outcomes})  # fmt: skip
        return self._row(case["id"])

    def _set_outcomes(self, case: dict[str, Any], resolution: str,
                      note: str) -> list[dict[str, Any]]:  # fmt: skip
        """Close each linked alert with the case's outcome (the rule's precision counts it)."""
        outcome = ALERT_OUTCOME[resolution]
        risk = self._feature("risk")
        done = []
        for (alert_id,) in self.cdb.db.execute(
            "SELECT alert_id FROM cases_alerts WHERE case_id = ?", (case["id"],)
        ).fetchall():
            status = "skipped"
            if outcome is not None and risk is not None:
                alert = risk.alert(alert_id)
                if alert["status"] in ("open", "acknowledged"):
                    text = f"案件 {case['ref']} 结案：{RESOLUTION_ZH[resolution]} {note}".strip()
                    risk.close_alert(alert_id, outcome, text)
                    status = outcome
                else:
                    status = f"unchanged:{alert['status']}"
            done.append({"alert": alert_id, "outcome": status})
        return done

    # -- listing and search ----------------------------------------------------------------

    def cases(self, viewer: Viewer, filters: dict[str, str] | None = None,
             limit: int = 200) -> list[dict[str, Any]]:  # fmt: skip
        filters = filters or {}
        where, params = viewer.where()
        sql = f"SELECT c.* FROM cases_cases c WHERE {where}"
        for name, column in (("stage", "stage"), ("level", "level"), ("assignee", "assignee"),
                             ("category", "category")):  # fmt: skip
            if filters.get(name):
                sql += f" AND c.{column} = ?"
                params.append(filters[name])
        if filters.get("stage") and filters["stage"] not in STAGES:
            raise InvalidInput(f"stage 应为 {'、'.join(STAGES)} 之一")
        if filters.get("unit"):
            sql += (" AND (c.lead_unit = ? OR EXISTS (SELECT 1 FROM json_each(c.cooperating)"
                    " WHERE value = ?))")  # fmt: skip
            params += [filters["unit"], filters["unit"]]
        if filters.get("from"):
            sql += " AND c.created_at >= ?"
            params.append(iso(_when(filters["from"], "from")))
        if filters.get("to"):  # a date alone means the whole day
            until = _when(filters["to"], "to")
            if len(filters["to"]) == 10:
                until += dt.timedelta(days=1)
            sql += " AND c.created_at < ?"
            params.append(iso(until))
        if filters.get("overdue"):
            sql += (" AND EXISTS (SELECT 1 FROM cases_tasks t WHERE t.case_id = c.id"
                    " AND t.status = 'open' AND t.due < ?)")  # fmt: skip
            params.append(iso(now_utc()))
        if filters.get("q"):
            ids = self._text_ids(filters["q"])
            sql += f" AND c.id IN ({','.join('?' * len(ids)) or 'NULL'})"
            params += ids
        sql += " ORDER BY c.id DESC LIMIT ?"
        return [self._case_json(r) for r in self.cdb.db.execute(sql, (*params, limit))]

    def _reindex(self, case_id: int) -> None:
        db = self.cdb.db
        case = db.execute("SELECT ref, title, category, description FROM cases_cases"
                          " WHERE id = ?", (case_id,)).fetchone()  # fmt: skip
        parts = [case["ref"], case["title"], case["category"], case["description"]]
        parts += [r[0] for r in db.execute(
            "SELECT body FROM cases_comments WHERE case_id = ?", (case_id,))]  # fmt: skip
        parts += [r[0] for r in db.execute(
            "SELECT title FROM cases_tasks WHERE case_id = ?", (case_id,))]  # fmt: skip
        parts += [r[0] for r in db.execute(
            "SELECT title FROM cases_evidence WHERE case_id = ?", (case_id,))]  # fmt: skip
        with self.cdb.transaction() as conn:
            conn.execute("DELETE FROM cases_text WHERE case_id = ?", (case_id,))
            conn.execute("INSERT INTO cases_text (case_id, body) VALUES (?, ?)",
                         (case_id, "\n".join(p for p in parts if p)))  # fmt: skip

    def _text_ids(self, query: str) -> list[int]:
        query = query.strip()
        if not query:
            return []
        if len(query) >= 3:
            phrase = '"' + query.replace('"', '""') + '"'
            rows = self.cdb.db.execute(
                "SELECT case_id FROM cases_text WHERE cases_text MATCH ?", (phrase,)
            )
        else:
            like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self.cdb.db.execute(
                "SELECT case_id FROM cases_text WHERE body LIKE ? ESCAPE '\\'", (like,)
            )
        return sorted({int(r[0]) for r in rows})

    def personal_key(self, kind: str, value: str) -> tuple[str, str | None]:
        """The keyed hash of a personal identifier (or the hash given), and a masked form."""
        value = value.strip()
        if HASH_RE.match(value):
            return value, None
        hasher = self.services.hasher
        if kind == "buyer":
            return hasher.id_hash(value), mask_resident_id(value)
        if kind == "phone":
            return hasher.phone_hash(value), mask_phone(value)
        if kind == "address":
            return hasher.address_hash(value), mask_address(value)
        raise InvalidInput(f"{kind} 不是个人信息类型")

    def entity_key(self, kind: str, value: str) -> tuple[str, str | None]:
        if kind not in ENTITY_KINDS:
            raise InvalidInput(f"实体类型应为 {'、'.join(ENTITY_KINDS)} 之一，收到 {kind!r}")
        if not value.strip() or len(value) > 300:
            raise InvalidInput("实体值为空或过长")
        if kind in PERSONAL:
            return self.personal_key(kind, value)
        if kind in TRACE_KINDS:
            return parse_key(kind, value.strip()).ref.key, None
        return value.strip(), None

    def search_entity(self, viewer: Viewer, kind: str, value: str) -> dict[str, Any]:
        """Every visible case involving this identifier, directly or through a document."""
        key, _ = self.entity_key(kind, value)
        if kind in PERSONAL:  # the query is audited, by its hash: never the identifier
            self.audit(viewer.name, "case.search.entity", f"{kind}:{key}",
                       {"kind": kind, "role": viewer.role})  # fmt: skip
        target = link_id(kind, key)
        where, params = viewer.where()
        cases = {c["id"]: c for c in self._visible(where, params)}
        hits: dict[int, list[dict[str, Any]]] = {}
        index = self.network.get() if kind in ("buyer", "phone", "address", "enterprise") else None
        for row in self.cdb.db.execute("SELECT * FROM cases_entities"):
            if row["case_id"] not in cases:
                continue
            how = None
            if row["kind"] == kind and row["key"] == key:
                how = "直接关联"
            elif index is not None:
                for node, phrase in index.attach(row["kind"], row["key"]):
                    if node == target and phrase:
                        how = f"经{ENTITY_KINDS[row['kind']]}（{phrase}）"
            if how:
                hits.setdefault(row["case_id"], []).append(
                    mask_entity(self._entity_json(row) | {"how": how}, viewer)
                )
        shown = key if viewer.reveals or kind not in PERSONAL else "（已脱敏）"
        return {"kind": kind, "query": shown,
                "cases": [cases[i] | {"matches": hits[i]} for i in sorted(hits)]}  # fmt: skip

    def _visible(self, where: str, params: list[Any]) -> list[dict[str, Any]]:
        return [self._case_json(r) for r in self.cdb.db.execute(
            f"SELECT c.* FROM cases_cases c WHERE {where}", params)]  # fmt: skip

    def search_network(self, viewer: Viewer, kind: str, value: str,
                       hops: int | None = None) -> dict[str, Any]:  # fmt: skip
        """Cases within ``hops`` of a person or enterprise, with the connecting paths."""
        if kind not in ("buyer", "phone", "address", "enterprise", "order", "payment", "waybill"):
            raise InvalidInput("网络查询的起点应为 buyer、phone、address、enterprise，"
                               "或由 order、payment、waybill 找到其订购人/收货人")  # fmt: skip
        hops = hops or self.settings.network_hops
        if not 1 <= hops <= 4:
            raise InvalidInput("hops 应为 1–4")
        key, _ = self.entity_key(kind, value)
        index = self.network.get()
        root = link_id(kind, key)
        if kind in ("order", "payment", "waybill"):  # start from the person behind it
            attached = index.attach(kind, key)
            if not attached:
                raise NotFound(f"图中没有 {ENTITY_KINDS[kind]} {key} 的订购人或收货人")
            root = attached[0][0]
        self.audit(viewer.name, "case.search.network", root,
                   {"kind": kind, "hops": hops, "role": viewer.role})  # fmt: skip
        parents, hubs = reach(index, root, hops, self.settings.max_shared)
        where, params = viewer.where()
        cases = {c["id"]: c for c in self._visible(where, params)}
        found: dict[int, dict[str, Any]] = {}
        edges: set[tuple[str, str]] = set()
        for row in self.cdb.db.execute("SELECT * FROM cases_entities ORDER BY id"):
            case = cases.get(row["case_id"])
            if case is None:
                continue
            for node, phrase in index.attach(row["kind"], row["key"]):
                entity = mask_entity(self._entity_json(row), viewer)
                for nodes in shortest_paths(parents, node):
                    edges.update(itertools.pairwise(nodes))
                    item = found.setdefault(case["id"], {**case, "paths": []})
                    item["paths"].append({"entity": entity, "via": phrase,
                                          "hops": len(nodes) - 1,
                                          **self._path(index, nodes, viewer)})  # fmt: skip
        for item in found.values():
            item["paths"].sort(key=lambda p: p["hops"])
            item["hops"] = item["paths"][0]["hops"]
        ordered = sorted(found.values(), key=lambda c: (c["hops"], c["id"]))
        depth = {root: 0}
        for a, b in sorted(edges, key=lambda e: len(shortest_paths(parents, e[1], 1)[0])):
            depth.setdefault(a, len(shortest_paths(parents, a, 1)[0]) - 1)
            depth.setdefault(b, len(shortest_paths(parents, b, 1)[0]) - 1)
        return {
            "root": self._node(index, root, viewer),
            "hops": hops,
            "cases": ordered,
            "hubs": [
                self._node(index, h, viewer) | {"shared_by": index.graph.degree(h)} for h in hubs
            ],
            "subgraph": {
                "nodes": [
                    self._node(index, n, viewer) | {"depth": d}
                    for n, d in sorted(depth.items(), key=lambda x: (x[1], x[0]))
                ],
                "edges": [
                    {
                        "from": self._alias(a, viewer),
                        "to": self._alias(b, viewer),
                        "relation": index.graph[a][b]["relation"],
                    }
                    for a, b in sorted(edges)
                ],
            },
        }

    def _alias(self, node: str, viewer: Viewer) -> str:
        kind = node.partition(":")[0]
        if kind in PERSONAL_KINDS and not viewer.reveals:
            return f"{kind}:#" + hashlib.sha256(node.encode()).hexdigest()[:8]
        return node

    def _node(self, index: Any, node: str, viewer: Viewer) -> dict[str, Any]:
        kind = node.partition(":")[0]
        return {"id": self._alias(node, viewer), "kind": kind, "kind_zh": LINK_ZH.get(kind, kind),
                "display": index.display.get(node, LINK_ZH.get(kind, kind))}  # fmt: skip

    def _path(self, index: Any, nodes: list[str], viewer: Viewer) -> dict[str, Any]:
        steps = []
        for a, b in itertools.pairwise(nodes):
            data = index.graph[a][b]
            steps.append({"from": self._alias(a, viewer), "to": self._alias(b, viewer),
                          "relation": data["relation"], "via": data["via"],
                          "count": data["count"]})  # fmt: skip
        return {"nodes": [self._node(index, n, viewer) for n in nodes],
                "node_ids": [self._alias(n, viewer) for n in nodes], "edges": steps}  # fmt: skip

    # -- entities --------------------------------------------------------------------------

    def _display(self, kind: str, key: str, masked: str | None) -> str:
        if masked:
            return masked
        if kind == "buyer":
            node = self.services.store.get_nodes([NodeRef("Buyer", key)]).get(NodeRef("Buyer", key))
            if node is not None:
                return (
                    " ".join(
                        str(v)
                        for v in (node.props.get("nameMasked"), node.props.get("idMasked"))
                        if v
                    )
                    or "订购人"
                )
            return "订购人（已散列）"
        if kind in ("phone", "address"):
            index = self.network.get()
            return index.display.get(link_id(kind, key), f"{ENTITY_KINDS[kind]}（已散列）")
        if kind == "enterprise":
            node = self.services.store.get_nodes([NodeRef("Enterprise", key)]).get(
                NodeRef("Enterprise", key))  # fmt: skip
            if node is not None and node.props.get("name"):
                return f"{node.props['name']} {key}"
        return key

    def _insert_entity(self, conn: Any, case_id: int, viewer: Viewer, kind: str, key: str,
                       masked: str | None) -> bool:  # fmt: skip
        display = self._display(kind, key, masked)
        created = conn.execute(
            "INSERT OR IGNORE INTO cases_entities (case_id, kind, key, display, personal,"
            " added_at, added_by) VALUES (?,?,?,?,?,?,?)",
            (case_id, kind, key, display, int(kind in PERSONAL), iso(now_utc()), viewer.name),
        ).rowcount
        return bool(created)

    def add_entity(self, viewer: Viewer, ref: str | int, kind: str, value: str) -> dict[str, Any]:
        viewer.require(WORKERS, "关联实体")
        case = self._open_case(viewer, ref)
        key, masked = self.entity_key(kind, value)
        with self._tx() as conn:
            if not self._insert_entity(conn, case["id"], viewer, kind, key, masked):
                raise Conflict("该实体已关联到本案")
            self._event(
                conn,
                case["id"],
                viewer.name,
                "entity",
                {"kind": kind, "key": key if kind not in PERSONAL else f"#{key[:8]}"},
            )
        row = self.cdb.db.execute("SELECT * FROM cases_entities WHERE case_id = ? AND kind = ?"
                                  " AND key = ?", (case["id"], kind, key)).fetchone()  # fmt: skip
        return mask_entity(self._entity_json(row), viewer)

    @staticmethod
    def _entity_json(row: Any) -> dict[str, Any]:
        item = {"id": row["id"], "kind": row["kind"], "kind_zh": ENTITY_KINDS[row["kind"]],
                "key": row["key"], "display": row["display"], "personal": bool(row["personal"]),
                "added_at": row["added_at"], "added_by": row["added_by"]}  # fmt: skip
        if row["kind"] in TRACE_KINDS:
            item["trace"] = f"/trace?kind={row['kind']}&key={row['key']}"
        return item

    # -- evidence --------------------------------------------------------------------------

    def add_evidence(self, viewer: Viewer, ref: str | int, body: dict[str, Any]) -> dict[str, Any]:
        """A trace snapshot, an archived document, a finding, a note or an opinion post."""
        viewer.require(WORKERS, "添加证据")
        case = self._open_case(viewer, ref)
        kind = _text(body, "kind", 20, required=True)
        if kind not in EVIDENCE_KINDS or kind == "file":
            raise InvalidInput("证据类型应为 trace、document、finding、note、post 之一")
        title = _text(body, "title", 200)
        snapshot: Any = None
        digest = None
        size = None
        if kind == "trace":
            trace_kind = _text(body, "trace_kind", 20, required=True)
            key = _text(body, "key", 300, required=True)
            direction = _text(body, "direction", 10) or "both"
            snapshot = self.services.trace.trace(trace_kind, key, direction)
            evidence_ref = f"{trace_kind}:{snapshot['root']['key']}"
            title = title or f"追溯快照 {evidence_ref}"
        elif kind == "document":
            evidence_ref = _text(body, "ref", 300, required=True)  # <format>/<sha256>.xml
            path = (self.archive / evidence_ref).resolve()
            if not path.is_relative_to(self.archive.resolve()) or not path.is_file():
                raise NotFound(f"归档中没有单证 {evidence_ref}")
            data = self.originals.read(path)  # decrypted: the digest is the file's name
            digest, size = hashlib.sha256(data).hexdigest(), len(data)
            title = title or f"归档单证 {evidence_ref}"
        elif kind == "finding":
            evidence_ref = _text(body, "ref", 200, required=True)
            snapshot = next((f for f in self.services.ledger.findings(include_resolved=True)
                             if str(f.get("id")) == evidence_ref), None)  # fmt: skip
            if snapshot is None:
                raise NotFound(f"没有核验发现 {evidence_ref}")
            title = title or f"核验发现 {snapshot.get('code', '')} {evidence_ref}"
        else:  # note, post
            evidence_ref = _text(body, "ref", 300)
            text = _text(body, "text", 20_000, required=(kind == "note"))
            snapshot = {"text": text, "url": _text(body, "url", 1000)}
            post = self._post(evidence_ref) if kind == "post" and evidence_ref else None
            if post is not None:  # the post as the opinion index holds it now
                snapshot = post
            title = title or (f"舆情帖子 {evidence_ref}" if kind == "post" else "调查结论")
        if snapshot is not None:
            encoded = dumps(snapshot)
            digest, size = digest or hashlib.sha256(encoded.encode()).hexdigest(), len(encoded)
        with self._tx() as conn:
            evidence_id = conn.execute(
                "INSERT INTO cases_evidence (case_id, kind, ref, title, snapshot, sha256, size,"
                " added_at, added_by) VALUES (?,?,?,?,?,?,?,?,?)",
                (case["id"], kind, evidence_ref, title,
                 dumps(snapshot) if snapshot is not None else None, digest, size,
                 iso(now_utc()), viewer.name),
            ).lastrowid  # fmt: skip
            assert evidence_id is not None
            self._event(
                conn,
                case["id"],
                viewer.name,
                "evidence",
                {"id": evidence_id, "kind": kind, "ref": evidence_ref, "sha256": digest},
            )
        self._reindex(case["id"])
        return self.evidence(viewer, case["id"], evidence_id)

    def _post(self, doc_id: str) -> dict[str, Any] | None:
        """An opinion post from the opinions feature's index, copied into the evidence."""
        opinions = self._feature("opinions")
        if opinions is None:
            return None
        doc = opinions.search.get(doc_id)
        if doc is None:
            raise NotFound(f"舆情索引中没有帖子 {doc_id}")
        return {"doc_id": doc.doc_id, "url": doc.url, "source": doc.source, "title": doc.title,
                "text": doc.text[:20_000], "published": doc.published.isoformat(),
                "sentiment": str(doc.sentiment), "score": doc.score}  # fmt: skip

    def upload(self, viewer: Viewer, ref: str | int, name: str, data: bytes) -> dict[str, Any]:
        """A file from the investigator: size-limited, type-checked, stored privately (0600)."""
        viewer.require(WORKERS, "上传文件")
        case = self._open_case(viewer, ref)
        limit = self.settings.max_file_bytes
        if len(data) > limit:
            raise TooLarge(f"文件过大：{len(data)} 字节，上限 {limit} 字节")
        if not data:
            raise InvalidInput("文件为空")
        media = sniff(data)
        if media is None or media not in self.settings.file_types:
            raise InvalidInput(f"不接受的文件类型（按内容识别）；可上传 "
                               f"{'、'.join(self.settings.file_types)}")  # fmt: skip
        clean = SAFE_NAME.sub("_", Path(name or "file").name)[:100] or "file"
        digest = hashlib.sha256(data).hexdigest()
        self.files_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.files_dir, 0o700)
        path = self.files_dir / digest
        if not path.exists():
            fd = os.open(path.with_suffix(".part"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(path.with_suffix(".part"), path)
        with self._tx() as conn:
            evidence_id = conn.execute(
                "INSERT INTO cases_evidence (case_id, kind, ref, title, sha256, size, media_type,"
                " file_name, added_at, added_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (case["id"], "file", digest, clean, digest, len(data), media, clean,
                 iso(now_utc()), viewer.name),
            ).lastrowid  # fmt: skip
            assert evidence_id is not None
            self._event(conn, case["id"], viewer.name, "evidence",
                        {"id": evidence_id, "kind": "file", "name": clean, "sha256": digest,
                         "size": len(data), "type": media})  # fmt: skip
        self._reindex(case["id"])
        return self.evidence(viewer, case["id"], evidence_id)

    def evidence(self, viewer: Viewer, ref: str | int, evidence_id: int,
                 with_snapshot: bool = True) -> dict[str, Any]:  # fmt: skip
        case = self.case(viewer, ref)
        row = self.cdb.db.execute("SELECT * FROM cases_evidence WHERE id = ? AND case_id = ?",
                                  (evidence_id, case["id"])).fetchone()  # fmt: skip
        if row is None:
            raise NotFound(f"案件 {case['ref']} 没有证据 {evidence_id}")
        item = self._evidence_json(row, with_snapshot)
        if item.get("snapshot") is not None and item["kind"] == "trace":
            item["snapshot"] = mask_snapshot(item["snapshot"], viewer)
        return item

    @staticmethod
    def _evidence_json(row: Any, with_snapshot: bool) -> dict[str, Any]:
        item = {k: row[k] for k in ("id", "kind", "ref", "title", "sha256", "size",
                                    "media_type", "file_name", "added_at", "added_by")}  # fmt: skip
        item["kind_zh"] = EVIDENCE_KINDS[row["kind"]]
        if with_snapshot and row["snapshot"] is not None:
            item["snapshot"] = json.loads(row["snapshot"])
        return item

    def file(
        self, viewer: Viewer, ref: str | int, evidence_id: int
    ) -> tuple[dict[str, Any], bytes]:
        item = self.evidence(viewer, ref, evidence_id, with_snapshot=False)
        if item["kind"] != "file":
            raise NotFound("该证据不是上传文件")
        data = (self.files_dir / item["sha256"]).read_bytes()
        case = self._row(ref)
        with self._tx() as conn:
            self._event(conn, case["id"], viewer.name, "download", {"evidence": evidence_id})
        return item, data

    # -- tasks -----------------------------------------------------------------------------

    def add_task(self, viewer: Viewer, ref: str | int, body: dict[str, Any]) -> dict[str, Any]:
        viewer.require(WORKERS, "分派任务")
        case = self._open_case(viewer, ref)
        title = _text(body, "title", 200, required=True)
        owner = _text(body, "owner", 64, required=True)
        due = iso(_when(_text(body, "due", 40, required=True), "due"))
        with self._tx() as conn:
            task_id = conn.execute(
                "INSERT INTO cases_tasks (case_id, title, owner, due, created_at, created_by)"
                " VALUES (?,?,?,?,?,?)",
                (case["id"], title, owner, due, iso(now_utc()), viewer.name),
            ).lastrowid
            self._event(
                conn,
                case["id"],
                viewer.name,
                "task",
                {"id": task_id, "title": title, "owner": owner, "due": due},
            )
        self._reindex(case["id"])
        return self._task(case["id"], int(task_id or 0))

    def set_task(self, viewer: Viewer, ref: str | int, task_id: int, status: str) -> dict[str, Any]:
        viewer.require(WORKERS, "更新任务")
        case = self._open_case(viewer, ref)
        if status not in TASK_STATUSES:
            raise InvalidInput(f"任务状态应为 {'、'.join(TASK_STATUSES)} 之一")
        task = self._task(case["id"], task_id)
        with self._tx() as conn:
            conn.execute(
                "UPDATE cases_tasks SET status = ?, done_at = ? WHERE id = ?",
                (status, iso(now_utc()) if status != "open" else None, task_id),
            )
            self._event(conn, case["id"], viewer.name, "task.status",
                        {"id": task_id, "from": task["status"], "to": status})  # fmt: skip
        return self._task(case["id"], task_id)

    def _task(self, case_id: int, task_id: int) -> dict[str, Any]:
        row = self.cdb.db.execute(
            "SELECT t.*, e.created_at AS escalated_at FROM cases_tasks t LEFT JOIN"
            " cases_escalations e ON e.task_id = t.id WHERE t.id = ? AND t.case_id = ?",
            (task_id, case_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"没有任务 {task_id}")
        return self._task_json(row)

    @staticmethod
    def _task_json(row: Any) -> dict[str, Any]:
        item = dict(row)
        item["status_zh"] = TASK_ZH[item["status"]]
        item["overdue"] = item["status"] == "open" and item["due"] < iso(now_utc())
        return item

    def overdue_tasks(self, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        rows = self.cdb.db.execute(
            "SELECT t.*, c.ref, c.title AS case_title, c.lead_unit, c.assignee"
            " FROM cases_tasks t JOIN cases_cases c ON c.id = t.case_id"
            " WHERE t.status = 'open' AND t.due < ? AND c.stage != 'closed' ORDER BY t.due",
            (iso(now or now_utc()),),
        )
        return [dict(r) for r in rows]

    def escalate(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """Each overdue open task is escalated once: a row, a timeline event, an email."""
        sent, recorded = 0, 0
        for task in self.overdue_tasks(now):
            recipients = [r for r in dict.fromkeys(
                (task["owner"], task["assignee"], task["lead_unit"])) if r]  # fmt: skip
            with self._tx() as conn:
                created = conn.execute(
                    "INSERT OR IGNORE INTO cases_escalations (task_id, case_id, recipients,"
                    " created_at) VALUES (?,?,?,?)",
                    (task["id"], task["case_id"], dumps(recipients), iso(now_utc())),
                ).rowcount
                if not created:
                    continue
                recorded += 1
                self._event(conn, task["case_id"], "system", "task.escalate",
                            {"id": task["id"], "title": task["title"], "due": task["due"],
                             "recipients": recipients})  # fmt: skip
            try:
                state = "queued" if self._email(task, recipients) else "not_sent"
            except Exception:  # the escalation stands; the mail failure is logged and kept
                log.exception("escalation email of task %s could not be queued", task["id"])
                state = "failed"
            sent += state == "queued"
            self.cdb.db.execute("UPDATE cases_escalations SET email = ? WHERE task_id = ?",
                                (state, task["id"]))  # fmt: skip
        return {"escalated": recorded, "emails": sent}

    def _email(self, task: dict[str, Any], recipients: list[str]) -> bool:
        """The escalation email of an overdue task (see :meth:`_mail`)."""
        subject = f"【案件任务逾期】{task['ref']} {task['title']}"
        intro = (
            f"案件 {task['ref']}（{task['case_title']}）的任务“{task['title']}”"
            f"（负责人 {task['owner']}）已于 {task['due']} 到期仍未完成，现予升级提醒。"
            f"请登录控制台 /cases/{task['ref']} 处理。"
        )
        return self._mail(recipients, subject, intro, f"case-task:{task['id']}",
                          f"{task['ref']}#task-{task['id']}")  # fmt: skip

    def _mail(self, names: list[str], subject: str, intro: str, group_key: str,
              ref: str) -> bool:  # fmt: skip
        """Queue one email in the risk feature's outbox (alerts/notify), which the worker's
        ``risk.send`` job delivers by SMTP.  Recipients: the mail addresses of the units
        among ``names`` (``units.toml``); users have no address in the accounts table.
        False when email is off (``[risk.email] enabled``) or nobody has an address."""
        risk = self._feature("risk")
        notifier = getattr(risk, "notifier", None)
        if risk is None or notifier is None or not notifier.enabled:
            return False
        try:
            units = risk.units()
        except Exception:  # no units file: nobody to mail
            log.warning("units unavailable: %s not emailed", group_key)
            return False
        addresses = list(dict.fromkeys(
            a for r in names if r in units for a in units[r].email))  # fmt: skip
        if not addresses:
            return False
        with risk.rdb.transaction() as conn:
            notifier.enqueue(
                conn, kind="case", group_key=group_key, alert_ids=[], recipients=addresses,
                subject=subject, title=subject, intro=intro, alerts=[], now=now_utc(), ref=ref,
            )  # fmt: skip
        return True

    # -- comments --------------------------------------------------------------------------

    def _known(self, name: str) -> str | None:
        """'user' or 'unit' for a mention, None when nobody by that name exists."""
        accounts = self._feature("accounts")
        if accounts is not None:
            try:
                accounts.store.user(name)
                return "user"
            except NotFound:
                pass
        risk = self._feature("risk")
        if risk is not None:
            try:
                if name in risk.units():
                    return "unit"
            except Exception:  # units file missing or invalid: no unit mentions
                log.debug("units unavailable for mentions", exc_info=True)
        return None

    def comment(self, viewer: Viewer, ref: str | int, body: str) -> dict[str, Any]:
        viewer.require(WORKERS, "发表意见")
        case = self.case(viewer, ref)
        text = body.strip()
        if not text or len(text) > 5000:
            raise InvalidInput("意见内容为空或过长（最多 5000 字）")
        mentions = []
        for name in dict.fromkeys(MENTION_RE.findall(text)):
            kind = self._known(name)
            if kind:
                mentions.append({"name": name, "kind": kind})
        now = iso(now_utc())
        with self._tx() as conn:
            comment_id = conn.execute(
                "INSERT INTO cases_comments (case_id, author, body, mentions, created_at)"
                " VALUES (?,?,?,?,?)", (case["id"], viewer.name, text, dumps(mentions), now),
            ).lastrowid  # fmt: skip
            for mention in mentions:
                conn.execute(
                    "INSERT INTO cases_notifications (case_id, recipient, recipient_kind,"
                    " reason, ref, created_at) VALUES (?,?,?,?,?,?)",
                    (
                        case["id"],
                        mention["name"],
                        mention["kind"],
                        "mention",
                        f"comment:{comment_id}",
                        now,
                    ),
                )
            self._event(
                conn,
                case["id"],
                viewer.name,
                "comment",
                {"id": comment_id, "mentions": [m["name"] for m in mentions]},
            )
        self._reindex(case["id"])
        units = [m["name"] for m in mentions if m["kind"] == "unit"]
        if units:
            try:
                queued = self._mail(
                    units, f"【案件意见提及】{case['ref']} {case['title']}",
                    f"{viewer.name} 在案件 {case['ref']} 的意见中提及贵单位：\n{text}\n"
                    f"请登录控制台 /cases/{case['ref']} 查看。",
                    f"case-comment:{comment_id}", f"{case['ref']}#comment-{comment_id}",
                )  # fmt: skip
            except Exception:
                log.exception("mention email of comment %s could not be queued", comment_id)
                queued = False
            if queued:
                self.cdb.db.execute(
                    "UPDATE cases_notifications SET email = 'queued' WHERE ref = ?"
                    " AND recipient_kind = 'unit'", (f"comment:{comment_id}",))  # fmt: skip
        return {"id": comment_id, "author": viewer.name, "body": text, "mentions": mentions,
                "created_at": now}  # fmt: skip

    def inbox(self, viewer: Viewer, limit: int = 100) -> list[dict[str, Any]]:
        """Mentions of the viewer or the viewer's unit, in the cases the viewer sees."""
        where, params = viewer.where()
        rows = self.cdb.db.execute(
            "SELECT n.id, n.case_id, n.recipient, n.recipient_kind, n.reason, n.ref AS about,"
            " n.created_at, c.ref, c.title FROM cases_notifications n JOIN cases_cases c"
            f" ON c.id = n.case_id WHERE n.recipient IN (?, ?) AND {where}"
            " ORDER BY n.id DESC LIMIT ?",
            (viewer.name, viewer.unit or viewer.name, *params, limit),
        )
        return [dict(r) for r in rows]

    def notifications(self, recipient: str) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.cdb.db.execute(
                "SELECT * FROM cases_notifications WHERE recipient = ? ORDER BY id", (recipient,)
            )
        ]

    # -- the whole case --------------------------------------------------------------------

    def timeline(self, case_id: int) -> list[dict[str, Any]]:
        return [
            {
                "time": r["time"],
                "actor": r["actor"],
                "action": r["action"],
                "detail": json.loads(r["detail"]),
                "audit_seq": r["audit_seq"],
            }
            for r in self.cdb.db.execute(
                "SELECT * FROM cases_events WHERE case_id = ? ORDER BY id", (case_id,)
            )
        ]

    def show(self, viewer: Viewer, ref: str | int) -> dict[str, Any]:
        case = self.case(viewer, ref)
        cid = case["id"]
        db = self.cdb.db
        case["alerts"] = [
            dict(r)
            for r in db.execute(
                "SELECT * FROM cases_alerts WHERE case_id = ? ORDER BY alert_id", (cid,)
            )
        ]
        case["entities"] = [
            mask_entity(self._entity_json(r), viewer)
            for r in db.execute(
                "SELECT * FROM cases_entities WHERE case_id = ? ORDER BY id", (cid,)
            )
        ]
        case["evidence"] = [
            self._evidence_json(r, False)
            for r in db.execute(
                "SELECT * FROM cases_evidence WHERE case_id = ? ORDER BY id", (cid,)
            )
        ]
        case["tasks"] = [
            self._task_json(r)
            for r in db.execute(
                "SELECT t.*, e.created_at AS escalated_at FROM cases_tasks t LEFT JOIN"
                " cases_escalations e ON e.task_id = t.id WHERE t.case_id = ? ORDER BY t.id",
                (cid,),
            )
        ]
        case["comments"] = [
            dict(r) | {"mentions": json.loads(r["mentions"])}
            for r in db.execute(
                "SELECT * FROM cases_comments WHERE case_id = ? ORDER BY id", (cid,)
            )
        ]
        case["timeline"] = self.timeline(cid)
        case["viewer"] = {"name": viewer.name, "role": viewer.role, "role_zh": viewer.role_zh,
                          "reveals": viewer.reveals}  # fmt: skip
        return case

    def unmask(self, viewer: Viewer, ref: str | int, entity_id: int, reason: str) -> dict[str, Any]:
        """Public security: the personal data behind a linked document, with a reason."""
        if viewer.role not in UNMASKERS:
            raise Forbidden("只有公安人员可以在说明事由后查看个人信息原文")
        accounts = self._feature("accounts")
        if accounts is None:
            raise NotFound("用户与权限功能未启用，无法审计，不能解除脱敏")
        case = self.case(viewer, ref)
        row = self.cdb.db.execute("SELECT * FROM cases_entities WHERE id = ? AND case_id = ?",
                                  (entity_id, case["id"])).fetchone()  # fmt: skip
        if row is None:
            raise NotFound(f"案件 {case['ref']} 没有实体 {entity_id}")
        if len(reason.strip()) < MIN_REASON:
            raise InvalidInput(f"须说明查询事由 (reason)，至少 {MIN_REASON} 个字")
        kind, key = row["kind"], row["key"]
        if kind == "buyer":  # the buyer's personal data is in an order they placed
            orders = [
                k
                for k, links in self.network.get().documents.items()
                if k.startswith("order:") and (link_id("buyer", key), "订单的订购人") in links
            ]
            if not orders:
                raise NotFound("图中没有该订购人的订单，无法从归档读取原文")
            kind, key = "order", orders[0].removeprefix("order:")
        if kind not in ("order", "payment", "waybill"):
            raise InvalidInput("只能对订单、支付单、运单或订购人解除脱敏")
        result = unmask_document(accounts.store, accounts.archive, viewer.name,
                                 {"kind": kind, "key": key, "reason": reason,
                                  "case": case["ref"]})  # fmt: skip
        with self._tx() as conn:
            self._event(
                conn,
                case["id"],
                viewer.name,
                "unmask",
                {"entity": entity_id, "kind": kind, "reason": reason},
            )
        return result
