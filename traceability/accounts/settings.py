"""The ``[accounts]`` settings section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Production default: a site with the accounts feature installed requires a login.  The
# test suite's conftest turns this default off for tests that predate accounts; a site
# (or a test) can always say ``[accounts] required = true|false`` explicitly.
REQUIRED_BY_DEFAULT = True


def _required_default() -> bool:
    return REQUIRED_BY_DEFAULT


class AccountsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Refuse every request but login and health without a signed-in user or API token.
    required: bool = Field(default_factory=_required_default)
    # Console sessions: absolute lifetime and idle timeout, in minutes.
    session_minutes: int = Field(480, ge=5, le=7 * 24 * 60)
    idle_minutes: int = Field(60, ge=1, le=24 * 60)
    # Cookies carry ``Secure`` when the request came over TLS, or always when true.
    secure_cookies: bool = False
    # Send Strict-Transport-Security (also sent on any request that came over TLS).
    hsts: bool = False
    # Lockout: this many failed passwords in a row lock the account for lockout_minutes.
    max_failures: int = Field(5, ge=1, le=100)
    lockout_minutes: int = Field(15, ge=1, le=24 * 60)
    # Login attempts per client address per minute (rate limit before any password work).
    login_per_minute: int = Field(10, ge=1, le=1000)
    # API requests (``/api/``, ``/epcis/``) per caller: a token bucket per signed-in user or
    # token, else per client address.  ``api_per_minute`` is the sustained rate (0 = no
    # limit), ``api_burst`` how many may come at once.  Over it: 429 with Retry-After.
    api_per_minute: int = Field(1200, ge=0, le=1_000_000)
    api_burst: int = Field(600, ge=1, le=1_000_000)
    # Reverse proxies in front of ``qtrace serve`` whose X-Forwarded-For / -Proto are
    # trusted (werkzeug ProxyFix).  0: the client address is the TCP peer, and forwarded
    # headers are ignored (a client could forge them).
    trusted_proxies: int = Field(0, ge=0, le=5)
    # API tokens: lifetime when none is given, and the longest allowed.
    token_days: int = Field(90, ge=1, le=3650)
    max_token_days: int = Field(365, ge=1, le=3650)
    # Largest request body any endpoint accepts (bytes), refused before it is read.
    max_body_bytes: int = Field(52_428_800, ge=1024)
    # Extra origins (scheme://host[:port]) allowed to send state-changing requests.
    trusted_origins: list[str] = Field(default_factory=list)
    # Minimum password length for ``qtrace user add`` / ``passwd``.
    min_password_length: int = Field(12, ge=8, le=256)
