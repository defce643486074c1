"""What to send and when: groups, the notification log, silences, links, escalations.

Every message is rendered and written to ``risk_mail_outbox`` inside the transaction that
records why it is sent (the notification log row of its group, the escalation, the
resolution, the digest watermark), so a state change and its email commit or roll back
together; ``alerts.notify.outbox`` delivers them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alerts.config import LEVEL_ZH, Routing, Unit
from alerts.db import dumps, iso, now_utc, parse_time
from alerts.notify import render
from alerts.notify.render import CATEGORY_ZH
from alerts.notify.settings import EmailSettings
from traceability.errors import Conflict, InvalidInput, NotFound
from traceability.store.port import NodeRef

if TYPE_CHECKING:
    from alerts.service import RiskService

CST = dt.timezone(dt.timedelta(hours=8))
LABELS = ("rule", "category", "level", "owner", "fingerprint", "route", "unit", "entity", "id")


class LinkInvalid(InvalidInput):
    code = "ack_link_invalid"
    title = "签收链接无效"


class LinkExpired(InvalidInput):
    status = 410
    code = "ack_link_expired"
    title = "签收链接已过期"


def _age(since: dt.datetime | None, now: dt.datetime) -> str:
    if since is None:
        return "—"
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} 分钟"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时 {minutes % 60} 分钟"
    return f"{minutes // 1440} 天 {minutes // 60 % 24} 小时"


def _local(value: str | None) -> str:
    moment = parse_time(value)
    return moment.astimezone(CST).strftime("%Y-%m-%d %H:%M") if moment else "—"


@dataclass
class Group:
    key: str
    unit: str
    route: str
    labels: dict[str, str]
    alerts: list[dict[str, Any]] = field(default_factory=list)


class Notifier:
    def __init__(self, service: RiskService) -> None:
        self.service = service
        self.rdb = service.rdb
        self._stored_key: bytes | None = None

    @property
    def settings(self) -> EmailSettings:
        return self.service.settings.email

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    # -- acknowledgement links -----------------------------------------------------------

    def _key(self) -> bytes:
        if self.settings.ack_secret:
            return self.settings.ack_secret.encode()
        if self._stored_key is not None:
            return self._stored_key
        row = self.rdb.db.execute("SELECT value FROM risk_mail_keys WHERE name = 'ack'").fetchone()
        if row:
            self._stored_key = bytes(row[0], "ascii")
            return self._stored_key
        db = self.rdb.db
        insert = "INSERT OR IGNORE INTO risk_mail_keys VALUES ('ack', ?)"
        if db.in_transaction:  # inside review's transaction: the key commits with it
            db.execute(insert, (secrets.token_hex(32),))
        else:
            with self.rdb.transaction() as conn:
                conn.execute(insert, (secrets.token_hex(32),))
        value = db.execute("SELECT value FROM risk_mail_keys WHERE name = 'ack'").fetchone()
        return bytes(value[0], "ascii")

    def ack_token(self, alert_id: int, now: dt.datetime | None = None, unit: str = "") -> str:
        expires = int((now or now_utc()).timestamp() + self.settings.ack_ttl_hours * 3600)
        payload = dumps({"a": alert_id, "e": expires, "n": secrets.token_urlsafe(9), "u": unit})
        body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        sig = hmac.new(self._key(), body.encode(), hashlib.sha256).digest()
        return f"{body}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"

    def verify_token(self, token: str, now: dt.datetime | None = None) -> dict[str, Any]:
        body, _, sig = token.partition(".")
        expected = (
            base64.urlsafe_b64encode(hmac.new(self._key(), body.encode(), hashlib.sha256).digest())
            .decode()
            .rstrip("=")
        )
        if not body or not hmac.compare_digest(sig.encode(), expected.encode()):
            raise LinkInvalid("签收链接无效（签名不符或链接不完整）")
        try:
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            alert_id, expires, nonce = int(claims["a"]), int(claims["e"]), str(claims["n"])
        except (ValueError, KeyError, TypeError):
            raise LinkInvalid("签收链接无效（内容无法解析）") from None
        if (now or now_utc()).timestamp() > expires:
            raise LinkExpired("签收链接已过期，请登录控制台签收")
        used = self.rdb.db.execute(
            "SELECT used_at FROM risk_ack_links_used WHERE nonce = ?", (nonce,)
        ).fetchone()
        return {"alert_id": alert_id, "expires": expires, "nonce": nonce,
                "unit": str(claims.get("u", "")), "used_at": used[0] if used else None}  # fmt: skip

    def ack_by_link(self, token: str, now: dt.datetime | None = None) -> dict[str, Any]:
        """Acknowledge the alert of a link (POST only); a link acts once."""
        claims = self.verify_token(token, now)
        by = f"邮件签收链接（{claims['unit'] or '收件单位'}）"
        with self.rdb.transaction() as conn:
            try:
                conn.execute(
                    "INSERT INTO risk_ack_links_used VALUES (?,?,?,?)",
                    (claims["nonce"], claims["alert_id"], iso(now or now_utc()), by),
                )
            except sqlite3.IntegrityError:
                raise Conflict("此签收链接已使用过") from None
            row = conn.execute(
                "SELECT status FROM risk_alerts WHERE id = ?", (claims["alert_id"],)
            ).fetchone()
            if row is None:
                raise NotFound(f"没有预警 {claims['alert_id']}")
            if row[0] != "open":
                raise Conflict(f"预警 {claims['alert_id']} 状态为 {row[0]}，无需签收")
            conn.execute(
                "UPDATE risk_alerts SET status = 'acknowledged', acknowledged_at = ?,"
                " acknowledged_by = ? WHERE id = ?",
                (iso(now or now_utc()), by, claims["alert_id"]),
            )
        return self.service.alert(claims["alert_id"])

    # -- silences ------------------------------------------------------------------------

    def add_silence(
        self, matchers: dict[str, Any], by: str, comment: str, hours: float,
        now: dt.datetime | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        if not matchers or not isinstance(matchers, dict):
            raise InvalidInput(f"静默须至少有一个匹配条件（{'、'.join(LABELS)}）")
        unknown = set(matchers) - set(LABELS)
        if unknown:
            raise InvalidInput(f"未知的匹配标签: {', '.join(sorted(unknown))}")
        if not by.strip() or not comment.strip():
            raise InvalidInput("静默须写明创建人与说明")
        if not 0 < hours <= 24 * 90:
            raise InvalidInput("静默时长应在 0–2160 小时之间")
        start = now or now_utc()
        with self.rdb.transaction() as conn:
            silence_id = conn.execute(
                "INSERT INTO risk_silences (matchers, created_by, comment, starts_at, ends_at,"
                " created_at) VALUES (?,?,?,?,?,?)",
                (dumps({k: str(v) for k, v in matchers.items()}), by, comment, iso(start),
                 iso(start + dt.timedelta(hours=hours)), iso(now_utc())),
            ).lastrowid  # fmt: skip
            conn.execute(
                "INSERT INTO risk_silence_audit (silence_id, action, actor, time, detail)"
                " VALUES (?,?,?,?,?)",
                (silence_id, "create", by, iso(now_utc()), comment),
            )
        return self.silence(int(silence_id or 0), now)

    def expire_silence(self, silence_id: int, by: str, now: dt.datetime | None = None) -> None:
        with self.rdb.transaction() as conn:
            changed = conn.execute(
                "UPDATE risk_silences SET expired_at = ?, expired_by = ? WHERE id = ?"
                " AND expired_at IS NULL AND ends_at > ?",
                (iso(now or now_utc()), by, silence_id, iso(now or now_utc())),
            ).rowcount
            if changed:
                conn.execute(
                    "INSERT INTO risk_silence_audit (silence_id, action, actor, time)"
                    " VALUES (?,?,?,?)",
                    (silence_id, "expire", by, iso(now_utc())),
                )
        if not changed:
            raise NotFound(f"没有生效中的静默 {silence_id}")

    def _silence_json(self, row: Any, now: dt.datetime) -> dict[str, Any]:
        item = dict(row, matchers=json.loads(row["matchers"]))
        ends = parse_time(row["ends_at"]) or now
        item["active"] = row["expired_at"] is None and ends > now
        item["audit"] = [
            dict(a) for a in self.rdb.db.execute(
                "SELECT action, actor, time, detail FROM risk_silence_audit WHERE silence_id = ?"
                " ORDER BY id", (row["id"],))
        ]  # fmt: skip
        return item

    def silence(self, silence_id: int, now: dt.datetime | None = None) -> dict[str, Any]:
        row = self.rdb.db.execute("SELECT * FROM risk_silences WHERE id = ?", (silence_id,))
        found = row.fetchone()
        if found is None:
            raise NotFound(f"没有静默 {silence_id}")
        return self._silence_json(found, now or now_utc())

    def silences(self, active_only: bool = False, now: dt.datetime | None = None) -> list[Any]:
        moment = now or now_utc()
        items = [
            self._silence_json(r, moment)
            for r in self.rdb.db.execute("SELECT * FROM risk_silences ORDER BY id DESC")
        ]
        return [s for s in items if s["active"]] if active_only else items

    @staticmethod
    def _matches(matchers: dict[str, str], labels: dict[str, Any]) -> bool:
        for name, wanted in matchers.items():
            value = labels.get(name)
            values = value if isinstance(value, list) else [value]
            if wanted not in [str(v) for v in values]:
                return False
        return True

    # -- alerts and their labels ----------------------------------------------------------

    def _entity_names(self, entities: set[str]) -> dict[str, str]:
        refs: dict[str, NodeRef] = {}
        for entity in entities:
            label, _, key = entity.partition(":")
            if label == "Batch":
                refs[entity] = NodeRef("Product", key.split(":")[0])
            elif label in ("Enterprise", "Product"):
                refs[entity] = NodeRef(label, key)
        names: dict[str, str] = {}
        try:
            nodes = self.service.store.get_nodes(set(refs.values())) if refs else {}
        except Exception:
            nodes = {}
        for entity, ref in refs.items():
            node = nodes.get(ref)
            name = str(node.props.get("name") or "") if node else ""
            if entity.startswith("Batch:"):
                lot = entity.split(":")[-1]
                names[entity] = f"{name or ref.key} 批号 {lot}"
            elif name:
                names[entity] = name
        return names

    def _alert_rows(self, where: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        rows = self.rdb.db.execute(
            "SELECT a.*, r.category, r.owner, r.entities, r.explanation, r.key"
            " FROM risk_alerts a JOIN risk_risks r ON r.fingerprint = a.fingerprint"
            f" WHERE {where} ORDER BY a.id", params,
        ).fetchall()  # fmt: skip
        items = []
        for row in rows:
            item = dict(row)
            for name in ("lead", "cooperate", "decision", "entities"):
                item[name] = json.loads(item[name])
            items.append(item)
        return items

    def _contexts(
        self, alerts: list[dict[str, Any]], now: dt.datetime, links: bool, unit: str = ""
    ) -> list[dict[str, Any]]:
        units = self.service._units_or_empty()
        rules = {r.id: r for r in self.service._rules_or_empty()}
        names = self._entity_names({e for a in alerts for e in a["entities"]})
        base = self.settings.base_url.rstrip("/")
        out = []
        for a in alerts:
            entity = next((names[e] for e in a["entities"] if e in names), None)
            entity = entity or (a["entities"][0].split(":", 1)[-1] if a["entities"] else a["key"])
            rule = rules.get(a["rule"])
            ack = links and a["status"] == "open"
            out.append({
                "id": a["id"], "level": a["level"],
                "level_zh": LEVEL_ZH.get(a["level"], a["level"]),
                "category_zh": CATEGORY_ZH.get(a["category"], a["category"]), "entity": entity,
                "rule": a["rule"], "description": rule.description if rule else a["rule"],
                "action": rule.action if rule else "按规定核查处置",
                "explanation": a["explanation"],
                "lead": "、".join(units[u].name if u in units else u for u in a["lead"]),
                "cooperate": "、".join(units[u].name if u in units else u for u in a["cooperate"]),
                "created": _local(a["created_at"]), "deadline": _local(a["deadline"]),
                "age": _age(parse_time(a["created_at"]), now),
                "ack_url": f"{base}/alerts/ack/{self.ack_token(a['id'], now, unit)}" if ack else "",
                "console_url": f"{base}/alerts/{a['id']}",
            })  # fmt: skip
        return out

    def _subject(self, prefix: str, ctx: list[dict[str, Any]], total: int = 0) -> str:
        first = ctx[0]
        total = max(total, len(ctx))
        more = f" 等 {total} 条预警" if total > 1 else ""
        return (
            f"{prefix}【{first['level_zh']}风险】{first['category_zh']} · {first['entity']}{more}"
        )

    # -- the outbox ------------------------------------------------------------------------

    def enqueue(
        self, conn: sqlite3.Connection, *, kind: str, group_key: str, alert_ids: list[int],
        recipients: list[str], subject: str, title: str, intro: str,
        alerts: list[dict[str, Any]], now: dt.datetime, thread: list[str] | None = None,
        ref: str | None = None,
    ) -> str:  # fmt: skip
        """Render one message and add it to the outbox inside the caller's transaction."""
        message_id = render.new_message_id(self.settings, kind)
        raw = render.build(
            self.settings, recipients=recipients, subject=subject, message_id=message_id,
            when=now, thread=thread,
            context={"title": title, "intro": intro, "alerts": alerts,
                     "console_url": self.settings.base_url.rstrip("/") + "/risks"},
        )  # fmt: skip
        conn.execute(
            "INSERT INTO risk_mail_outbox (message_id, kind, group_key, alert_ids, ref, sender,"
            " recipients, subject, raw, next_attempt, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (message_id, kind, group_key, dumps(alert_ids), ref, self.settings.sender,
             dumps(recipients), subject, raw, time.time(), iso(now)),
        )  # fmt: skip
        return message_id

    # -- grouping (Alertmanager) -----------------------------------------------------------

    def _groups(self, now: dt.datetime, routing: Routing, units: dict[str, Unit]) -> list[Group]:
        levels = tuple(self.settings.levels) or ("serious",)
        alerts = self._alert_rows(
            f"a.status = 'open' AND a.level IN ({','.join('?' * len(levels))})", levels
        )
        silences = self.silences(active_only=True, now=now)
        routes = {r.name: r for r in routing.routes}
        groups: dict[str, Group] = {}
        for alert in alerts:
            route_name = (alert["decision"].get("matched") or ["default"])[0]
            route = routes.get(route_name)
            group_by = (route.group_by if route and route.group_by is not None
                        else self.settings.group_by)  # fmt: skip
            for unit in dict.fromkeys([*alert["lead"], *alert["cooperate"]]):
                labels = {
                    "rule": alert["rule"], "category": alert["category"], "level": alert["level"],
                    "owner": alert["owner"], "fingerprint": alert["fingerprint"],
                    "route": route_name, "unit": unit, "entity": alert["entities"],
                    "id": str(alert["id"]),
                }  # fmt: skip
                if any(self._matches(s["matchers"], labels) for s in silences):
                    continue
                if unit not in units or not units[unit].email:
                    continue
                chosen = {n: str(labels.get(n, "")) for n in group_by if n != "entity"}
                key = f"{unit}|{route_name}|" + ",".join(f"{k}={v}" for k, v in chosen.items())
                group = groups.setdefault(key, Group(key, unit, route_name, chosen))
                group.alerts.append(alert)
        return list(groups.values())

    def flush(self, now: dt.datetime | None = None) -> dict[str, int]:
        """Enqueue the groups that are due: first after group_wait, changes after
        group_interval, an unchanged group again after repeat_interval."""
        if not self.enabled:
            return {}
        now = now or now_utc()
        routing, units = self.service.routing(), self.service.units()
        routes = {r.name: r for r in routing.routes}
        counts: dict[str, int] = defaultdict(int)
        for group in self._groups(now, routing, units):
            ids = sorted(a["id"] for a in group.alerts)
            content = hashlib.sha1(
                dumps([(a["id"], a["level"], a["deadline"]) for a in group.alerts]).encode()
            ).hexdigest()
            row = self.rdb.db.execute(
                "SELECT * FROM risk_notify_log WHERE group_key = ?", (group.key,)
            ).fetchone()
            route = routes.get(group.route)
            repeat = (route.repeat_interval_seconds if route and route.repeat_interval_seconds
                      is not None else self.settings.repeat_interval_seconds)  # fmt: skip
            if row is None:
                first = min(parse_time(a["created_at"]) or now for a in group.alerts)
                due = first + dt.timedelta(seconds=self.settings.group_wait_seconds)
                reason = "new"
            else:
                sent = parse_time(row["sent_at"]) or now
                known = set(json.loads(row["alert_ids"]))
                if row["content"] != content and not set(ids) <= known:
                    due = sent + dt.timedelta(seconds=self.settings.group_interval_seconds)
                    reason = "changed"
                else:
                    due = sent + dt.timedelta(seconds=repeat)
                    reason = "repeat"
            if due > now:
                counts["waiting"] += 1
                continue
            listed = group.alerts[: self.settings.max_listed]
            ctx = self._contexts(listed, now, links=True, unit=group.unit)
            rest = len(ids) - len(listed)
            tail = f"另有 {rest} 条未列出，请在控制台查看。" if rest > 0 else ""
            unit = units[group.unit]
            prefix = "【重复提醒】" if reason == "repeat" else ""
            thread = [row["thread_id"], row["last_message_id"]] if row else None
            with self.rdb.transaction() as conn:
                message_id = self.enqueue(
                    conn, kind="alert", group_key=group.key, alert_ids=ids,
                    recipients=list(unit.email), subject=self._subject(prefix, ctx, len(ids)),
                    title=f"{unit.name}：风险预警通知（{len(ids)} 条）",
                    intro=f"以下预警由 {unit.name} 牵头或配合处置，请及时签收。{tail}",
                    alerts=ctx, now=now, thread=thread,
                )  # fmt: skip
                conn.execute(
                    "INSERT INTO risk_notify_log VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (group_key)"
                    " DO UPDATE SET content = excluded.content, alert_ids = excluded.alert_ids,"
                    " last_message_id = excluded.last_message_id, sent_at = excluded.sent_at",
                    (group.key, group.unit, content, dumps(ids), message_id, message_id,
                     iso(now), iso(now)),
                )  # fmt: skip
            counts[reason] += 1
        return dict(counts)

    # -- escalations and resolutions (called inside review's transaction) ---------------------

    def _thread_of(self, conn: sqlite3.Connection, alert_id: int) -> list[str]:
        rows = conn.execute(
            "SELECT thread_id, last_message_id FROM risk_notify_log l WHERE EXISTS"
            " (SELECT 1 FROM json_each(l.alert_ids) WHERE value = ?) LIMIT 1", (alert_id,)
        ).fetchall()  # fmt: skip
        return [rows[0][0], rows[0][1]] if rows else []

    def on_review(self, conn: sqlite3.Connection, now: dt.datetime, resolved: list[int]) -> int:
        """Enqueue escalation emails for new escalation rows and resolved notifications."""
        if not self.enabled:
            return 0
        routing, units = self.service.routing(), self.service.units()
        routes = {r.name: r for r in routing.routes}
        sent = 0
        pending = conn.execute(
            "SELECT e.* FROM risk_escalations e WHERE e.sent_at IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM risk_mail_outbox o WHERE o.ref = 'escalation:' || e.id)"
        ).fetchall()
        for esc in pending:
            alerts = self._alert_rows("a.id = ?", (esc["alert_id"],))
            if not alerts:
                continue
            alert = alerts[0]
            system = routing.systems.get(alert["category"], "")
            leads = [u for u, unit in units.items() if system and f"{system}:lead" in unit.systems]
            recipients: list[str] = []
            for u in alert["lead"]:
                if u in units:
                    recipients += units[u].duty or units[u].email
            for u in leads:
                recipients += units[u].email
            recipients = list(dict.fromkeys(recipients))
            if not recipients:
                continue
            ctx = self._contexts([alert], now, links=True)
            self.enqueue(
                conn, kind="escalation", group_key=f"escalation:{alert['id']}",
                alert_ids=[alert["id"]], recipients=recipients,
                subject=self._subject(f"【升级·第{esc['step']}次】", ctx),
                title="预警升级：超过签收时限未签收", intro=esc["reason"], alerts=ctx, now=now,
                thread=self._thread_of(conn, alert["id"]) or None, ref=f"escalation:{esc['id']}",
            )  # fmt: skip
            sent += 1
        if resolved:
            marks = ",".join("?" * len(resolved))
            for alert in self._alert_rows(f"a.id IN ({marks})", tuple(resolved)):
                route = routes.get((alert["decision"].get("matched") or ["default"])[0])
                wanted = (route.send_resolved if route and route.send_resolved is not None
                          else self.settings.send_resolved)  # fmt: skip
                thread = self._thread_of(conn, alert["id"])
                if not wanted or not thread:  # only what was notified is resolved by email
                    continue
                recipients = [e for u in alert["lead"] if u in units for e in units[u].email]
                if not recipients:
                    continue
                ctx = self._contexts([alert], now, links=False)
                self.enqueue(
                    conn, kind="resolved", group_key=f"resolved:{alert['id']}",
                    alert_ids=[alert["id"]], recipients=recipients,
                    subject=self._subject("【已消除】", ctx), title="预警已消除",
                    intro="复核机制确认以下风险已消除，预警自动关闭。", alerts=ctx, now=now,
                    thread=thread, ref=f"resolved:{alert['id']}",
                )  # fmt: skip
                sent += 1
        return sent

    # -- daily digest ------------------------------------------------------------------------

    def digest(self, now: dt.datetime | None = None) -> int:
        """Once a local day at ``digest_at``: each unit's open alerts and their age."""
        if not self.enabled or not self.settings.digest_at:
            return 0
        now = now or now_utc()
        local = now.astimezone(CST)
        if local.strftime("%H:%M") < self.settings.digest_at:
            return 0
        day = local.strftime("%Y-%m-%d")
        units = self.service.units()
        alerts = self._alert_rows("a.status IN ('open', 'acknowledged')")
        done = 0
        for unit_id, unit in units.items():
            if not unit.email or self.rdb.watermark(f"digest:{unit_id}") == day:
                continue
            mine = [a for a in alerts if unit_id in a["lead"] or unit_id in a["cooperate"]]
            with self.rdb.transaction() as conn:
                self.rdb.set_watermark(conn, f"digest:{unit_id}", day)
                if not mine:
                    continue
                ctx = self._contexts(mine[: self.settings.max_listed], now, True, unit_id)
                self.enqueue(
                    conn, kind="digest", group_key=f"digest:{unit_id}:{day}",
                    alert_ids=[a["id"] for a in mine], recipients=list(unit.email),
                    subject=f"【每日汇总】{unit.name} 待办预警 {len(mine)} 条（{day}）",
                    title=f"{unit.name} 每日预警汇总 {day}",
                    intro=f"截至 {local.strftime('%H:%M')}，贵单位共有 {len(mine)} 条未办结预警。",
                    alerts=ctx, now=now, ref=f"digest:{unit_id}:{day}",
                )  # fmt: skip
            done += 1
        return done

    # -- history -------------------------------------------------------------------------------

    def history(self, alert_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM risk_mail_attempts", list[Any]()
        if alert_id is not None:
            sql += " WHERE EXISTS (SELECT 1 FROM json_each(alert_ids) WHERE value = ?)"
            params.append(alert_id)
        rows = self.rdb.db.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [dict(r, recipients=json.loads(r["recipients"]),
                     alert_ids=json.loads(r["alert_ids"])) for r in rows]  # fmt: skip

    def messages(self, status: str | None = None, alert_id: int | None = None,
                 limit: int = 200) -> list[dict[str, Any]]:  # fmt: skip
        sql, params = (
            "SELECT id, message_id, kind, group_key, alert_ids, sender, recipients, subject,"
            " status, attempts, created_at, sent_at, last_error FROM risk_mail_outbox WHERE 1=1",
            list[Any](),
        )
        if status:
            sql += " AND status = ?"
            params.append(status)
        if alert_id is not None:
            sql += " AND EXISTS (SELECT 1 FROM json_each(alert_ids) WHERE value = ?)"
            params.append(alert_id)
        rows = self.rdb.db.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [dict(r, recipients=json.loads(r["recipients"]),
                     alert_ids=json.loads(r["alert_ids"])) for r in rows]  # fmt: skip

    def raw(self, outbox_id: int) -> bytes:
        row = self.rdb.db.execute(
            "SELECT raw FROM risk_mail_outbox WHERE id = ?", (outbox_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"没有邮件 {outbox_id}")
        return bytes(row[0])
