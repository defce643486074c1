"""API rate limits: a token bucket per user (or client address), and the reverse-proxy rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_security_support import accounts_of, add_user, bearer, make_app, make_settings
from traceability.accounts.service import TokenBucket
from traceability.app.web import close_app
from traceability.errors import RateLimited


@pytest.fixture
def site(tmp_path: Path):
    app, services = make_app(make_settings(tmp_path, api_per_minute=60, api_burst=3))
    for name in ("alice", "bob"):
        add_user(services, name, "regulator")
    yield app, services
    close_app(app)


def test_api_requests_are_limited_per_user_with_retry_after(site) -> None:
    app, services = site
    http = app.test_client()
    alice, bob = bearer(services, "alice"), bearer(services, "bob")
    for _ in range(3):
        assert http.get("/api/v1/auth/whoami", headers=alice).status_code == 200
    refused = http.get("/api/v1/auth/whoami", headers=alice)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 2  # one token per second
    assert refused.get_json()["code"] == "rate_limited"
    # Another user from the same address has a bucket of their own.
    assert http.get("/api/v1/auth/whoami", headers=bob).status_code == 200
    # The console is not counted against the API bucket.
    assert http.get("/login").status_code == 200


def test_anonymous_and_failed_credentials_count_per_address(site) -> None:
    app, _ = site
    http = app.test_client()
    wrong = {"Authorization": "Bearer not-a-token"}
    assert http.get("/api/v1/health").status_code == 200
    assert http.get("/api/v1/auth/whoami", headers=wrong).status_code == 401
    assert http.get("/api/v1/health").status_code == 200
    assert http.get("/api/v1/health").status_code == 429
    other = http.get("/api/v1/health", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(site, tmp_path: Path) -> None:
    app, _ = site
    http = app.test_client()
    for n in range(4):  # a forged X-Forwarded-For does not buy a fresh bucket
        response = http.get("/api/v1/health", headers={"X-Forwarded-For": f"198.51.100.{n}"})
    assert response.status_code == 429
    (tmp_path / "proxied").mkdir()
    behind, services = make_app(
        make_settings(tmp_path / "proxied", api_per_minute=60, api_burst=2, trusted_proxies=1)
    )
    try:
        proxied = behind.test_client()
        client = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        assert proxied.get("/api/v1/health", headers=client).status_code == 200
        assert proxied.get("/api/v1/health", headers=client).status_code == 200
        assert proxied.get("/api/v1/health", headers=client).status_code == 429
        other = {"X-Forwarded-For": "203.0.113.10"}
        assert proxied.get("/api/v1/health", headers=other).status_code == 200
        # The address the proxy names is what the audit log records.
        add_user(services, "carol", "regulator")
        proxied.post("/api/v1/recall", json={}, headers={**bearer(services, "carol"), **other})
        entry = accounts_of(services).store.audit_entries(1)[0]
        assert entry["detail"]["from"] == "203.0.113.10"
    finally:
        close_app(behind)


def test_the_bucket_refills_at_the_configured_rate() -> None:
    bucket = TokenBucket(per_minute=60, burst=2)
    bucket.take("k", now=100.0)
    bucket.take("k", now=100.0)
    with pytest.raises(RateLimited) as refused:
        bucket.take("k", now=100.5)
    assert refused.value.retry_after == 1
    bucket.take("k", now=101.0)  # one token a second
    with pytest.raises(RateLimited):
        bucket.take("k", now=101.0)
    bucket.take("k", now=200.0)
    bucket.take("k", now=200.0)  # refilled to the burst, never beyond
    with pytest.raises(RateLimited):
        bucket.take("k", now=200.0)
    unlimited = TokenBucket(per_minute=0, burst=1)  # 0: no limit
    for _ in range(10):
        unlimited.take("k", now=300.0)
