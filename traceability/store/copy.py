"""Copy a whole graph from one store to another (embedded -> Neo4j and back), resumably.

The copy streams every label, then every relationship type, page by page, and writes each
page as one upsert batch.  After each page a small JSON checkpoint records how far the copy
got: the labels/types already finished, and for the one in progress the number of records
copied and the last key.  A re-run with the same source and target continues from there.
Redoing a page is harmless, because every write is a MERGE.

A source whose iterators take ``after=`` (the Neo4j adapter) resumes by key; any other
source re-reads the item in progress and skips the records already copied (both adapters
iterate in a stable order), so resuming never depends on the page size.

At the end the per-label and per-type counts of source and target are compared; a copy
into a target that already held other data reports the difference instead of hiding it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.settings import parse_store_url
from graph_schema import SCHEMA
from traceability.store.port import Edge, GraphStore, Node

CHECKPOINT_VERSION = 1


@dataclass
class Checkpoint:
    """How far a copy from ``source`` to ``target`` got."""

    source: str
    target: str
    finished: list[str] = field(default_factory=list)
    current: str | None = None
    copied: int = 0  # records of ``current`` already written
    last: list[str] | None = None  # key (or source key, target key) of the last one

    @classmethod
    def load(cls, path: Path, source: str, target: str) -> Checkpoint:
        if not path.exists():
            return cls(source, target)
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CHECKPOINT_VERSION or (data["source"], data["target"]) != (
            source,
            target,
        ):
            return cls(source, target)
        return cls(
            data["source"],
            data["target"],
            list(data["finished"]),
            data["current"],
            int(data["copied"]),
            data["last"],
        )

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename): an interruption never leaves half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        data = {"version": CHECKPOINT_VERSION, **self.__dict__}
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class Mismatch:
    name: str
    source: int
    target: int


@dataclass
class CopyReport:
    resumed_from: str | None
    copied: dict[str, int]
    source_counts: dict[str, int]
    target_counts: dict[str, int]

    @property
    def mismatches(self) -> list[Mismatch]:
        return [
            Mismatch(name, self.source_counts[name], self.target_counts.get(name, 0))
            for name in items()
            if self.source_counts[name] != self.target_counts.get(name, 0)
        ]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def items() -> list[str]:
    """Every label, then every relationship type: nodes first, so edges find their ends."""
    return list(SCHEMA.labels) + list(SCHEMA.relationships)


def checkpoint_path(source_url: str, target_url: str, data_dir: Path) -> Path:
    """Next to an embedded target file; in ``data_dir`` for a server target."""
    digest = hashlib.sha256(f"{source_url}\n{target_url}".encode()).hexdigest()[:12]
    target = parse_store_url(target_url).path
    if target is not None:
        return target.with_name(f"{target.name}.copy-{digest}.json")
    return data_dir / "copy-checkpoints" / f"copy-{digest}.json"


def _supports_after(method: Callable[..., Any]) -> bool:
    try:
        return "after" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def _pages(
    source: GraphStore, name: str, batch_size: int, copied: int, last: list[str] | None
) -> Iterator[list[Any]]:
    """Pages of ``name`` past the first ``copied`` records (or past key ``last``)."""
    is_label = name in SCHEMA.labels
    method = source.iter_nodes if is_label else source.iter_edges
    if copied and last is not None and _supports_after(method):
        after: Any = last[0] if is_label else (last[0], last[1])
        yield from method(name, batch_size, after=after)  # type: ignore[call-arg]  # probed above
        return
    skip = copied
    for page in method(name, batch_size):
        if skip >= len(page):
            skip -= len(page)
            continue
        yield page[skip:]
        skip = 0


def _last_key(record: Node | Edge) -> list[str]:
    if isinstance(record, Node):
        return [record.key]
    return [record.src.key, record.dst.key]


def copy_store(
    source: GraphStore,
    target: GraphStore,
    *,
    source_url: str,
    target_url: str,
    checkpoint: Path,
    batch_size: int = 5000,
    on_start: Callable[[dict[str, int], int], None] | None = None,
    on_page: Callable[[str, int], None] | None = None,
) -> CopyReport:
    """Copy everything from ``source`` to ``target``, resuming from ``checkpoint``.

    ``on_start(source_counts, already_copied)`` is called once before copying;
    ``on_page(name, records)`` after each page is committed and checkpointed.  The
    checkpoint is removed when the copy finishes (whatever the verification says).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    state = Checkpoint.load(checkpoint, source_url, target_url)
    resumed_from = None
    if state.finished or state.current:
        resumed_from = state.current or (state.finished[-1] if state.finished else None)
    source_counts = source.counts()
    already = sum(source_counts.get(n, 0) for n in state.finished) + state.copied
    if on_start:
        on_start(source_counts, already)
    copied: dict[str, int] = {}
    for name in items():
        if name in state.finished:
            continue
        if state.current != name:
            state.current, state.copied, state.last = name, 0, None
        done = 0
        for page in _pages(source, name, batch_size, state.copied, state.last):
            if name in SCHEMA.labels:
                target.upsert(page, [])
            else:
                target.upsert([], page)
            state.copied += len(page)
            state.last = _last_key(page[-1])
            state.save(checkpoint)
            done += len(page)
            if on_page:
                on_page(name, len(page))
        copied[name] = done
        state.finished.append(name)
        state.current, state.copied, state.last = None, 0, None
        state.save(checkpoint)
    report = CopyReport(resumed_from, copied, source.counts(), target.counts())
    checkpoint.unlink(missing_ok=True)
    return report
