"""The Flask app factory: core blueprints, then each feature's, over one set of services."""

from __future__ import annotations

import gc

from flask import Flask, Response, request
from waitress import serve
from werkzeug.exceptions import HTTPException

from config import Settings, load_settings
from traceability.app.web.api import api
from traceability.app.web.problems import (
    error_response,
    http_error_response,
    unexpected_error_response,
)
from traceability.app.web.ui import CORE_NAV, ui
from traceability.errors import QtraceError
from traceability.services import Services, build_services

EXTENSION = "qtrace"


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """Build the app; ``settings`` default to :func:`config.load_settings`.

    The app owns the services it builds: :func:`close_app` (called by ``qtrace serve`` at
    shutdown and by ``wsgi.py`` at exit) closes them.
    """
    if services is None:
        services = build_services(settings or load_settings())
    app = Flask(__name__)
    app.config.update(JSON_AS_ASCII=False)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # DefaultJSONProvider
    app.json.sort_keys = False  # type: ignore[attr-defined]  # as above
    app.extensions[EXTENSION] = services
    app.register_blueprint(api)
    app.register_blueprint(ui)
    nav = list(CORE_NAV)
    for feature in services.features:
        for blueprint in feature.blueprints() if feature.blueprints else ():
            app.register_blueprint(blueprint)
        nav.extend(feature.nav)
    nav.sort(key=lambda item: item.order)
    app.context_processor(lambda: {"nav_items": nav})
    app.register_error_handler(QtraceError, error_response)
    app.register_error_handler(HTTPException, http_error_response)
    app.register_error_handler(Exception, unexpected_error_response)
    app.after_request(baseline_headers)
    for feature in services.features:
        if feature.setup_app is not None:
            feature.setup_app(app, services)
    return app


# No inline scripts anywhere; the one inline style attribute (the trace picture's width in
# trace.html) is allowed by ``style-src-attr`` — attributes only, never <style> or script.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "style-src-attr 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def baseline_headers(response: Response) -> Response:
    """Headers every response carries, with or without the accounts feature."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def app_services(app: Flask) -> Services:
    services: Services = app.extensions[EXTENSION]
    return services


def close_app(app: Flask) -> None:
    """Release everything the app's services hold (pools, connections, drivers)."""
    app_services(app).close()


def serve_app(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    services: Services | None = None,
) -> None:
    """Serve with waitress, a production WSGI server that needs no compiler or internet."""
    app = create_app(settings, services)
    # Everything built so far lives as long as the server: keep it out of the collector's
    # full passes, which otherwise stall a request for ~100 ms now and then.
    gc.freeze()
    try:
        # Refuse an oversize body in waitress itself, from its Content-Length, before it is
        # received (by default waitress first spools up to 1 GiB to a temporary file).
        limit = app.config.get("MAX_CONTENT_LENGTH")
        extra = {"max_request_body_size": int(limit) + 1} if limit else {}
        serve(app, host=host or settings.web.host, port=port or settings.web.port, threads=4,
              **extra)  # fmt: skip
    finally:
        close_app(app)
