"""A small real HTTP server on loopback: the demo's opinion site and the tests' fixtures.

Routes are data (status, headers, body, an optional delay or a handler), so the demo can
publish generated posts and the tests can script a 500-then-200, a slow response, a
redirect loop or a 20 MB body against the real crawler, over real sockets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes | Callable[[], Iterator[bytes]] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line


Route = Response | Callable[[dict[str, str], int], Response]  # (request headers, hit number)


@dataclass(slots=True)
class Request:
    path: str
    headers: dict[str, str]
    started: float
    finished: float = 0.0


class LocalSite:
    def __init__(self, routes: Mapping[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[Request] = []
        self.hits: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def start(self) -> LocalSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                site._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        headers = {k.lower(): v for k, v in handler.headers.items()}
        record = Request(path, headers, time.monotonic())
        with self._lock:
            self.requests.append(record)
            hit = self.hits[path] = self.hits.get(path, 0) + 1
            self.in_flight += 1
            self.max_in_flight["all"] = max(self.max_in_flight.get("all", 0), self.in_flight)
        try:
            route = self.routes.get(path) or self.routes.get(path.split("?", 1)[0])
            if route is None:
                response = Response(
                    404, "未找到".encode(), {"Content-Type": "text/plain; charset=utf-8"}
                )
            elif callable(route):
                response = route(headers, hit)
            else:
                response = route
            if response.delay:
                time.sleep(response.delay)
            handler.send_response(response.status)
            for name, value in response.headers.items():
                handler.send_header(name, value)
            try:
                if callable(response.body):
                    handler.send_header("Connection", "close")
                    handler.end_headers()
                    for chunk in response.body():
                        handler.wfile.write(chunk)
                else:
                    handler.send_header("Content-Length", str(len(response.body)))
                    handler.end_headers()
                    handler.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the crawler gave up on purpose (size limit, timeout)
        finally:
            with self._lock:
                self.in_flight -= 1
                record.finished = time.monotonic()
