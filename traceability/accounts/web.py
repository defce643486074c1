"""Sign in and out (the console), who am I and the audit log (the API)."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue

from traceability.accounts.guard import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    _check_csrf,
    accounts,
    current_principal,
    is_tls,
)
from traceability.accounts.permissions import ROLES
from traceability.accounts.unmask import unmask as unmask_record
from traceability.errors import InvalidParameter, Unauthenticated

blueprint = Blueprint("accounts", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    """Only a local path: never ``//host`` or ``/\\host`` (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(c in target for c in "\r\n\\"):
        return "/"
    return target


def _secure() -> bool:
    return is_tls() or accounts(current_app).settings.secure_cookies


def _login_page(status: int = 200, error: str | None = None, username: str = "") -> Any:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    principal = current_principal()
    body = render_template(
        "login.html", principal=principal,
        role_zh=ROLES.get(principal.role, "") if principal else "",
        login_csrf=token, next=_safe_next(request.values.get("next")), error=error,
        username=username, no_users=accounts(current_app).store.count_users() == 0,
    )  # fmt: skip
    response = current_app.make_response((body, status))
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict",
                        secure=_secure(), path="/login", max_age=3600)  # fmt: skip
    return response


@blueprint.get("/login")
def login() -> ResponseReturnValue:
    return _login_page()


@blueprint.post("/login")
def login_submit() -> ResponseReturnValue:
    service = accounts(current_app)
    service.login_limiter.hit(request.remote_addr or "-")
    _check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE))
    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    if not username or not password or len(password) > 1024:
        return _login_page(400, "请输入用户名和密码", username)
    result = service.store.authenticate(username, password, request.remote_addr or "")
    if result.user is None:
        if result.reason == "locked":
            message = f"账户已临时锁定，请 {(result.retry_after or 60) // 60 + 1} 分钟后再试"
            return _login_page(429, message, username)
        return _login_page(401, "用户名或密码错误", username)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:  # never keep a session id that existed before the login (fixation)
        service.store.end_session(previous)
    secret, _ = service.store.start_session(result.user, service.session_lifetime)
    response = redirect(_safe_next(request.form.get("next")), 303)
    response.set_cookie(
        SESSION_COOKIE, secret, httponly=True, samesite="Lax", secure=_secure(), path="/",
        max_age=int(service.session_lifetime.total_seconds()),
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@blueprint.post("/logout")
def logout() -> ResponseReturnValue:
    service = accounts(current_app)
    principal = current_principal()
    if principal is not None and principal.session_id:
        service.store.end_session(principal.session_id, hashed=True)
        service.store.audit(principal.name, "logout", principal.name)
    response = redirect("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@blueprint.get("/api/v1/auth/whoami")
def whoami() -> ResponseReturnValue:
    principal = current_principal()
    if principal is None:
        raise Unauthenticated("未登录")
    body = {**principal.user.public(), "via": principal.via, "scopes": list(principal.scopes)}
    if principal.via == "session":
        body["csrfToken"] = principal.csrf  # for scripts posting with the session cookie
    return jsonify(body)


@blueprint.get("/api/v1/audit")
def audit_log() -> ResponseReturnValue:
    try:
        limit = min(int(request.args.get("limit", "100")), 1000)
        before = int(request.args["before"]) if "before" in request.args else None
    except ValueError:
        raise InvalidParameter("limit 与 before 应为整数") from None
    store = accounts(current_app).store
    checked, problem = store.verify_audit()
    return jsonify({
        "entries": store.audit_entries(limit, before),
        "chain": {"checked": checked, "ok": problem is None,
                  "firstBroken": problem.seq if problem else None,
                  "reason": problem.reason if problem else None},
    })  # fmt: skip


@blueprint.post("/api/v1/unmask")
def unmask() -> ResponseReturnValue:
    """PIPL unmasking (public security only): a reason is required and audited first."""
    principal = current_principal()
    if principal is None:
        raise Unauthenticated("未登录")
    service = accounts(current_app)
    result = unmask_record(service.store, service.archive, principal.name,
                           request.get_json(silent=True))  # fmt: skip
    return jsonify(result)
