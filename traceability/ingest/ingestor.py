"""Load files into the graph: detect the format, parse, map, write one message at a time.

A message (a CEB XML file or an EPCIS document) is applied all-or-nothing: if any of its
records cannot be mapped, none is written, and the report names the file, the record and
the reason.  Writes are MERGE upserts, so loading the same files again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from traceability.analysis.compliance.engine import Action, ComplianceEngine
from traceability.errors import Forbidden, InvalidInput
from traceability.formats.archive import Archive
from traceability.formats.ceb.spec import MESSAGES
from traceability.formats.ceb.validate import validate_message
from traceability.formats.ceb.xml import DEFAULT_MAX_BYTES, MessageError, read_message
from traceability.formats.privacy import PersonalDataHasher
from traceability.ingest.handlers import DocumentHandler
from traceability.ingest.mapping import CebMapper, GraphBatch
from traceability.ingest.registry import is_registry, read_registry, registry_row
from traceability.store.port import GraphStore
from traceability.store.traversal import paused_gc

SUFFIXES = {".xml", ".json", ".jsonld", ".csv"}
# The generator's description of a world, not a message; skipped when walking folders.
MANIFEST_NAME = "manifest.json"


@dataclass(slots=True)
class Rejection:
    source: str
    record: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.source} 第 {self.record} 条记录" if self.record else self.source
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class FormatTally:
    files: int = 0
    records: int = 0
    rejected_files: int = 0
    findings: int = 0


@dataclass
class IngestReport:
    formats: dict[str, FormatTally] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    # Findings raised by the sweep for documents still missing partners at the end.
    sweep_findings: int = 0

    @property
    def ok(self) -> bool:
        return not self.rejections

    def tally(self, fmt: str) -> FormatTally:
        return self.formats.setdefault(fmt, FormatTally())


class DocumentOwners(Protocol):
    """Which enterprise sent a document first (kept by the accounts feature)."""

    def owner(self, key: str) -> str | None: ...

    def claim(self, keys: Iterable[str], enterprise: str, user: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who sent a document through the API.

    ``enterprise=None`` is a trusted sender (the command line, an administrator or a
    regulator): no ownership rule applies.  An enterprise-bound sender may only send
    records that name its enterprise, and may change (appType 2), delete (appType 3),
    cancel, refund or update the status of only documents its enterprise sent itself —
    otherwise anyone could erase another enterprise's orders from a recall.
    """

    user: str
    enterprise: str | None = None
    owners: DocumentOwners | None = None

    @property
    def restricted(self) -> bool:
        return self.enterprise is not None


# Messages an enterprise may send: the fields naming the enterprises party to a record.
SUBMITTER_PARTIES: dict[str, tuple[str, ...]] = {
    "CEB311": ("ebpCode", "ebcCode"),
    "CEB411": ("payCode",),
    "CEB511": ("logisticsCode",),
    "CEB513": ("logisticsCode",),
    "CEB621": ("agentCode", "ebpCode", "ebcCode"),
    "CEB623": ("agentCode", "ebpCode", "ebcCode"),
    "CEB625": ("agentCode", "ebpCode", "ebcCode"),
}
# Messages that change an existing document whatever their appType says.
CHANGE_MESSAGES = frozenset({"CEB513", "CEB623", "CEB625"})


@dataclass(frozen=True, slots=True)
class Touched:
    """A document a record creates or changes: its owner key and whether it is a change."""

    key: str
    kind: str
    ledger_key: str
    change: bool
    parties: frozenset[str]


@dataclass(slots=True)
class Prepared:
    """A message read, mapped and checked, not yet written."""

    fmt: str
    count: int
    batch: GraphBatch
    actions: list[Action] = field(default_factory=list)
    handler: DocumentHandler | None = None  # a feature's format, stored whole by its handler
    data: bytes = b""
    touched: list[Touched] = field(default_factory=list)


class IngestError(InvalidInput):
    def __init__(self, reason: str, record: int | None = None) -> None:
        super().__init__(reason)
        self.record = record


_MESSAGE_MARKERS = [(f"{code}Message".encode(), code) for code in sorted(MESSAGES)]


def detect_format(data: bytes) -> str:
    """Sniff the format from the first bytes; the reader confirms it properly."""
    if is_registry(data):
        return "REGISTRY-CSV"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        marker = data[:2048]
        for needle, code in _MESSAGE_MARKERS:
            if needle in marker:
                return code
        if b"DxpMsg" in marker:
            return "DXP"
        return "XML"
    return "unknown"


class Ingestor:
    def __init__(
        self,
        store: GraphStore,
        hasher: PersonalDataHasher,
        max_bytes: int = DEFAULT_MAX_BYTES,
        archive: Path | Archive | None = None,
        compliance: ComplianceEngine | None = None,
        handlers: Sequence[DocumentHandler] = (),
    ) -> None:
        self.handlers = tuple(handlers)
        self.store = store
        resolver = None
        if compliance is not None:
            ledger = compliance.ledger

            def resolver(invt_no: str) -> str | None:
                found = ledger.inventory_by_invt_no(invt_no)
                return found.key if found else None

        self.mapper = CebMapper(hasher, resolver)
        self.max_bytes = max_bytes
        self.archive = archive
        self.compliance = compliance

    def map_bytes(self, data: bytes) -> Prepared:
        """Parse, map and check one message; raises IngestError without touching any store."""
        if len(data) > self.max_bytes:
            raise IngestError(f"文件过大: {len(data)} 字节，上限 {self.max_bytes} 字节")
        for handler in self.handlers:
            claimed = handler.detect(data)
            if claimed:
                return Prepared(claimed, 0, GraphBatch(), handler=handler, data=data)
        fmt = detect_format(data)
        batch = GraphBatch()
        if fmt == "REGISTRY-CSV":
            rows = read_registry(data)
            for index, row in enumerate(rows, 1):
                try:
                    batch.extend(registry_row(row))
                except InvalidInput as exc:  # MappingError and bad field formats
                    raise IngestError(str(exc), index) from None
            return Prepared(fmt, len(rows), batch)
        try:
            message = read_message(data, self.max_bytes)
        except MessageError as exc:
            raise IngestError(str(exc)) from None
        code = message.spec.code
        problems = validate_message(message)
        if problems:
            # Record problems first (they name the record), then message-level ones.
            problems.sort(key=lambda p: (p[0] is None, p[0] or 0))
            shown = "；".join(reason for _, reason in problems[:3])
            more = f"（另有 {len(problems) - 3} 处问题）" if len(problems) > 3 else ""
            raise IngestError(shown + more, problems[0][0])
        for index, record in enumerate(message.records, 1):
            try:
                batch.extend(self.mapper.map(code, record))
            except InvalidInput as exc:  # MappingError and bad field formats
                raise IngestError(str(exc), index) from None
        actions = self.compliance.prepare(code, message.records) if self.compliance else []
        touched = [self._touched(code, record.head) for record in message.records]
        return Prepared(code, len(message.records), batch, actions, touched=touched)

    def _touched(self, code: str, head: dict[str, str]) -> Touched:
        change = head.get("appType", "1") in ("2", "3") or code in CHANGE_MESSAGES
        parties = frozenset(head[f] for f in SUBMITTER_PARTIES.get(code, ()) if head.get(f))
        g = head.get
        if code == "CEB311":
            kind, key = "order", f"{g('ebpCode')}:{g('orderNo')}"
        elif code == "CEB411":
            kind, key = "payment", f"{g('payCode')}:{g('payTransactionId')}"
        elif code in ("CEB511", "CEB513"):
            kind, key = "waybill", f"{g('logisticsCode')}:{g('logisticsNo')}"
        elif code in ("CEB621", "CEB623", "CEB625"):
            kind, key = "inventory", g("copNo") or ""
            if not key and g("invtNo") and self.compliance is not None:
                found = self.compliance.ledger.inventory_by_invt_no(g("invtNo") or "")
                key = found.key if found else ""
            key = key or f"invtNo={g('invtNo')}"
        else:
            kind, key = code, g("guid") or ""
        return Touched(f"{kind}:{key}", kind, key, change, parties)

    def _authorize(self, prepared: Prepared, submitter: Submitter | None) -> None:
        """Refuse, before anything is written, what an enterprise may not send."""
        if submitter is None or not submitter.restricted:
            return
        enterprise = submitter.enterprise
        if prepared.handler is not None:
            raise Forbidden(f"报送企业请经 /epcis/capture 提交 {prepared.fmt} 文档")
        if prepared.fmt not in SUBMITTER_PARTIES:
            raise Forbidden(f"报送企业不能提交 {prepared.fmt} 报文")
        owners = submitter.owners
        ledger = self.compliance.ledger if self.compliance is not None else None
        for index, doc in enumerate(prepared.touched, 1):
            if enterprise not in doc.parties:
                raise Forbidden(f"第 {index} 条记录不涉及本企业 {enterprise}，不能代其他企业报送")
            owner = owners.owner(doc.key) if owners is not None else None
            if owner is not None and owner != enterprise:
                raise Forbidden(f"第 {index} 条记录的单证 {doc.key} 由其他企业报送，不能变更")
            if owner is None and doc.change:
                raise Forbidden(f"第 {index} 条记录变更或删除的单证 {doc.key} 不是本企业报送的")
            if owner is None and ledger is not None and ledger.status(doc.kind, doc.ledger_key):
                raise Forbidden(f"第 {index} 条记录的单证 {doc.key} 已存在，且不是本企业报送的")

    def detect(self, data: bytes) -> str:
        """The format name: a feature handler's claim first, else the core's sniffing."""
        for handler in self.handlers:
            claimed = handler.detect(data)
            if claimed:
                return claimed
        return detect_format(data)

    def ingest_bytes(
        self, data: bytes, source: str, report: IngestReport, submitter: Submitter | None = None
    ) -> None:
        """Ingest one message; ``submitter`` (the API's caller) raises Forbidden, not a
        rejection, when an enterprise sends what it may not."""
        try:
            with paused_gc():  # one message's short-lived objects; see paused_gc
                prepared = self.map_bytes(data)
        except IngestError as exc:
            report.tally(self.detect(data)).rejected_files += 1
            report.rejections.append(Rejection(source, exc.record, str(exc)))
            return
        self._authorize(prepared, submitter)
        if prepared.handler is not None:
            self._hand_over(prepared, source, report)
            return
        # Both writes are idempotent: after a failure between them, a re-run converges.
        with paused_gc():
            self.store.upsert(prepared.batch.nodes, prepared.batch.edges)
            raised = self.compliance.apply(prepared.actions) if self.compliance else []
        if submitter is not None and submitter.enterprise and submitter.owners is not None:
            new = [d.key for d in prepared.touched if not d.change]
            submitter.owners.claim(new, submitter.enterprise, submitter.user)
        self._keep_original(prepared.fmt, data)
        tally = report.tally(prepared.fmt)
        tally.files += 1
        tally.records += prepared.count
        tally.findings += len(raised)

    def _hand_over(self, prepared: Prepared, source: str, report: IngestReport) -> None:
        """A feature's document: its handler validates and stores it all-or-nothing."""
        tally = report.tally(prepared.fmt)
        assert prepared.handler is not None
        try:
            records = prepared.handler.handle(prepared.data)
        except IngestError as exc:
            tally.rejected_files += 1
            report.rejections.append(Rejection(source, exc.record, str(exc)))
            return
        self._keep_original(prepared.fmt, prepared.data)
        tally.files += 1
        tally.records += records

    def _keep_original(self, fmt: str, data: bytes) -> None:
        """Archive the message as received, named by its SHA-256 (same file, same name).

        The graph holds only hashed and masked personal data; the originals are the legal
        record, and what an authorised, audited unmasking reads.  Files are 0600 from
        creation, and AES-GCM encrypted when ``[privacy] archive_key`` is set (see
        :mod:`traceability.formats.archive`).
        """
        if self.archive is None:
            return
        archive = self.archive if isinstance(self.archive, Archive) else Archive(self.archive)
        archive.keep(fmt, data)

    def ingest_paths(
        self,
        paths: Iterable[Path],
        on_file: Callable[[Path], None] | None = None,
    ) -> IngestReport:
        """Ingest files one message at a time, in the store's bulk-load mode if it has one.

        Each message is still written in its own transaction (the compliance ledger shares
        the embedded file and writes between them); into an empty graph, the store builds
        its secondary indexes once at the end (see ``SQLiteGraphStore.bulk_load``).
        """
        with self.bulk_load():
            return self._ingest_paths(paths, on_file)

    def bulk_load(self) -> AbstractContextManager[object]:
        """The store's bulk-load mode (``qtrace ingest`` of a folder), or nothing."""
        bulk: Callable[[], AbstractContextManager[object]] | None = getattr(
            self.store, "bulk_load", None
        )
        return bulk() if bulk is not None else nullcontext()

    def _ingest_paths(
        self, paths: Iterable[Path], on_file: Callable[[Path], None] | None
    ) -> IngestReport:
        report = IngestReport()
        for path in paths:
            try:
                size = path.stat().st_size
                if size > self.max_bytes:
                    raise IngestError(f"文件过大: {size} 字节，上限 {self.max_bytes} 字节")
                data = path.read_bytes()
            except (OSError, IngestError) as exc:
                report.tally("unknown").rejected_files += 1
                report.rejections.append(Rejection(str(path), None, str(exc)))
            else:
                self.ingest_bytes(data, str(path), report)
            if on_file:
                on_file(path)
        if self.compliance is not None:
            report.sweep_findings = len(self.compliance.sweep(dt.datetime.now(dt.UTC)))
        return report


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, and every XML/JSON file below named folders, sorted.

    EPCIS documents come first so that lots carry their production facts before orders
    arrive; the graph is the same in any order, this only makes progress readable.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for root, _, names in os.walk(path):
                found.extend(
                    Path(root) / n
                    for n in names
                    if Path(n).suffix.lower() in SUFFIXES and n != MANIFEST_NAME
                )
        else:
            found.append(path)
    return sorted(found, key=lambda p: (p.suffix.lower() == ".xml", str(p)))
