"""The compliance ledger: documents as checks need them, and the findings, in SQLite.

It lives beside the graph in the embedded database file (its own tables), whichever graph
engine is configured: pair checks, quotas and sweeps are lookups by order number, buyer
and year that a small local table answers directly.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from traceability.analysis.compliance.checks import Doc
from traceability.analysis.compliance.findings import FINDING_TYPES, Finding
from traceability.store.embedded import EmbeddedDatabase
from traceability.store.migrations import Component, Migration, migrate

_DDL = [
    """CREATE TABLE IF NOT EXISTS compliance_documents (
        kind TEXT NOT NULL, key TEXT NOT NULL, guid TEXT, app_type TEXT, status TEXT NOT NULL,
        time TEXT, order_key TEXT, order_no TEXT, invt_no TEXT, buyer_hash TEXT, year INTEGER,
        amount TEXT, facts TEXT NOT NULL, PRIMARY KEY (kind, key))""",
    "CREATE INDEX IF NOT EXISTS compliance_by_order ON compliance_documents (order_key, kind)",
    "CREATE INDEX IF NOT EXISTS compliance_by_order_no ON compliance_documents (order_no, kind)",
    "CREATE INDEX IF NOT EXISTS compliance_by_invt ON compliance_documents (invt_no)",
    "CREATE INDEX IF NOT EXISTS compliance_by_buyer ON compliance_documents (buyer_hash, year)",
    """CREATE TABLE IF NOT EXISTS compliance_findings (
        id TEXT PRIMARY KEY, code TEXT NOT NULL, severity TEXT NOT NULL, keys TEXT NOT NULL,
        body TEXT NOT NULL, time TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
        active INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS compliance_findings_by_code ON compliance_findings (code)",
]

SCHEMA = Component(
    "compliance",
    (Migration(1, "documents and findings", tuple(_DDL)),),
)

ACTIVE = "active"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _doc(row: sqlite3.Row) -> Doc:
    return Doc(
        kind=row["kind"], key=row["key"], guid=row["guid"], app_type=row["app_type"],
        time=row["time"], order_key=row["order_key"], order_no=row["order_no"],
        invt_no=row["invt_no"], buyer_hash=row["buyer_hash"], year=row["year"],
        amount=Decimal(row["amount"]) if row["amount"] is not None else None,
        facts=json.loads(row["facts"]),
    )  # fmt: skip


class Ledger:
    def __init__(self, path: Path) -> None:
        self.database = EmbeddedDatabase(path, row_factory=sqlite3.Row)
        self.path = self.database.path
        # Finding ids to resolve, per thread, while that thread's transaction is open.
        self._local = threading.local()
        migrate(self.database, SCHEMA)

    @property
    def db(self) -> sqlite3.Connection:
        return self.database.db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ledger transaction; ``resolve`` calls inside it are sent as one batch.

        A message resolves a finding per check that passed (most of them, for ids that
        were never recorded): they are queued and written with one ``executemany`` before
        anything reads the findings table again (``record``, ``active_ids``, …) and before
        the commit, so every read sees exactly what it saw with one statement each.
        """
        if getattr(self._local, "resolves", None) is not None:  # nested: the outer one
            yield self.db
            return
        self._local.resolves = []
        try:
            with self.database.transaction() as db:
                yield db
                self._flush_resolves()
        finally:
            self._local.resolves = None

    def _flush_resolves(self) -> None:
        pending: list[tuple[str]] | None = getattr(self._local, "resolves", None)
        if pending:
            self.db.executemany("UPDATE compliance_findings SET active = 0 WHERE id = ?", pending)
            pending.clear()

    # -- documents -----------------------------------------------------------------------

    def get(self, kind: str, key: str) -> Doc | None:
        row = self.db.execute(
            "SELECT * FROM compliance_documents WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return _doc(row) if row else None

    def get_many(self, idents: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Doc | None]:
        """``get`` for many (kind, key) pairs in one statement; absent ones map to None."""
        found: dict[tuple[str, str], Doc | None] = dict.fromkeys(idents)
        if not found:
            return found
        rows = self.db.execute(
            "SELECT d.* FROM json_each(?) j JOIN compliance_documents d"
            " ON d.kind = j.value ->> 0 AND d.key = j.value ->> 1",
            (json.dumps(list(found), ensure_ascii=False),),
        ).fetchall()
        for row in rows:
            found[(row["kind"], row["key"])] = _doc(row)
        return found

    def status(self, kind: str, key: str) -> str | None:
        row = self.db.execute(
            "SELECT status FROM compliance_documents WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return row[0] if row else None

    def put(self, doc: Doc, status: str) -> None:
        self.db.execute(
            "INSERT INTO compliance_documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (kind, key) DO UPDATE SET guid = excluded.guid,"
            " app_type = excluded.app_type, status = excluded.status, time = excluded.time,"
            " order_key = excluded.order_key, order_no = excluded.order_no,"
            " invt_no = coalesce(excluded.invt_no, invt_no), buyer_hash = excluded.buyer_hash,"
            " year = excluded.year, amount = excluded.amount, facts = excluded.facts",
            (
                doc.kind, doc.key, doc.guid, doc.app_type, status, doc.time, doc.order_key,
                doc.order_no, doc.invt_no, doc.buyer_hash, doc.year,
                str(doc.amount) if doc.amount is not None else None,
                json.dumps(doc.facts, ensure_ascii=False, sort_keys=True),
            ),
        )  # fmt: skip

    def set_status(self, kind: str, key: str, status: str) -> Doc | None:
        self.db.execute(
            "UPDATE compliance_documents SET status = ? WHERE kind = ? AND key = ?",
            (status, kind, key),
        )
        return self.get(kind, key)

    def set_invt_no(self, cop_no: str, invt_no: str) -> None:
        self.db.execute(
            "UPDATE compliance_documents SET invt_no = ? WHERE kind = 'inventory' AND key = ?",
            (invt_no, cop_no),
        )

    def partners(self, kind: str, *, order_key: str | None = None,
                 order_no: str | None = None) -> list[Doc]:  # fmt: skip
        column, value = ("order_key", order_key) if order_key else ("order_no", order_no)
        # No ORDER BY: with one, SQLite walks the (kind, key) primary key of every document
        # of that kind instead of seeking the order index.
        rows = self.db.execute(
            f"SELECT * FROM compliance_documents WHERE {column} = ? AND kind = ?"
            " AND status = 'active'",
            (value, kind),
        ).fetchall()
        return sorted((_doc(row) for row in rows), key=lambda doc: doc.key)

    def inventory_by_invt_no(self, invt_no: str) -> Doc | None:
        row = self.db.execute(
            "SELECT * FROM compliance_documents WHERE kind = 'inventory' AND invt_no = ?",
            (invt_no,),
        ).fetchone()
        return _doc(row) if row else None

    def yearly(self, buyer_hash: str, year: int) -> tuple[Decimal, list[str]]:
        """A buyer's declared total in a year: active inventories only (not cancelled/returned)."""
        rows = self.db.execute(
            "SELECT key, amount FROM compliance_documents WHERE buyer_hash = ? AND year = ?"
            " AND kind = 'inventory' AND status = 'active' ORDER BY time, key",
            (buyer_hash, year),
        ).fetchall()
        total = sum((Decimal(r["amount"]) for r in rows if r["amount"]), Decimal(0))
        return total, [r["key"] for r in rows]

    def missing_partners(self, older_than: str) -> list[tuple[str, str, list[str]]]:
        """(kind, key, missing kinds) for active documents older than the cut-off."""
        found = []
        orders = self.db.execute(
            "SELECT o.key, o.order_no,"
            " EXISTS (SELECT 1 FROM compliance_documents p WHERE p.order_key = o.key"
            "   AND p.kind = 'payment' AND p.status = 'active') AS has_payment,"
            " EXISTS (SELECT 1 FROM compliance_documents w WHERE w.order_no = o.order_no"
            "   AND w.kind = 'waybill' AND w.status = 'active') AS has_waybill,"
            " EXISTS (SELECT 1 FROM compliance_documents i WHERE i.order_key = o.key"
            "   AND i.kind = 'inventory' AND i.status = 'active') AS has_inventory"
            " FROM compliance_documents o WHERE o.kind = 'order' AND o.status = 'active'"
            " AND o.time < ?",
            (older_than,),
        ).fetchall()
        for row in orders:
            missing = [k for k in ("payment", "waybill", "inventory") if not row[f"has_{k}"]]
            if missing:
                found.append(("order", row["key"], missing))
        for kind, column in (("payment", "order_key"), ("waybill", "order_no")):
            link = "key" if column == "order_key" else "order_no"
            rows = self.db.execute(
                f"SELECT d.key FROM compliance_documents d WHERE d.kind = ? AND d.status = 'active'"
                f" AND d.time < ? AND NOT EXISTS (SELECT 1 FROM compliance_documents o"
                f"   WHERE o.kind = 'order' AND o.{link} = d.{column})",
                (kind, older_than),
            ).fetchall()
            found.extend((kind, row["key"], ["order"]) for row in rows)
        return found

    # -- findings ------------------------------------------------------------------------

    def record(self, finding: Finding) -> bool:
        """Store or refresh a finding; True when it is new or was resolved before."""
        self._flush_resolves()
        body = json.dumps(finding.as_json(), ensure_ascii=False, default=str)
        now = _now()
        before = self.db.execute(
            "SELECT active FROM compliance_findings WHERE id = ?", (finding.id,)
        ).fetchone()
        self.db.execute(
            "INSERT INTO compliance_findings VALUES (?,?,?,?,?,?,?,?,1)"
            " ON CONFLICT (id) DO UPDATE SET body = excluded.body, time = excluded.time,"
            " last_seen = excluded.last_seen, active = 1",
            (finding.id, finding.code, FINDING_TYPES[finding.code].severity.value,
             json.dumps(sorted(finding.keys)), body, finding.time, now, now),
        )  # fmt: skip
        return before is None or not before[0]

    def resolve(self, finding_id: str) -> None:
        pending: list[tuple[str]] | None = getattr(self._local, "resolves", None)
        if pending is not None:
            pending.append((finding_id,))
            return
        self.db.execute("UPDATE compliance_findings SET active = 0 WHERE id = ?", (finding_id,))

    def active_ids(self, code: str) -> set[str]:
        self._flush_resolves()
        rows = self.db.execute(
            "SELECT id FROM compliance_findings WHERE code = ? AND active = 1", (code,)
        )
        return {row[0] for row in rows}

    def findings(self, code: str | None = None, include_resolved: bool = False,
                 limit: int = 10_000) -> list[dict[str, Any]]:  # fmt: skip
        self._flush_resolves()
        sql = "SELECT body, active, first_seen FROM compliance_findings WHERE 1 = 1"
        params: list[Any] = []
        if code:
            sql += " AND code = ?"
            params.append(code)
        if not include_resolved:
            sql += " AND active = 1"
        sql += " ORDER BY code, id LIMIT ?"
        params.append(limit)
        result = []
        for body, active, first_seen in self.db.execute(sql, params):
            item = json.loads(body)
            item["active"] = bool(active)
            item["first_seen"] = first_seen
            result.append(item)
        return result

    def counts(self) -> dict[str, int]:
        self._flush_resolves()
        rows = self.db.execute(
            "SELECT code, count(*) FROM compliance_findings WHERE active = 1 GROUP BY code"
        )
        return dict(rows.fetchall())

    def close(self) -> None:
        self.database.close()
