"""The request guard and response headers, installed once over the finished app.

Every request, in this order:

1. a body larger than ``[accounts] max_body_bytes`` is refused (413) from its
   Content-Length, before anything reads it (Flask's MAX_CONTENT_LENGTH catches bodies
   sent without a length);
2. the caller is identified: ``Authorization: Bearer <token>`` or the session cookie;
   API requests (``/api/``, ``/epcis/``) then take a token from the caller's bucket (per
   user, else per client address; ``[accounts] api_per_minute`` / ``api_burst``): 429 with
   Retry-After when it is empty;
3. the endpoint is looked up in the one permission table; an endpoint missing from it is
   refused even for administrators;
4. state-changing requests: a cross-site ``Origin`` / ``Sec-Fetch-Site`` is refused; console
   forms need the CSRF token; API endpoints refuse the content types an HTML form can send
   (text/plain, multipart, urlencoded), and a session (cookie) caller also needs the
   ``X-CSRF-Token`` header;
5. the caller's enterprise becomes the ingest context (``g.submitter``).

The client address (``request.remote_addr``: rate limits, the audit log) is the TCP peer,
unless ``[accounts] trusted_proxies = N`` installs werkzeug's ProxyFix for N proxies.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, redirect, request
from werkzeug.middleware.proxy_fix import ProxyFix

from traceability.accounts.permissions import (
    CAPABILITY_FORM_ENDPOINTS,
    FORM_ENDPOINTS,
    PERMISSIONS,
    allowed,
    is_public,
)
from traceability.accounts.service import AccountsService
from traceability.accounts.store import Principal
from traceability.app.web import baseline_headers
from traceability.errors import Forbidden, InvalidInput, TooLarge, Unauthenticated
from traceability.services import Services

SESSION_COOKIE = "qtrace_session"
LOGIN_CSRF_COOKIE = "qtrace_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIXES = ("/api/", "/epcis/")
FORM_TYPES = frozenset({"text/plain", "multipart/form-data", "application/x-www-form-urlencoded"})


class UnsupportedMediaType(InvalidInput):
    status = 415
    code = "unsupported_media_type"
    title = "不支持的内容类型"


def accounts(app: Flask) -> AccountsService:
    service: AccountsService = app.extensions["qtrace"].feature("accounts")
    return service


def current_principal() -> Principal | None:
    principal: Principal | None = g.get("qtrace_principal")
    return principal


def is_tls() -> bool:
    return request.is_secure


def _identify(service: AccountsService) -> Principal | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Authorization 头应为 Bearer <令牌>")
        principal = service.store.token(value.strip())
        if principal is None:
            raise Unauthenticated("API 令牌无效、已过期或已吊销")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return service.store.session(cookie, service.idle)
    return None


def _same_origin(origin: str, trusted: list[str]) -> bool:
    if origin in trusted:
        return True
    parts = urlsplit(origin)
    own = urlsplit(request.host_url)
    return (parts.scheme, parts.netloc) == (own.scheme, own.netloc)


def _check_cross_site(service: AccountsService) -> None:
    origin = request.headers.get("Origin")
    if origin is not None and not _same_origin(origin, service.settings.trusted_origins):
        raise Forbidden(f"拒绝跨站请求：来源 {origin} 不受信任")
    if request.headers.get("Sec-Fetch-Site") == "cross-site" and origin is None:
        raise Forbidden("拒绝跨站请求 (Sec-Fetch-Site: cross-site)")


def _check_csrf(expected: str | None) -> None:
    presented = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Forbidden("CSRF 校验失败：请刷新页面后重试")


def _limit_api(service: AccountsService, principal: Principal | None) -> None:
    """One token from the caller's bucket for an API request (429 when it is empty)."""
    if not request.path.startswith(API_PREFIXES):
        return
    key = f"user:{principal.name}" if principal else f"ip:{request.remote_addr or '-'}"
    service.api_limiter.take(key)


def _wants_console() -> bool:
    return request.method == "GET" and not request.path.startswith(API_PREFIXES)


def guard(service: AccountsService) -> Any:
    """The before_request function (returns a redirect for console pages, else None)."""
    limit = service.settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"请求体过大: {request.content_length} 字节，上限 {limit} 字节")
    endpoint = request.endpoint
    try:
        principal = _identify(service)
    except Unauthenticated:
        _limit_api(service, None)  # failed credentials count against the address
        raise
    _limit_api(service, principal)
    g.qtrace_principal = principal
    g.submitter = service.submitter(principal)
    if endpoint is None:  # unknown path or method: Flask answers 404/405
        return None
    state_changing = request.method not in SAFE_METHODS
    if state_changing:
        _check_cross_site(service)
    if not service.required:
        return None
    if endpoint not in PERMISSIONS:
        raise Forbidden(f"端点 {endpoint} 未在权限表中登记，已拒绝")
    if principal is None and not is_public(endpoint):
        if _wants_console():
            return redirect(f"/login?next={quote(request.full_path.rstrip('?'))}", 303)
        raise Unauthenticated("请先登录，或以 Authorization: Bearer <令牌> 调用 API")
    if principal is not None and not is_public(endpoint):
        if not allowed(endpoint, principal.role):
            raise Forbidden(f"角色 {principal.role} 无权访问 {endpoint}")
        scope = "write" if state_changing else "read"
        if scope not in principal.scopes:
            raise Forbidden(f"令牌范围不含 {scope}")
    if not state_changing:
        return None
    if endpoint in CAPABILITY_FORM_ENDPOINTS:
        return None  # the signed, expiring, single-use token in the URL is the capability
    if endpoint in FORM_ENDPOINTS:
        # The login form checks its own cookie; a bearer token is no ambient credential.
        if endpoint != "accounts.login_submit" and (
            principal is None or principal.via == "session"
        ):
            _check_csrf(principal.csrf if principal else None)
        return None
    if (request.mimetype or "").lower() in FORM_TYPES:
        raise UnsupportedMediaType(
            f"API 不接受 {request.mimetype}：请以 JSON 或 XML 的 Content-Type 提交"
        )
    if principal is not None and principal.via == "session":
        _check_csrf(principal.csrf)
    return None


def security_headers(response: Response, service: AccountsService) -> Response:
    """On top of the core's baseline headers (CSP, nosniff, frame-ancestors, referrer):
    HSTS when configured, and no caching of what a signed-in user was shown."""
    baseline_headers(response)
    if service.settings.hsts:
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    if current_principal() is not None and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def _audit_request(service: AccountsService, response: Response) -> Response:
    principal = current_principal()
    state_changing = request.method not in SAFE_METHODS
    if response.status_code == 403 or (state_changing and principal is not None):
        actor = principal.name if principal else "anonymous"
        service.store.audit(actor, f"http.{request.method}", request.path,
                            {"endpoint": request.endpoint, "status": response.status_code,
                             "from": request.remote_addr or ""})  # fmt: skip
    return response


def setup_app(app: Flask, services: Services) -> None:
    service: AccountsService = services.feature("accounts")
    proxies = service.settings.trusted_proxies
    if proxies:  # only behind configured proxies: otherwise X-Forwarded-* could be forged
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = service.settings.max_body_bytes
    # Form parsing limits too: no endpoint takes large urlencoded or multipart bodies.
    app.config["MAX_FORM_MEMORY_SIZE"] = 64 * 1024
    app.config["MAX_FORM_PARTS"] = 100
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.before_request_funcs.setdefault(None, []).insert(0, lambda: guard(service))
    app.after_request(lambda response: _audit_request(service, response))
    app.after_request(lambda response: security_headers(response, service))
