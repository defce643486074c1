"""The alert-email endpoints: history, silences, acknowledgement links, the mail pages.

A blueprint of its own (``alert_email``), registered by the risk feature's ``setup_app``
when ``[risk.email] enabled`` is true: its endpoints need entries in the accounts
permission table (the acknowledgement link is public: its signed token is the capability).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from alerts.config import LEVEL_ZH
from alerts.notify.notifier import LinkExpired, LinkInvalid
from alerts.web import _actor, _body, _limit, _op, _p, _q, service
from traceability.errors import Conflict, InvalidInput, InvalidParameter, NotFound

email_bp = Blueprint("alert_email", __name__, template_folder="../templates")


# -- alert emails: history, silences, acknowledgement links, the mail page ---------------------


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidParameter(f"参数 {name} 应为整数，收到 {value!r}")
    return int(value)


@email_bp.get("/api/v1/alert-emails")
def email_history() -> Any:
    notifier = service().notifier
    alert_id = _int_arg("alert")
    return jsonify({
        "attempts": notifier.history(alert_id, min(_limit(), 1000)),
        "messages": notifier.messages(request.args.get("status") or None, alert_id,
                                      min(_limit(), 1000)),
    })  # fmt: skip


@email_bp.get("/api/v1/silences")
def list_silences() -> Any:
    active = request.args.get("active") == "1"
    return jsonify({"silences": service().notifier.silences(active_only=active)})


@email_bp.post("/api/v1/silences")
def add_silence() -> Any:
    body = _body()
    hours = body.get("hours", 24)
    if not isinstance(hours, int | float) or isinstance(hours, bool):
        raise InvalidInput("hours 应为数字（静默小时数）")
    matchers = body.get("matchers")
    if not isinstance(matchers, dict):
        raise InvalidInput('matchers 应为对象，如 {"rule": "regulator_notice"}')
    silence = service().notifier.add_silence(
        matchers, _actor(body), str(body.get("comment", "")), float(hours)
    )
    return jsonify(silence), 201


@email_bp.delete("/api/v1/silences/<int:silence_id>")
def expire_silence(silence_id: int) -> Any:
    service().notifier.expire_silence(silence_id, _actor({}) or "api")
    return "", 204


def _link_page(token: str, status: int, **values: Any) -> Any:
    return render_template("alert_ack_link.html", token=token, level_zh=LEVEL_ZH, **values), status


@email_bp.get("/alerts/ack/<token>")
def ack_link_page(token: str) -> Any:
    """The confirmation page of an email's acknowledgement link: GET never acts."""
    svc = service()
    try:
        claims = svc.notifier.verify_token(token)
        alert = svc.alert(claims["alert_id"])
    except (LinkInvalid, LinkExpired, NotFound) as exc:
        code = exc.status
        return _link_page(token, code, error=exc.detail, alert=None, claims=None)
    return _link_page(token, 200, error=None, alert=alert, claims=claims)


@email_bp.post("/alerts/ack/<token>")
def ack_link_confirm(token: str) -> Any:
    """Acknowledge by the link's signed token (the token is the capability; once only)."""
    svc = service()
    try:
        alert = svc.notifier.ack_by_link(token)
    except (LinkInvalid, LinkExpired, NotFound, Conflict) as exc:
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            raise
        return _link_page(token, exc.status, error=exc.detail, alert=None, claims=None)
    if request.is_json:
        return jsonify(alert)
    return _link_page(token, 200, error=None, alert=alert, claims=None, done=True)


@email_bp.get("/alerts/<int:alert_id>")
def alert_page(alert_id: int) -> Any:
    svc = service()
    return render_template(
        "alert_detail.html", alert=svc.alert(alert_id),
        attempts=svc.notifier.history(alert_id), messages=svc.notifier.messages(None, alert_id),
        level_zh=LEVEL_ZH,
    )  # fmt: skip


@email_bp.get("/alerts/emails")
def email_page() -> Any:
    svc = service()
    return render_template("alert_emails.html", messages=svc.notifier.messages(None, None, 200))


@email_bp.get("/alerts/emails/<int:outbox_id>")
def email_body(outbox_id: int) -> Any:
    """One message's HTML part as the recipient sees it (sandboxed: no scripts, no links out)."""
    import email
    from email.policy import default

    parsed = email.message_from_bytes(service().notifier.raw(outbox_id), policy=default)
    part = parsed.get_body(("html", "plain"))
    content = part.get_content() if part is not None else ""
    kind = (
        "text/html" if part is not None and part.get_content_subtype() == "html" else "text/plain"
    )
    response = Response(content, mimetype=kind)
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'"
    )
    return response


def email_openapi_paths() -> dict[str, Any]:
    limit = _q("limit", "最多返回条数", {"type": "integer", "minimum": 1, "maximum": 1000})
    return {
        "/api/v1/alert-emails": {
            "get": _op("预警邮件发送记录：每次尝试（收件人、分组、时间、SMTP 结果、"
                       "Message-ID）与发件箱", [
                           _q("alert", "预警 id", {"type": "integer"}),
                           _q("status", "发件箱状态", {"enum": ["pending", "sent", "failed"]}),
                           limit]),
        },
        "/api/v1/silences": {
            "get": _op("静默列表", [_q("active", "1 = 仅生效中")]),
            "post": _op("新建静默：matchers、comment、hours（创建人为当前用户）", body=True,
                        status="201"),
        },
        "/api/v1/silences/{silence_id}": {
            "delete": _op("提前结束静默", [_p("silence_id", "静默 id", {"type": "integer"})],
                          status="204"),
        },
    }  # fmt: skip
