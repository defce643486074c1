"""Personal data (PIPL): keyed hashes for matching, masked forms for display.

The graph never stores a buyer's resident ID number, phone or address in clear.  It
stores an HMAC-SHA256 of each (so that the same person or phone matches across orders and
sites sharing the key) and a masked display form.  Unmasking by authorised roles, with an
audit record per query, reads the original messages, which stay in the regulator's archive.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import unicodedata
from pathlib import Path

from traceability.formats.identifiers import mask_name, mask_phone, mask_resident_id

KEY_FILE_NAME = "hash.key"


def _normalise(value: str) -> str:
    """NFKC + strip + no inner spaces: full-width digits and stray blanks must still match."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


@functools.lru_cache(maxsize=262_144)
def _digest(key: bytes, kind: str, parts: tuple[str, ...]) -> str:
    """Cached: one order's documents hash the same buyer, phone and address many times."""
    message = "\x1f".join([kind, *(_normalise(p) for p in parts)]).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


class PersonalDataHasher:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the personal-data hash key must be at least 16 bytes")
        self._key = key

    @classmethod
    def from_settings(cls, configured_key: str, data_dir: Path) -> PersonalDataHasher:
        """Use the configured key, else a random one kept in ``<data_dir>/hash.key``."""
        if configured_key:
            return cls(configured_key.encode())
        path = data_dir / KEY_FILE_NAME
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            try:  # 0600 from the start: never readable by others, not even for a moment
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it first: use theirs
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_hex(32))
        return cls(path.read_text().strip().encode())

    def digest(self, kind: str, *parts: str) -> str:
        return _digest(self._key, kind, parts)

    def id_hash(self, id_number: str) -> str:
        return self.digest("id", id_number)

    def phone_hash(self, phone: str) -> str:
        return self.digest("phone", phone)

    def address_hash(self, address: str) -> str:
        return self.digest("address", address)

    def consignee_hash(self, name: str, phone: str, address: str) -> str:
        return self.digest("consignee", name, phone, address)


def mask_address(address: str, keep: int = 9) -> str:
    """Keep the province/city/district prefix, hide the street and door number."""
    if len(address) <= keep:
        return address
    return address[:keep] + "*" * min(8, len(address) - keep)


__all__ = [
    "PersonalDataHasher",
    "mask_address",
    "mask_name",
    "mask_phone",
    "mask_resident_id",
]
