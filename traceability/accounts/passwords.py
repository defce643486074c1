"""Password hashing with scrypt (standard library), parameters stored with each hash.

The format is ``scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>``, so the cost can be raised
later without invalidating stored hashes (:func:`needs_rehash`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# OWASP's scrypt alternative: N=2^15, r=8, p=3 (32 MiB per hash).
LOG_N, R, P = 15, 8, 3
_MAXMEM = 256 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=2**log_n, r=r, p=p, maxmem=_MAXMEM, dklen=32
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _derive(password, salt, LOG_N, R, P)
    return f"scrypt${LOG_N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison; a malformed stored hash never verifies."""
    try:
        scheme, log_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or not (10 <= int(log_n) <= 20):
            return False
        expected = base64.b64decode(digest)
        actual = _derive(password, base64.b64decode(salt), int(log_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str) -> bool:
    return not stored.startswith(f"scrypt${LOG_N}${R}${P}$")


# Verified against when the user does not exist, so that timing does not tell.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
