"""HTTP fetching with the limits a crawler on a government network needs.

* connect and read timeouts, and an overall deadline per response (a server dribbling one
  byte a second defeats a read timeout alone);
* a maximum body size (checked on Content-Length and while streaming: a bigger body is
  abandoned, never truncated and stored);
* redirects followed by hand, at most ``max_redirects``, loops detected, and every hop
  checked against the address policy (:mod:`sentiment.crawl.netguard`);
* retries with exponential backoff on 5xx, timeouts and broken connections, none on 4xx;
* conditional GET (If-None-Match / If-Modified-Since), 304 reported as not modified;
* the configured User-Agent on every request, and per-host throttling.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from sentiment.config import CrawlerSettings
from sentiment.crawl.netguard import AddressPolicy, BlockedAddressError
from sentiment.crawl.throttle import HostThrottle

REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """A fetch failed for good; ``kind`` is a short code stored in the crawl state."""

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class _Retryable(Exception):
    def __init__(self, kind: str, message: str, status: int | None = None, wait: float = 0):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.wait = wait


@dataclass(slots=True)
class FetchResult:
    url: str  # as requested
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float
    attempts: int
    redirects: list[str] = field(default_factory=list)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or _default_port(parts.scheme)}"


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class Fetcher:
    def __init__(self, settings: CrawlerSettings, throttle: HostThrottle | None = None) -> None:
        self.settings = settings
        self.policy = AddressPolicy(settings.allow_private)
        self.throttle = throttle or HostThrottle(
            settings.per_host_concurrency, settings.default_delay, settings.max_delay
        )
        self.timeout = urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout)
        self.deadline = settings.connect_timeout + settings.read_timeout * 4
        self.sleep = time.sleep

    # -- public --------------------------------------------------------------------------

    def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url`` following redirects; raises :class:`FetchError` when it gives up."""
        visited: list[str] = []
        current = url
        conditional = {"If-None-Match": etag, "If-Modified-Since": last_modified}
        attempts_total = 0
        started = time.monotonic()
        while True:
            if current in visited:
                raise FetchError("redirect_loop", f"重定向循环: {' -> '.join([*visited, current])}")
            visited.append(current)
            result = self._with_retries(current, conditional if len(visited) == 1 else {})
            attempts_total += result.attempts
            if result.status in REDIRECTS and "location" in result.headers:
                if len(visited) > self.settings.max_redirects:
                    raise FetchError(
                        "too_many_redirects", f"重定向超过 {self.settings.max_redirects} 次: {url}"
                    )
                current = urljoin(current, result.headers["location"])
                continue
            result.url = url
            result.redirects = visited[:-1]
            result.attempts = attempts_total
            result.elapsed = time.monotonic() - started
            return result

    # -- internals -----------------------------------------------------------------------

    def _with_retries(self, url: str, conditional: dict[str, str | None]) -> FetchResult:
        attempt = 0
        while True:
            attempt += 1
            try:
                result = self._once(url, conditional)
                result.attempts = attempt
                return result
            except _Retryable as exc:
                if attempt > self.settings.retries:
                    raise FetchError(
                        exc.kind, f"{exc}（已重试 {attempt - 1} 次）", exc.status
                    ) from None
                backoff = self.settings.backoff_base * 2 ** (attempt - 1)
                self.sleep(min(self.settings.max_delay, max(backoff, exc.wait)))

    def _once(self, url: str, conditional: dict[str, str | None]) -> FetchResult:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("bad_url", f"只抓取 http/https 地址: {url!r}")
        port = parts.port or _default_port(parts.scheme)
        try:
            ip = self.policy.resolve(parts.hostname, port)
        except BlockedAddressError as exc:
            raise FetchError("blocked_address", str(exc)) from None
        except OSError as exc:
            raise _Retryable("dns", str(exc)) from None
        host_header = (
            parts.hostname if port == _default_port(parts.scheme) else f"{parts.hostname}:{port}"
        )
        if ":" in parts.hostname:  # IPv6 literal
            host_header = f"[{parts.hostname}]" + (
                "" if port == _default_port(parts.scheme) else f":{port}"
            )
        headers = {
            "Host": host_header,
            "User-Agent": self.settings.user_agent,
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.5",
            "Accept-Language": "zh-CN,zh;q=0.9",
            "Accept-Encoding": "gzip, deflate",
        }
        headers.update({k: v for k, v in conditional.items() if v})
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        key = host_key(url)
        with self.throttle.slot(key):
            started = time.monotonic()
            pool = self._pool(parts.scheme, ip, port, parts.hostname)
            try:
                response = pool.urlopen(
                    "GET", path, headers=headers, redirect=False, retries=False,
                    preload_content=False, assert_same_host=False, timeout=self.timeout,
                )  # fmt: skip
                try:
                    body = self._read(response, url, started)
                finally:
                    response.release_conn()
            except (Urllib3Timeout, TimeoutError) as exc:
                self.throttle.record(key, time.monotonic() - started, ok=False)
                raise _Retryable("timeout", f"超时: {url} ({type(exc).__name__})") from None
            except (ProtocolError, Urllib3Error, ConnectionError) as exc:
                self.throttle.record(key, time.monotonic() - started, ok=False)
                raise _Retryable("connection", f"连接失败: {url} ({exc})") from None
            finally:
                pool.close()
            elapsed = time.monotonic() - started
        status = response.status
        self.throttle.record(key, elapsed, ok=status < 400)
        result_headers = {k.lower(): v for k, v in response.headers.items()}
        if status >= 500:
            raise _Retryable(
                "http_5xx", f"服务器错误 HTTP {status}: {url}", status, _retry_after(result_headers)
            )
        if status == 429:
            raise _Retryable(
                "http_429", f"请求过多 HTTP 429: {url}", status, _retry_after(result_headers)
            )
        if status >= 400:
            raise FetchError("http_4xx", f"HTTP {status}: {url}", status)
        return FetchResult(url, url, status, result_headers, body, elapsed, 1)

    def _pool(self, scheme: str, ip: str, port: int, hostname: str) -> urllib3.HTTPConnectionPool:
        """A one-connection pool to the checked address (never re-resolving the name)."""
        if scheme == "https":
            return urllib3.HTTPSConnectionPool(
                ip, port, maxsize=1, server_hostname=hostname, assert_hostname=hostname,
                cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(), timeout=self.timeout,
            )  # fmt: skip
        return urllib3.HTTPConnectionPool(ip, port, maxsize=1, timeout=self.timeout)

    def _read(self, response: urllib3.BaseHTTPResponse, url: str, started: float) -> bytes:
        limit = self.settings.max_body_bytes
        length = response.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            raise FetchError("too_large", f"响应体 {int(length)} 字节超过上限 {limit}: {url}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.stream(64 * 1024, decode_content=True):
            size += len(chunk)
            if size > limit:
                raise FetchError("too_large", f"响应体超过上限 {limit} 字节: {url}")
            if time.monotonic() - started > self.deadline:
                raise _Retryable("timeout", f"响应超过总时限 {self.deadline:.0f} 秒: {url}")
            chunks.append(chunk)
        return b"".join(chunks)


def _retry_after(headers: dict[str, str]) -> float:
    value = headers.get("retry-after", "")
    return float(value) if value.isdigit() else 0.0
