"""WSGI entry point for any WSGI server, e.g. ``waitress-serve wsgi:app``."""

from traceability.web import create_app

app = create_app()
