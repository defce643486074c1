"""An oversize body (300 MB to ``/api/v1/ceb``) is refused with 413 and costs no memory."""

from __future__ import annotations

import inspect
import io
import os
import select
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.test_security_support import make_app, make_settings
from traceability.app.web import close_app, serve_app

BODY = 300 * 1024 * 1024
ALLOWED_GROWTH = 8 * 1024 * 1024  # "a few MB": interpreter noise, never the body


def _rss(pid: int | str = "self") -> int:
    """Resident set size in bytes (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Zeros(io.RawIOBase):
    """``size`` bytes of request body made on demand; counts what the server reads."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size, self.position, self.read_bytes = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # the test client seeks to the end to learn the length
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.size - self.position)
        buffer[:n] = b"\0" * n
        self.position += n
        self.read_bytes += n
        return n


def test_a_300mb_body_is_refused_before_it_is_read(tmp_path: Path) -> None:
    app, _ = make_app(make_settings(tmp_path))  # the default limit, 50 MiB
    try:
        http = app.test_client()
        headers = {"Content-Length": str(BODY), "Content-Type": "application/xml"}
        http.post("/api/v1/ceb", input_stream=Zeros(BODY), headers=headers)  # warm up
        before = _rss()
        body = Zeros(BODY)
        response = http.post("/api/v1/ceb", input_stream=body, headers=headers)
        grown = _rss() - before
        assert response.status_code == 413, response.get_data(as_text=True)
        assert response.get_json()["code"] == "too_large"
        assert body.read_bytes == 0
        assert grown < ALLOWED_GROWTH, f"RSS grew by {grown / 2**20:.1f} MiB"
    finally:
        close_app(app)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _send_oversize(port: int) -> tuple[bytes, int]:
    """POST 300 MB, stopping as soon as the server answers: (status line, body bytes sent)."""
    sent = 0
    chunk = b"\0" * (1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(
            b"POST /api/v1/ceb HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/xml\r\n" + f"Content-Length: {BODY}\r\n\r\n".encode()
        )
        try:
            while sent < BODY:
                readable, _, _ = select.select([conn], [], [], 0 if sent else 0.5)
                if readable:
                    break
                conn.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused and closed: its answer is already waiting
        answer = b""
        while b"\r\n" not in answer:
            part = conn.recv(4096)
            if not part:
                break
            answer += part
    return answer.split(b"\r\n", 1)[0], sent


def test_a_real_server_refuses_300mb_without_growing(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text("[accounts]\nrequired = true\n", encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "QTRACE_CONFIG": str(config), "QTRACE_DATA_DIR": str(tmp_path / "var")}
    env.pop("QTRACE_PRIVACY__ARCHIVE_KEY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "traceability.app.cli", "serve", "--host", "127.0.0.1",
         "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "qtrace serve did not start"
                time.sleep(0.3)
        status, _ = _send_oversize(port)  # warm up the request path
        before = _rss(server.pid)
        status, sent = _send_oversize(port)
        grown = _rss(server.pid) - before
        assert b" 413 " in status + b" ", status
        assert grown < ALLOWED_GROWTH, f"server RSS grew by {grown / 2**20:.1f} MiB"
        if "max_request_body_size" in inspect.getsource(serve_app):
            # waitress refuses from the Content-Length: not one byte of the body is taken.
            # (Without that setting waitress spools the body to a temporary file first.)
            assert sent == 0, f"{sent} body bytes were taken before the 413"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
