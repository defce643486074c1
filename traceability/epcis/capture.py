"""Capture: validate a whole document, then write events and graph records idempotently.

Rollback (the default error behaviour): nothing is written unless every event of the
document is valid and maps to graph records.  Proceed: the valid events are captured and
the invalid ones reported.  Writes go first to the event store (one transaction, keyed by
hash ID) and then to the graph (one MERGE batch); both are idempotent, so a capture that
failed between the two converges when it is retried.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from traceability.epcis.errors import EpcisError, Problem, exists, validation
from traceability.epcis.graph import event_records
from traceability.epcis.hashing import hash_id
from traceability.epcis.model import Document, Event
from traceability.epcis.parse import DEFAULT_MAX_BYTES, json_event, parse_document
from traceability.epcis.store import EventStore, Stored, iso_ms, now_ms
from traceability.epcis.validate import check_event, document_problems
from traceability.epcis.writer import master_data
from traceability.ingest.mapping import GraphBatch, MappingError
from traceability.store.port import GraphStore
from traceability.store.traversal import RETRACTED

ERROR_BEHAVIOURS = ("rollback", "proceed")
# Documents at least this large are checked and hashed by worker processes in parallel,
PARALLEL_MIN_BYTES = 256 * 1024
# once this much input has come through the Capture: starting the processes (spawn, each
# importing the checker) costs more than checking a few documents in-process saves.
PARALLEL_MIN_TOTAL_BYTES = 4 * 2**20


def default_workers() -> int:
    """``QTRACE_EPCIS__WORKERS``, else one checking process per CPU when there are several."""
    raw = os.environ.get("QTRACE_EPCIS__WORKERS")
    if raw is not None and raw.isdigit():
        return int(raw)
    cpus = os.cpu_count() or 1
    return cpus if cpus > 1 else 0


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Worker initializer: on Linux, the kernel kills this worker when its parent dies.

    Without it a ``kill -9`` of ``qtrace serve`` or ``qtrace ingest`` leaves the checking
    processes orphaned (they hold memory and the document they were given).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc/musl
        return
    if os.getppid() == 1:  # the parent died before prctl: do not outlive it
        os._exit(1)


def check_share(
    data: bytes, max_bytes: int, part: int, parts: int
) -> tuple[list[tuple[str, str]], list[str]]:
    """Worker side: findings and hash IDs of one share of a document's events.

    Runs in a separate process (started with ``spawn``: it holds no store connection), so
    it parses the bytes itself; the parent parses them too, concurrently, to map and write.
    """
    document = parse_document(data, max_bytes)
    problems = document_problems(document, part, parts)
    count = len(document.events)
    share = document.events[part * count // parts : (part + 1) * count // parts]
    keys = [hash_id(e.body, e.namespaces) for e in share]
    return [(p.pointer, p.message) for p in problems], keys


@dataclass
class CaptureResult:
    events: int = 0
    captured: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


def prepare(event: Event, record_time: int, key: str | None = None) -> Stored:
    """Hash an event and give it the IDs and record time it is stored with."""
    key = key or hash_id(event.body, event.namespaces)
    body = dict(event.body)
    body.setdefault("eventID", key)
    body["recordTime"] = iso_ms(record_time)
    return Stored(key, Event(body, event.namespaces), record_time)


class Capture:
    """Runs captures against one event store and one graph store."""

    def __init__(
        self,
        events: EventStore,
        graph: GraphStore,
        max_bytes: int = DEFAULT_MAX_BYTES,
        workers: int | None = None,
    ) -> None:
        self.events = events
        self.graph = graph
        self.max_bytes = max_bytes
        self.workers = default_workers() if workers is None else workers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._checkers: ProcessPoolExecutor | None = None
        self._seen_bytes = 0  # input so far, to decide when worker processes pay off

    # -- synchronous core ----------------------------------------------------------------

    def parse(self, data: bytes) -> Document:
        return parse_document(data, self.max_bytes)

    def capture_document(
        self,
        document: Document,
        behaviour: str = "rollback",
        checked: tuple[list[Problem], list[str]] | None = None,
    ) -> CaptureResult:
        """Capture a parsed document; ``checked`` = findings and hash IDs computed already."""
        if behaviour not in ERROR_BEHAVIOURS:
            raise validation(
                f"GS1-Capture-Error-Behaviour 应为 rollback 或 proceed，收到 {behaviour!r}"
            )
        result = CaptureResult(events=len(document.events))
        if not document.events:
            raise validation("EPCIS 文档不含任何事件 (eventList 为空)")
        problems, keys = checked if checked else (document_problems(document), [])
        bad_events = {_event_index(p.pointer) for p in problems}
        if problems and (behaviour == "rollback" or None in bad_events):
            raise validation(
                f"EPCIS 文档校验未通过，共 {len(problems)} 处问题，未写入任何事件", problems
            )
        master = master_data(document.vocabularies)
        record_time = now_ms()
        stored: list[Stored] = []
        batch = GraphBatch()
        for index, event in enumerate(document.events):
            if index in bad_events:
                continue
            record = prepare(event, record_time, keys[index] if keys else None)
            try:
                batch.extend(event_records(record.event.body, master, record.hash_id))
            except MappingError as exc:
                problem = Problem(f"/epcisBody/eventList/{index}", f"事件无法入图: {exc}")
                if behaviour == "rollback":
                    raise validation(
                        "EPCIS 文档中有事件无法入图，未写入任何事件", [problem]
                    ) from None
                problems.append(problem)
                continue
            stored.append(record)
        self._refuse_reused_ids(stored)
        self._write(stored, batch, result)
        result.rejected = problems
        return result

    def _refuse_reused_ids(self, stored: list[Stored]) -> None:
        """An ``eventID`` names one event: the same ID with different content is a conflict
        (409), never a second event that a lookup by ID would silently pick between."""
        claimed: dict[str, str] = {}
        for record in stored:
            event_id = record.event.body.get("eventID")
            if not isinstance(event_id, str) or event_id == record.hash_id:
                continue
            if claimed.setdefault(event_id, record.hash_id) != record.hash_id:
                raise exists(f"同一文档中 eventID {event_id} 对应不同内容的事件")
        if not claimed:
            return
        for event_id, key in claimed.items():
            rows = self.events.select(
                "SELECT hash_id FROM epcis_events WHERE event_id = ? AND hash_id != ? LIMIT 1",
                (event_id, key),
            )
            if rows:
                raise exists(
                    f"eventID {event_id} 已用于内容不同的事件 {rows[0][0]}；"
                    "更正请用 errorDeclaration，新事件请用新的 eventID"
                )

    def capture_bytes(self, data: bytes, behaviour: str = "rollback") -> CaptureResult:
        return next(self.capture_many([data], behaviour))

    def capture_many(
        self, documents: Iterable[bytes], behaviour: str = "rollback"
    ) -> Iterator[CaptureResult]:
        """Capture documents in order; large ones are checked by worker processes once
        the input so far reaches PARALLEL_MIN_TOTAL_BYTES (before, in this process).

        The next document is handed to the workers before the current one is written, so
        checking (schema, CBV, hash) overlaps with parsing, mapping and writing.  Each
        document is still captured on its own: rollback applies per document.
        """
        pending: tuple[bytes, list[Future[Any]]] | None = None
        for data in documents:
            self._seen_bytes += len(data)
            large = self._checkers is not None or self._seen_bytes >= PARALLEL_MIN_TOTAL_BYTES
            queued = (data, self._check_async(data) if large else [])
            if pending is not None:
                yield self._finish(*pending, behaviour)
            pending = queued
        if pending is not None:
            yield self._finish(*pending, behaviour)

    def _check_async(self, data: bytes) -> list[Future[Any]]:
        if self.workers < 1 or len(data) < PARALLEL_MIN_BYTES:
            return []
        if self._checkers is None:
            context = multiprocessing.get_context("spawn")
            self._checkers = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=die_with_parent
            )
        return [
            self._checkers.submit(check_share, data, self.max_bytes, part, self.workers)
            for part in range(self.workers)
        ]

    def _finish(self, data: bytes, futures: list[Future[Any]], behaviour: str) -> CaptureResult:
        try:
            document = self.parse(data)
        except EpcisError:
            for future in futures:
                future.cancel()
            raise
        if not futures:
            return self.capture_document(document, behaviour)
        problems: list[Problem] = []
        keys: list[str] = []
        for future in futures:
            found, hashes = future.result()
            problems.extend(Problem(pointer, message) for pointer, message in found)
            keys.extend(hashes)
        return self.capture_document(document, behaviour, (problems, keys))

    def close(self) -> None:
        self.wait()
        if self._checkers is not None:
            self._checkers.shutdown(wait=True, cancel_futures=True)
            self._checkers = None

    def capture_event(self, data: Any, namespaces: Mapping[str, str] | None = None) -> str:
        """One event (POST /events): 409 if its hash ID is already stored."""
        event = json_event(data, namespaces or {})
        check_event(event)
        record = prepare(event, now_ms())
        if self.events.contains(record.hash_id) and not record.event.body.get("errorDeclaration"):
            raise exists(f"事件已存在: {record.hash_id}")
        self._refuse_reused_ids([record])
        try:
            batch = event_records(record.event.body, {}, record.hash_id)
        except MappingError as exc:
            raise validation(f"事件无法入图: {exc}") from None
        self._write([record], batch, CaptureResult(events=1))
        return record.hash_id

    def _write(self, stored: list[Stored], batch: GraphBatch, result: CaptureResult) -> None:
        written = self.events.write(stored)
        batch.extend(retractions(stored, set(written.declared)))
        if batch.nodes or batch.edges:
            self.graph.upsert(batch.nodes, batch.edges)
        result.captured = written.new
        result.duplicates = written.duplicates
        result.declared = written.declared

    # -- capture jobs (the REST binding's asynchronous capture) -------------------------

    def submit(self, document: Document, behaviour: str = "rollback",
               on_done: Callable[[str], None] | None = None) -> str:  # fmt: skip
        """Start a capture job for a parsed document; returns its capture ID."""
        if behaviour not in ERROR_BEHAVIOURS:
            raise validation(
                f"GS1-Capture-Error-Behaviour 应为 rollback 或 proceed，收到 {behaviour!r}"
            )
        job_id = uuid.uuid4().hex
        self.events.create_job(job_id, behaviour)
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="epcis-capture")
            pool = self._pool
        pool.submit(self._run_job, job_id, document, behaviour, on_done)
        return job_id

    def _run_job(self, job_id: str, document: Document, behaviour: str,
                 on_done: Callable[[str], None] | None) -> None:  # fmt: skip
        try:
            result = self.capture_document(document, behaviour)
        except EpcisError as exc:
            self.events.finish_job(job_id, False, 0, 0, [_problem_json(exc)])
        except Exception as exc:  # pragma: no cover - reported in the job, not lost
            error = EpcisError(f"服务器内部错误: {exc}", "ImplementationException", 500)
            self.events.finish_job(job_id, False, 0, 0, [_problem_json(error)])
        else:
            errors = []
            if result.rejected:
                errors = [_problem_json(validation("部分事件未通过校验，已跳过", result.rejected))]
            self.events.finish_job(
                job_id, result.ok, len(result.captured) + len(result.declared),
                len(result.duplicates), errors,
            )  # fmt: skip
        if on_done:
            on_done(job_id)

    def wait(self) -> None:
        """Block until every submitted job has finished (tests, shutdown)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def retractions(stored: list[Stored], declared: set[str]) -> GraphBatch:
    """Mark the edges of events now declared in error, so that traces stop following them.

    The declaring event is the original plus ``errorDeclaration``: mapping it without that
    field gives back the edges the original asserted.  Nodes stay (a lot still exists).
    """
    batch = GraphBatch()
    for record in stored:
        if record.hash_id not in declared:
            continue
        original = {k: v for k, v in record.event.body.items() if k != "errorDeclaration"}
        for edge in event_records(original, {}, record.hash_id).edges:
            if edge.type in ("PRODUCED", "TRANSFORMED_INTO"):  # asserted by EPCIS alone
                batch.edge(edge.type, edge.src, edge.dst, **{RETRACTED: True})
    return batch


def _event_index(pointer: str) -> int | None:
    parts = pointer.split("/")
    for i, part in enumerate(parts[:-1]):
        if part == "eventList" and parts[i + 1].isdigit():
            return int(parts[i + 1])
    return None


def _problem_json(error: EpcisError) -> dict[str, Any]:
    return {
        "type": error.type_uri,
        "title": error.exception,
        "status": error.status,
        "detail": error.message,
        "errors": [{"pointer": p.pointer, "message": p.message} for p in error.problems],
    }
