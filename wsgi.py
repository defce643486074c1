"""WSGI entry point for any WSGI server, e.g. ``waitress-serve wsgi:app``."""

import atexit
import gc

from traceability.app.web import close_app, create_app

app = create_app()
atexit.register(close_app, app)  # the server's exit closes pools, connections and drivers
gc.freeze()  # long-lived objects stay out of the collector's full passes (recall p99)
