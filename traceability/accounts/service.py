"""The accounts service the composition root builds: the store, the limiter, the settings."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections import deque

from traceability.accounts.permissions import TRUSTED_SUBMITTERS
from traceability.accounts.settings import AccountsSettings
from traceability.accounts.store import AUDIT_KEY_FILE, AccountStore, Principal, private_key_file
from traceability.errors import RateLimited
from traceability.formats.archive import Archive, parse_key
from traceability.ingest.ingestor import Submitter
from traceability.services import Services


class RateLimiter:
    """At most ``limit`` events per key in any ``window`` seconds (in this process)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._events) > 10_000:  # forget idle clients; bounded memory
                self._events = {k: v for k, v in self._events.items()
                                if v and v[-1] > now - self.window}  # fmt: skip
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                retry = int(events[0] + self.window - now) + 1
                raise RateLimited(f"登录尝试过于频繁，请 {retry} 秒后再试", retry_after=retry)
            events.append(now)


class TokenBucket:
    """Per key: up to ``burst`` requests at once, refilled at ``per_minute`` (this process).

    ``take`` raises :class:`RateLimited` (429, with Retry-After) when the key's bucket is
    empty.  Memory is bounded: full buckets of idle keys are forgotten.
    """

    MAX_KEYS = 10_000

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._buckets) > self.MAX_KEYS:
                full = self.burst / self.rate
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
            tokens, when = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - when) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                retry = max(1, int((1.0 - tokens) / self.rate + 0.999))
                raise RateLimited(f"请求过于频繁，请 {retry} 秒后再试", retry_after=retry)
            self._buckets[key] = (tokens - 1.0, now)


class AccountsService:
    def __init__(self, settings: AccountsSettings, store: AccountStore, archive: Archive) -> None:
        self.settings = settings
        self.store = store
        self.login_limiter = RateLimiter(settings.login_per_minute)
        self.api_limiter = TokenBucket(settings.api_per_minute, settings.api_burst)
        # The originals, read (and decrypted) by the audited unmasking.
        self.archive = archive

    @property
    def required(self) -> bool:
        return self.settings.required

    @property
    def session_lifetime(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.settings.session_minutes)

    @property
    def idle(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.settings.idle_minutes)

    def submitter(self, principal: Principal | None) -> Submitter | None:
        """The ingest context for a caller: trusted roles and the open mode are unrestricted."""
        if principal is None:
            return None if not self.required else Submitter("anonymous", "\x00none", self.store)
        if principal.role in TRUSTED_SUBMITTERS:
            return Submitter(principal.name)
        return Submitter(principal.name, principal.user.enterprise or "\x00none", self.store)

    def ensure_demo_admin(self) -> tuple[str, str | None]:
        """``qtrace demo``: see :func:`ensure_demo_admin`."""
        return ensure_demo_admin(self)

    def close(self) -> None:
        self.store.close()


def build(services: Services) -> AccountsService:
    settings = services.settings.section("accounts", AccountsSettings)
    # ``[privacy] archive_key`` (config.settings.PrivacySettings): read defensively, so the
    # accounts feature works on a settings model that predates the field.
    archive_key = parse_key(getattr(services.settings.privacy, "archive_key", ""))
    archive = Archive(services.settings.data_dir / "archive", archive_key)
    key = private_key_file(services.settings.data_dir / AUDIT_KEY_FILE)
    store = AccountStore(
        services.settings.embedded_db_path,
        key,
        max_failures=settings.max_failures,
        lockout=dt.timedelta(minutes=settings.lockout_minutes),
    )
    return AccountsService(settings, store, archive)


DEMO_ADMIN = "demo-admin"


def ensure_demo_admin(service: AccountsService) -> tuple[str, str | None]:
    """For ``qtrace demo``: an admin with a fresh random password when the site has no user.

    Returns the name and the password to print, or ``None`` when users exist already.
    """
    if service.store.count_users():
        return DEMO_ADMIN, None
    password = secrets.token_urlsafe(12)
    service.store.add_user(DEMO_ADMIN, "admin", password, actor="demo")
    return DEMO_ADMIN, password
