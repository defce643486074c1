"""Per-host politeness: a concurrency limit and a delay that adapts to response time.

Like Scrapy's AutoThrottle: after each response the delay moves halfway towards the
response's latency (a slow server gets more room), never below the configured delay or a
robots.txt Crawl-delay, never above the maximum; an error response may raise the delay but
never lowers it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Host:
    semaphore: threading.Semaphore
    delay: float
    floor: float
    next_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class HostThrottle:
    def __init__(self, concurrency: int, default_delay: float, max_delay: float) -> None:
        self.concurrency = concurrency
        self.default_delay = default_delay
        self.max_delay = max_delay
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()
        self.sleep = time.sleep  # replaceable in tests that measure scheduling, not waiting

    def _host(self, host: str) -> _Host:
        with self._lock:
            state = self._hosts.get(host)
            if state is None:
                delay = self.default_delay
                state = _Host(threading.Semaphore(self.concurrency), delay, delay)
                self._hosts[host] = state
            return state

    def set_floor(self, host: str, delay: float) -> None:
        """Raise the host's minimum delay (a source's own delay, robots.txt Crawl-delay)."""
        state = self._host(host)
        with state.lock:
            state.floor = max(state.floor, min(delay, self.max_delay))
            state.delay = max(state.delay, state.floor)

    def delay(self, host: str) -> float:
        return self._host(host).delay

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's slots, starting no sooner than its delay allows."""
        state = self._host(host)
        with state.semaphore:
            while True:
                with state.lock:
                    now = time.monotonic()
                    if now >= state.next_at:
                        state.next_at = now + state.delay
                        break
                    wait = state.next_at - now
                self.sleep(wait)
            yield

    def record(self, host: str, latency: float, ok: bool) -> None:
        state = self._host(host)
        with state.lock:
            target = (state.delay + latency) / 2
            new = min(self.max_delay, max(state.floor, target))
            if ok or new > state.delay:
                state.delay = new
