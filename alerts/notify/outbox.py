"""The sender: drains ``risk_mail_outbox`` through SMTP, at least once, never a new id.

A message is marked sent only after the server's 250, in its own transaction; a crash
between the two leaves it pending, and the next drain sends the *same* bytes (same
Message-ID), so a receiver deduplicating by Message-ID sees it exactly once.  Temporary
failures (refused connection, timeout, 4xx) are retried with exponential backoff and full
jitter; a permanent one (5xx) marks the message failed with the server's reply and tells
the administrators.  A lease keeps two senders from draining at once.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from alerts.db import dumps, iso, now_utc
from alerts.notify.smtp import Result, deliver

if TYPE_CHECKING:
    from alerts.notify.notifier import Notifier

LEASE = "mail-sender"

#: Called after the server accepted a message and before the commit (crash tests).
AFTER_ACCEPT: Callable[[dict[str, Any]], None] | None = None


def backoff(settings: Any, attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: exponential, capped, with jitter."""
    ceiling = min(settings.backoff_max_seconds, settings.backoff_seconds * 2 ** (attempts - 1))
    return float(ceiling * (0.5 + random.random() / 2))


def drain(notifier: Notifier, holder: str, limit: int | None = None,
          clock: Callable[[], float] = time.time) -> dict[str, int]:  # fmt: skip
    """Send the due messages; returns counts (sent, retry, failed, …)."""
    settings = notifier.settings
    rdb = notifier.rdb
    counts = {"sent": 0, "retry": 0, "failed": 0, "lease_busy": 0}
    ttl = settings.sender_lease_seconds
    done = 0
    try:
        while limit is None or done < limit:
            if not rdb.acquire(LEASE, holder, ttl):
                counts["lease_busy"] = 1
                break
            rows = rdb.db.execute(
                "SELECT * FROM risk_mail_outbox WHERE status = 'pending' AND next_attempt <= ?"
                " ORDER BY next_attempt, id LIMIT ?",
                (clock(), settings.batch),
            ).fetchall()
            if not rows:
                break
            stop = False
            for row in rows:
                if limit is not None and done >= limit:
                    break
                if not rdb.acquire(LEASE, holder, ttl):
                    counts["lease_busy"] = 1
                    stop = True
                    break
                recipients = json.loads(row["recipients"])
                result = deliver(settings, row["sender"], recipients, bytes(row["raw"]))
                if result.result == "ok" and AFTER_ACCEPT is not None:
                    AFTER_ACCEPT(dict(row))
                _record(notifier, row, recipients, result, clock())
                counts[
                    {"ok": "sent", "temporary": "retry", "permanent": "failed"}[result.result]
                ] += 1
                done += 1
                # The server is unreachable: leave the rest for the next drain.
                if result.result == "temporary" and result.code is None:
                    stop = True
                    break
            if stop:
                break
    finally:
        rdb.release(LEASE, holder)
    return counts


def _record(notifier: Notifier, row: Any, recipients: list[str], result: Result,
            now: float) -> None:  # fmt: skip
    settings = notifier.settings
    stamp = iso(dt.datetime.fromtimestamp(now, dt.UTC))
    attempts = row["attempts"] + 1
    with notifier.rdb.transaction() as conn:
        conn.execute(
            "INSERT INTO risk_mail_attempts (outbox_id, message_id, kind, group_key, alert_ids,"
            " recipients, subject, time, result, code, reply) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (row["id"], row["message_id"], row["kind"], row["group_key"], row["alert_ids"],
             dumps(recipients), row["subject"], stamp, result.result, result.code,
             result.reply),
        )  # fmt: skip
        if result.result == "ok":
            conn.execute(
                "UPDATE risk_mail_outbox SET status = 'sent', attempts = ?, sent_at = ?,"
                " last_error = NULL WHERE id = ?",
                (attempts, stamp, row["id"]),
            )
            if (row["ref"] or "").startswith("escalation:"):
                conn.execute(
                    "UPDATE risk_escalations SET sent_at = ? WHERE id = ?",
                    (stamp, int(row["ref"].split(":", 1)[1])),
                )
            return
        final = result.result == "permanent" or attempts >= settings.max_attempts
        if not final:
            conn.execute(
                "UPDATE risk_mail_outbox SET attempts = ?, next_attempt = ?, last_error = ?"
                " WHERE id = ?",
                (attempts, now + backoff(settings, attempts), result.reply, row["id"]),
            )
            return
        conn.execute(
            "UPDATE risk_mail_outbox SET status = 'failed', attempts = ?, last_error = ?"
            " WHERE id = ?",
            (attempts, result.reply, row["id"]),
        )
        if settings.admins and row["kind"] != "admin":
            notifier.enqueue(
                conn, kind="admin", group_key=f"admin:{row['id']}",
                alert_ids=json.loads(row["alert_ids"]), recipients=list(settings.admins),
                subject=f"【邮件发送失败】{row['subject']}", title="预警邮件发送失败",
                intro=(f"邮件 {row['message_id']}（收件人 {', '.join(recipients)}）"
                       f"第 {attempts} 次发送失败，已停止重试。服务器答复：{result.reply}"),
                alerts=[], now=now_utc(), ref=f"failed:{row['id']}",
            )  # fmt: skip
