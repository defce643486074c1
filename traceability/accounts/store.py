"""Users, sessions, API tokens, document owners and the audit log, in the embedded file.

Secrets are never stored: passwords as scrypt hashes, session cookies and API tokens as
SHA-256 of random values (256 bits, so a plain hash is enough: nothing to brute-force).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traceability.accounts.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    verify_password,
)
from traceability.accounts.permissions import ROLES
from traceability.errors import Conflict, InvalidInput, NotFound
from traceability.store.embedded import EmbeddedDatabase
from traceability.store.migrations import Component, Migration, migrate

SCHEMA = Component(
    "accounts",
    (
        Migration(1, "users, sessions, tokens, document owners, audit log", (
            """CREATE TABLE IF NOT EXISTS accounts_users (
                name TEXT PRIMARY KEY, role TEXT NOT NULL, enterprise TEXT,
                password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
                failures INTEGER NOT NULL DEFAULT 0, locked_until TEXT,
                created_at TEXT NOT NULL, password_changed_at TEXT NOT NULL)""",
            """CREATE TABLE IF NOT EXISTS accounts_sessions (
                id_hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,
                created_at TEXT NOT NULL, expires_at TEXT NOT NULL, last_seen TEXT NOT NULL)""",
            """CREATE TABLE IF NOT EXISTS accounts_tokens (
                id TEXT PRIMARY KEY, user TEXT NOT NULL, secret_hash TEXT NOT NULL,
                scopes TEXT NOT NULL, label TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL, expires_at TEXT NOT NULL, revoked_at TEXT,
                last_used TEXT)""",
            """CREATE TABLE IF NOT EXISTS accounts_document_owners (
                key TEXT PRIMARY KEY, enterprise TEXT NOT NULL, user TEXT NOT NULL,
                time TEXT NOT NULL)""",
            """CREATE TABLE IF NOT EXISTS accounts_audit (
                seq INTEGER PRIMARY KEY, time TEXT NOT NULL, actor TEXT NOT NULL,
                action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL,
                prev TEXT NOT NULL, hash TEXT NOT NULL)""",
        )),
    ),
)  # fmt: skip

SCOPES = ("read", "write")
GENESIS = "0" * 64
TOKEN_PREFIX = "qtr"
AUDIT_KEY_FILE = "audit.key"


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def private_key_file(path: Path, size: int = 32) -> bytes:
    """A random key in ``path``, created 0600 from the start (never world-readable)."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(size))
    return bytes.fromhex(path.read_text().strip())


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    enterprise: str | None
    disabled: bool
    locked_until: str | None

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "roleZh": ROLES.get(self.role, ""),
                "enterprise": self.enterprise, "disabled": self.disabled}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user, how (session or token), and the token's scopes."""

    user: User
    via: str  # "session" | "token"
    scopes: tuple[str, ...] = SCOPES
    csrf: str | None = None
    session_id: str | None = None

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> str:
        return self.user.role


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: User | None
    reason: str | None = None  # why refused: "bad" | "locked" | "disabled"
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class AuditProblem:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"第 {self.seq} 条审计记录: {self.reason}"


def _user(row: sqlite3.Row) -> User:
    return User(row["name"], row["role"], row["enterprise"], bool(row["disabled"]),
                row["locked_until"])  # fmt: skip


class AccountStore:
    def __init__(
        self,
        path: Path,
        audit_key: bytes,
        *,
        max_failures: int = 5,
        lockout: dt.timedelta = dt.timedelta(minutes=15),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.database = EmbeddedDatabase(path, row_factory=sqlite3.Row)
        migrate(self.database, SCHEMA)
        self._audit_key = audit_key
        self.max_failures = max_failures
        self.lockout = lockout
        self.clock = clock

    @property
    def db(self) -> sqlite3.Connection:
        return self.database.db

    def close(self) -> None:
        self.database.close()

    def now(self) -> dt.datetime:
        return self.clock()

    # -- users ---------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str, enterprise: str | None = None,
                 actor: str = "cli") -> User:  # fmt: skip
        if role not in ROLES:
            raise InvalidInput(f"未知角色 {role}；可选: {', '.join(ROLES)}")
        if role == "submitter" and not enterprise:
            raise InvalidInput("报送企业 (submitter) 须指定企业代码 --enterprise")
        if not name or len(name) > 64 or any(c.isspace() for c in name):
            raise InvalidInput("用户名须为 1–64 个非空白字符")
        now = _iso(self.now())
        try:
            self.db.execute(
                "INSERT INTO accounts_users (name, role, enterprise, password_hash,"
                " created_at, password_changed_at) VALUES (?,?,?,?,?,?)",
                (name, role, enterprise or None, hash_password(password), now, now),
            )
        except sqlite3.IntegrityError:
            raise Conflict(f"用户 {name} 已存在") from None
        self.audit(actor, "user.add", name, {"role": role, "enterprise": enterprise})
        return self.user(name)

    def user(self, name: str) -> User:
        row = self.db.execute("SELECT * FROM accounts_users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"用户 {name} 不存在")
        return _user(row)

    def users(self) -> list[User]:
        return [_user(r) for r in self.db.execute("SELECT * FROM accounts_users ORDER BY name")]

    def count_users(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM accounts_users").fetchone()[0])

    def set_password(self, name: str, password: str, actor: str = "cli") -> None:
        self.user(name)
        self.db.execute(
            "UPDATE accounts_users SET password_hash = ?, password_changed_at = ?, failures = 0,"
            " locked_until = NULL WHERE name = ?",
            (hash_password(password), _iso(self.now()), name),
        )
        self.end_sessions(name)
        self.audit(actor, "user.password", name, {})

    def set_disabled(self, name: str, disabled: bool, actor: str = "cli") -> None:
        self.user(name)
        self.db.execute("UPDATE accounts_users SET disabled = ? WHERE name = ?",
                        (int(disabled), name))  # fmt: skip
        if disabled:
            self.end_sessions(name)
        self.audit(actor, "user.disable" if disabled else "user.enable", name, {})

    def unlock(self, name: str, actor: str = "cli") -> None:
        self.user(name)
        self.db.execute(
            "UPDATE accounts_users SET failures = 0, locked_until = NULL WHERE name = ?", (name,)
        )
        self.audit(actor, "user.unlock", name, {})

    def authenticate(self, name: str, password: str, source: str = "") -> LoginResult:
        """Check a password with lockout; every outcome is audited."""
        row = self.db.execute("SELECT * FROM accounts_users WHERE name = ?", (name,)).fetchone()
        if row is None:
            verify_password(password, DUMMY_HASH)  # same work: timing does not tell
            self.audit(name[:64], "login.failed", name[:64], {"reason": "unknown", "from": source})
            return LoginResult(None, "bad")
        now = self.now()
        locked_until = row["locked_until"]
        if locked_until and dt.datetime.fromisoformat(locked_until) > now:
            left = int((dt.datetime.fromisoformat(locked_until) - now).total_seconds()) + 1
            self.audit(name, "login.locked", name, {"from": source})
            return LoginResult(None, "locked", left)
        ok = verify_password(password, row["password_hash"])
        if not ok:
            failures = int(row["failures"]) + 1
            until = _iso(now + self.lockout) if failures >= self.max_failures else None
            self.db.execute(
                "UPDATE accounts_users SET failures = ?, locked_until = ? WHERE name = ?",
                (0 if until else failures, until, name),
            )
            self.audit(name, "login.failed", name, {"reason": "password", "from": source,
                                                    "locked": bool(until)})  # fmt: skip
            if until:
                return LoginResult(None, "locked", int(self.lockout.total_seconds()))
            return LoginResult(None, "bad")
        if row["disabled"]:
            self.audit(name, "login.failed", name, {"reason": "disabled", "from": source})
            return LoginResult(None, "disabled")
        self.db.execute(
            "UPDATE accounts_users SET failures = 0, locked_until = NULL WHERE name = ?", (name,)
        )
        if needs_rehash(row["password_hash"]):
            self.db.execute("UPDATE accounts_users SET password_hash = ? WHERE name = ?",
                            (hash_password(password), name))  # fmt: skip
        self.audit(name, "login", name, {"from": source})
        return LoginResult(self.user(name))

    # -- sessions ------------------------------------------------------------------------

    def start_session(self, user: User, lifetime: dt.timedelta) -> tuple[str, str]:
        """A new session: the cookie value (returned once, stored hashed) and its CSRF token."""
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.now()
        self.db.execute("DELETE FROM accounts_sessions WHERE expires_at <= ?", (_iso(now),))
        self.db.execute(
            "INSERT INTO accounts_sessions VALUES (?,?,?,?,?,?)",
            (_sha(secret), user.name, csrf, _iso(now), _iso(now + lifetime), _iso(now)),
        )
        return secret, csrf

    def session(self, secret: str, idle: dt.timedelta) -> Principal | None:
        id_hash = _sha(secret)
        row = self.db.execute(
            "SELECT * FROM accounts_sessions WHERE id_hash = ?", (id_hash,)
        ).fetchone()
        if row is None:
            return None
        now = self.now()
        expired = dt.datetime.fromisoformat(row["expires_at"]) <= now
        idle_out = dt.datetime.fromisoformat(row["last_seen"]) + idle <= now
        user = self._active_user(row["user"])
        if expired or idle_out or user is None:
            self.db.execute("DELETE FROM accounts_sessions WHERE id_hash = ?", (id_hash,))
            return None
        self.db.execute("UPDATE accounts_sessions SET last_seen = ? WHERE id_hash = ?",
                        (_iso(now), id_hash))  # fmt: skip
        return Principal(user, "session", SCOPES, row["csrf"], id_hash)

    def end_session(self, secret_or_hash: str, *, hashed: bool = False) -> None:
        id_hash = secret_or_hash if hashed else _sha(secret_or_hash)
        self.db.execute("DELETE FROM accounts_sessions WHERE id_hash = ?", (id_hash,))

    def end_sessions(self, name: str) -> None:
        self.db.execute("DELETE FROM accounts_sessions WHERE user = ?", (name,))

    def _active_user(self, name: str) -> User | None:
        row = self.db.execute("SELECT * FROM accounts_users WHERE name = ?", (name,)).fetchone()
        if row is None or row["disabled"]:
            return None
        return _user(row)

    # -- API tokens ----------------------------------------------------------------------

    def create_token(self, name: str, scopes: Iterable[str], days: int, label: str = "",
                     actor: str = "cli") -> tuple[str, dict[str, Any]]:  # fmt: skip
        """A new token: ``qtr_<id>_<secret>`` (shown once) and its public description."""
        self.user(name)
        chosen = tuple(sorted(set(scopes)))
        if not chosen or any(s not in SCOPES for s in chosen):
            raise InvalidInput(f"令牌范围应为 {', '.join(SCOPES)} 中的一个或多个")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = self.now()
        expires = now + dt.timedelta(days=days)
        self.db.execute(
            "INSERT INTO accounts_tokens (id, user, secret_hash, scopes, label, created_at,"
            " expires_at) VALUES (?,?,?,?,?,?,?)",
            (token_id, name, _sha(secret), ",".join(chosen), label, _iso(now), _iso(expires)),
        )
        self.audit(actor, "token.create", name, {"id": token_id, "scopes": list(chosen),
                                                 "expires": _iso(expires)})  # fmt: skip
        return f"{TOKEN_PREFIX}_{token_id}_{secret}", self.token_info(token_id)

    def token_info(self, token_id: str) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM accounts_tokens WHERE id = ?", (token_id,)).fetchone()
        if row is None:
            raise NotFound(f"令牌 {token_id} 不存在")
        return {"id": row["id"], "user": row["user"], "scopes": row["scopes"].split(","),
                "label": row["label"], "created": row["created_at"],
                "expires": row["expires_at"], "revoked": row["revoked_at"],
                "lastUsed": row["last_used"]}  # fmt: skip

    def tokens(self, name: str | None = None) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id FROM accounts_tokens WHERE ?1 IS NULL OR user = ?1 ORDER BY created_at",
            (name,),
        ).fetchall()
        return [self.token_info(r[0]) for r in rows]

    def revoke_token(self, token_id: str, actor: str = "cli") -> None:
        info = self.token_info(token_id)
        self.db.execute(
            "UPDATE accounts_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
            (_iso(self.now()), token_id),
        )
        self.audit(actor, "token.revoke", info["user"], {"id": token_id})

    def token(self, presented: str) -> Principal | None:
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            return None
        _, token_id, secret = parts
        row = self.db.execute("SELECT * FROM accounts_tokens WHERE id = ?", (token_id,)).fetchone()
        if row is None or not hmac.compare_digest(row["secret_hash"], _sha(secret)):
            return None
        now = self.now()
        if row["revoked_at"] or dt.datetime.fromisoformat(row["expires_at"]) <= now:
            return None
        user = self._active_user(row["user"])
        if user is None:
            return None
        self.db.execute("UPDATE accounts_tokens SET last_used = ? WHERE id = ?",
                        (_iso(now), token_id))  # fmt: skip
        return Principal(user, "token", tuple(row["scopes"].split(",")))

    # -- document owners (who may change or retract a document) --------------------------

    def owner(self, key: str) -> str | None:
        row = self.db.execute(
            "SELECT enterprise FROM accounts_document_owners WHERE key = ?", (key,)
        ).fetchone()
        return row[0] if row else None

    def claim(self, keys: Iterable[str], enterprise: str, user: str) -> None:
        now = _iso(self.now())
        self.db.executemany(
            "INSERT OR IGNORE INTO accounts_document_owners VALUES (?,?,?,?)",
            [(key, enterprise, user, now) for key in keys],
        )

    # -- the audit log: an HMAC chain ----------------------------------------------------

    def _chain(self, prev: str, seq: int, time: str, actor: str, action: str, target: str,
               detail: str) -> str:  # fmt: skip
        message = json.dumps([prev, seq, time, actor, action, target, detail],
                             ensure_ascii=False, separators=(",", ":"))  # fmt: skip
        return hmac.new(self._audit_key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def audit(self, actor: str, action: str, target: str = "",
              detail: dict[str, Any] | None = None) -> int:  # fmt: skip
        """Append one entry; returns its sequence number."""
        text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
        time = self.now().astimezone(dt.UTC).isoformat(timespec="milliseconds")
        with self.database.transaction() as db:
            last = db.execute(
                "SELECT seq, hash FROM accounts_audit ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            digest = self._chain(prev, seq, time, actor, action, target, text)
            db.execute("INSERT INTO accounts_audit VALUES (?,?,?,?,?,?,?,?)",
                       (seq, time, actor, action, target, text, prev, digest))  # fmt: skip
        return int(seq)

    def audit_entries(self, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT * FROM accounts_audit WHERE ?1 IS NULL OR seq < ?1 ORDER BY seq DESC LIMIT ?2",
            (before, limit),
        ).fetchall()
        return [{"seq": r["seq"], "time": r["time"], "actor": r["actor"], "action": r["action"],
                 "target": r["target"], "detail": json.loads(r["detail"]), "hash": r["hash"]}
                for r in rows]  # fmt: skip

    def _audit_rows(self) -> Iterator[sqlite3.Row]:
        yield from self.db.execute("SELECT * FROM accounts_audit ORDER BY seq")

    def verify_audit(self) -> tuple[int, AuditProblem | None]:
        """Walk the chain; the number of entries checked and the first broken one, if any."""
        expected_seq, prev, checked = 1, GENESIS, 0
        for row in self._audit_rows():
            seq = row["seq"]
            if seq != expected_seq:
                return checked, AuditProblem(
                    expected_seq, f"缺失（下一条为第 {seq} 条），记录被删除"
                )
            if row["prev"] != prev:
                return checked, AuditProblem(seq, "与前一条的链接不符（记录被删除、插入或重排）")
            digest = self._chain(prev, seq, row["time"], row["actor"], row["action"],
                                 row["target"], row["detail"])  # fmt: skip
            if not hmac.compare_digest(digest, row["hash"]):
                return checked, AuditProblem(seq, "内容与校验值不符（记录被修改或重排）")
            prev, expected_seq, checked = row["hash"], seq + 1, checked + 1
        return checked, None
