"""64-bit SimHash over character shingles, for near-duplicate reposts.

Reposts of a complaint are rarely byte-identical: a forum adds "转自…", a mirror trims the
signature.  SimHash (Charikar) maps texts whose shingles mostly agree to fingerprints a few
bits apart; unrelated texts are about 32 bits apart (standard deviation 4).  Posts are
short, so a repost with a "转自…" line differs by more bits than a long web page would
(about 10 for a 60-character post), but templated posts about different products are
within 12 bits too: the default threshold is 7 bits.  Eight 8-bit bands index the
fingerprints: two fingerprints within 7 bits always share a band (pigeonhole), so
candidates come from indexed look-ups.
"""

from __future__ import annotations

import hashlib
import unicodedata

BITS = 64
BANDS = 8
BAND_BITS = BITS // BANDS
MASK = (1 << BITS) - 1


def _shingles(text: str, size: int = 3) -> list[str]:
    # Letters only: digits are timestamps, counts and floor numbers that reposts change.
    chars = "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalpha())
    if len(chars) <= size:
        return [chars] if chars else []
    return [chars[i : i + size] for i in range(len(chars) - size + 1)]


def _hash64(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")


def simhash(text: str) -> int:
    weights = [0] * BITS
    for shingle in set(_shingles(text)):
        h = _hash64(shingle)
        for bit in range(BITS):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(BITS) if weights[bit] > 0)


def distance(a: int, b: int) -> int:
    return ((a ^ b) & MASK).bit_count()


def bands(fingerprint: int) -> list[int]:
    """The band values, each tagged with its band number (band << BAND_BITS | value)."""
    return [
        (band << BAND_BITS) | (fingerprint >> (band * BAND_BITS) & ((1 << BAND_BITS) - 1))
        for band in range(BANDS)
    ]
