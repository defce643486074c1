"""The Flask app factory: the ``/api/v1`` blueprint and the browser console."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException

from config import Settings, load_settings
from traceability.services import build_services
from traceability.web.problems import problem


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the app; ``settings`` default to :func:`config.load_settings`."""
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(JSON_AS_ASCII=False, **overrides)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    services = build_services(settings)
    app.extensions["qtrace"] = services

    from traceability.web.api import api
    from traceability.web.ui import ui

    app.register_blueprint(api)
    app.register_blueprint(ui)

    from sentiment.web import register as register_opinions
    from traceability.epcis.web import register as register_epcis

    register_epcis(app)
    register_opinions(app)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        return problem(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:  # pragma: no cover - the safety net
        app.logger.exception("unhandled error")
        return problem(500, "服务器内部错误", "请求未能完成，已记录日志。")

    return app


def serve_app(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve with waitress, a production WSGI server that needs no compiler or internet."""
    from waitress import serve

    app = create_app(settings)
    serve(app, host=host or settings.web.host, port=port or settings.web.port, threads=4)
