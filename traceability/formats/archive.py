"""The regulator's archive of original messages, encrypted at rest when a key is configured.

The originals are the legal record and hold personal data in clear (resident ID numbers,
phones, addresses): the graph keeps only keyed hashes and masked forms, and an authorised,
audited unmasking reads the originals.  So:

* every file is ``<root>/<format>/<sha256 of the plaintext>.<suffix>`` (the same message
  always gets the same name, and a name proves what the plaintext must hash to);
* folders are created 0700 and files 0600 *from creation* (``os.open`` with a mode, then an
  atomic rename), whatever the umask;
* with a key (``[privacy] archive_key``: base64 of 32 random bytes, from the site's
  config file or ``QTRACE_PRIVACY__ARCHIVE_KEY``, never from the repository), a file is
  ``MAGIC + nonce(12) + AES-256-GCM(plaintext)`` with a fresh random nonce per file and the
  file name as associated data (a ciphertext moved to another name does not decrypt);
* the reader decrypts what is encrypted and returns files written before encryption was
  turned on as they are; a wrong or missing key fails with a clear error, never garbage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from traceability.errors import ConfigurationError

MAGIC = b"QTRACE-ARCHIVE-AESGCM-1\n"
NONCE_BYTES = 12
KEY_BYTES = 32
SUFFIXES = {"REGISTRY-CSV": "csv", "EPCIS-JSON": "json"}


class ArchiveKeyError(ConfigurationError):
    """An archived original cannot be decrypted: no key, a wrong key, or a damaged file."""

    code = "archive_key"
    title = "归档密钥错误"


def parse_key(text: str | None) -> bytes | None:
    """The ``[privacy] archive_key`` setting: empty means no encryption."""
    if text is None or not text.strip():
        return None
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("[privacy] archive_key 应为 32 字节密钥的 base64 编码") from None
    if len(key) != KEY_BYTES:
        raise ConfigurationError(
            f"[privacy] archive_key 解码后应为 {KEY_BYTES} 字节，实为 {len(key)} 字节"
        )
    return key


def new_key() -> str:
    """A fresh key, base64 (for ``qtrace archive keygen``)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def suffix_of(fmt: str) -> str:
    return SUFFIXES.get(fmt, "xml")


class Archive:
    """Originals under ``root``, written 0600 and encrypted when ``key`` is given."""

    def __init__(self, root: Path, key: bytes | None = None) -> None:
        if key is not None and len(key) != KEY_BYTES:
            raise ConfigurationError(f"归档密钥应为 {KEY_BYTES} 字节")
        self.root = root
        self._key = key

    @property
    def encrypted(self) -> bool:
        return self._key is not None

    def path_for(self, fmt: str, data: bytes) -> Path:
        return self.root / fmt / f"{hashlib.sha256(data).hexdigest()}.{suffix_of(fmt)}"

    def seal(self, name: str, data: bytes) -> bytes:
        """What is written for plaintext ``data`` under file ``name``."""
        if self._key is None:
            return data
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(NONCE_BYTES)
        return MAGIC + nonce + AESGCM(self._key).encrypt(nonce, data, name.encode("utf-8"))

    def open(self, name: str, stored: bytes) -> bytes:
        """The plaintext of a stored file (plain files written before encryption as they are)."""
        if not stored.startswith(MAGIC):
            return stored
        if self._key is None:
            raise ArchiveKeyError(
                f"归档文件 {name} 已加密，但未配置 [privacy] archive_key "
                "(QTRACE_PRIVACY__ARCHIVE_KEY)"
            )
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        body = stored[len(MAGIC) :]
        nonce, ciphertext = body[:NONCE_BYTES], body[NONCE_BYTES:]
        try:
            return AESGCM(self._key).decrypt(nonce, ciphertext, name.encode("utf-8"))
        except (InvalidTag, ValueError):
            raise ArchiveKeyError(
                f"无法解密归档文件 {name}：[privacy] archive_key 不是写入时的密钥，或文件已损坏"
            ) from None

    def keep(self, fmt: str, data: bytes) -> Path:
        """Archive one message as received (idempotent: same bytes, same file)."""
        path = self.path_for(fmt, data)
        if not path.exists():
            self._write(path, self.seal(path.name, data))
        return path

    def read(self, path: Path) -> bytes:
        """The plaintext of one archived file."""
        return self.open(path.name, path.read_bytes())

    def files(self, fmt: str) -> Iterator[Path]:
        """The archived files of one format, in name order."""
        folder = self.root / fmt
        if folder.is_dir():
            yield from sorted(folder.glob(f"*.{suffix_of(fmt)}"))

    def encrypt_existing(self) -> tuple[int, int]:
        """Encrypt the plain files left from before a key was set: (encrypted, already)."""
        if self._key is None:
            raise ArchiveKeyError("未配置 [privacy] archive_key，无法加密归档")
        done = already = 0
        if not self.root.is_dir():
            return 0, 0
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for path in sorted(folder.iterdir()):
                if path.name.startswith(".") or not path.is_file():
                    continue
                stored = path.read_bytes()
                if stored.startswith(MAGIC):
                    already += 1
                    continue
                if hashlib.sha256(stored).hexdigest() != path.stem:
                    continue  # not an original named by its digest: leave it alone
                self._write(path, self.seal(path.name, stored), replace=True)
                done += 1
        return done, already

    @staticmethod
    def _write(path: Path, content: bytes, *, replace: bool = False) -> None:
        folder = path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
        # 0600 from the start: an original may hold personal data in clear.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                if replace:
                    handle.flush()
                    os.fsync(handle.fileno())
            temporary.replace(path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
