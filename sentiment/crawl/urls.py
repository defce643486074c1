"""Canonical URLs: one key per article, whatever tracking parameters a link carried."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING = ("utm_", "spm", "from", "share", "wx_", "scene", "clicktime", "_t")


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, tracking params dropped,
    the remaining query sorted, and an empty path as ``/``."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = (
        host
        if port is None or (scheme, port) in (("http", 80), ("https", 443))
        else f"{host}:{port}"
    )
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))
