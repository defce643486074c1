"""Load files into the graph: detect the format, parse, map, write one message at a time.

A message (a CEB XML file or an EPCIS document) is applied all-or-nothing: if any of its
records cannot be mapped, none is written, and the report names the file, the record and
the reason.  Writes are MERGE upserts, so loading the same files again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from traceability.analysis.compliance.engine import Action, ComplianceEngine
from traceability.errors import InvalidInput
from traceability.formats.ceb.spec import MESSAGES
from traceability.formats.ceb.validate import validate_message
from traceability.formats.ceb.xml import DEFAULT_MAX_BYTES, MessageError, read_message
from traceability.formats.privacy import PersonalDataHasher
from traceability.ingest.handlers import DocumentHandler
from traceability.ingest.mapping import CebMapper, GraphBatch
from traceability.ingest.registry import is_registry, read_registry, registry_row
from traceability.store.port import GraphStore

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


@dataclass(slots=True)
class Prepared:
    """A message read, mapped and checked, not yet written."""

    fmt: str
    count: int
    batch: GraphBatch
    actions: list[Action] = field(default_factory=list)
    handler: DocumentHandler | None = None  # a feature's format, stored whole by its handler
    data: bytes = b""


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
        archive: Path | None = None,
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
        return Prepared(code, len(message.records), batch, actions)

    def detect(self, data: bytes) -> str:
        """The format name: a feature handler's claim first, else the core's sniffing."""
        for handler in self.handlers:
            claimed = handler.detect(data)
            if claimed:
                return claimed
        return detect_format(data)

    def ingest_bytes(self, data: bytes, source: str, report: IngestReport) -> None:
        try:
            prepared = self.map_bytes(data)
        except IngestError as exc:
            report.tally(self.detect(data)).rejected_files += 1
            report.rejections.append(Rejection(source, exc.record, str(exc)))
            return
        if prepared.handler is not None:
            self._hand_over(prepared, source, report)
            return
        # Both writes are idempotent: after a failure between them, a re-run converges.
        self.store.upsert(prepared.batch.nodes, prepared.batch.edges)
        raised = self.compliance.apply(prepared.actions) if self.compliance else []
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
        record, and what an authorised, audited unmasking reads.
        """
        if self.archive is None:
            return
        folder = self.archive / fmt
        suffix = {"REGISTRY-CSV": "csv", "EPCIS-JSON": "json"}.get(fmt, "xml")
        path = folder / f"{hashlib.sha256(data).hexdigest()}.{suffix}"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".part")
            temporary.write_bytes(data)
            temporary.replace(path)

    def ingest_paths(
        self,
        paths: Iterable[Path],
        on_file: Callable[[Path], None] | None = None,
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
