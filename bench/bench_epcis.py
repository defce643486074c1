"""EPCIS capture throughput on the embedded store, in events/s.

Usage::

    .venv/bin/python bench/bench_epcis.py --events 20000 --per-document 500

It builds JSON-LD EPCIS documents in memory (untimed): commissioning ObjectEvents of new
lots, each later lot a TransformationEvent from two earlier ones, each with an owning
party, readPoint, bizLocation, ilmd, a business transaction, and master data in the
header, like the generator's production files.  Then it times, in the same run:

* **capture**: ``Capture.capture_bytes`` per document into a fresh SQLite file (event
  store + graph in one file): parse, official-schema + CBV validation, hash IDs, event
  store write, graph upsert; rollback semantics, as the REST capture job runs it;
* **recapture**: the same documents again (every event a duplicate, graph MERGE no-op);
* the stages separately on one pass (parse, validate, hash, graph mapping), to show where
  the time goes;
* **baseline**: ``json.loads`` of the same bytes plus plain ``executemany`` of one row per
  event into a bare indexed table, the floor any store must pay.

Results are printed as Markdown and saved as JSON under bench/out/.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from traceability import epcis  # noqa: E402
from traceability.epcis import digital_link, hashing  # noqa: E402
from traceability.epcis.capture import Capture, default_workers, prepare  # noqa: E402
from traceability.epcis.graph import event_records  # noqa: E402
from traceability.epcis.hashing import hash_id  # noqa: E402
from traceability.epcis.parse import parse_document  # noqa: E402
from traceability.epcis.store import EventStore  # noqa: E402
from traceability.epcis.validate import document_problems  # noqa: E402
from traceability.formats.identifiers import gtin_check_digit  # noqa: E402
from traceability.store.sqlite import SQLiteGraphStore  # noqa: E402

MAKERS = 20
PRODUCTS = 200


def _pgln(i: int) -> str:
    return f"urn:epc:id:pgln:69{i:05d}.00000"


def _lgtin(product: int, lot: str) -> str:
    return f"urn:epc:class:lgtin:69{product % MAKERS:05d}.0{product:05d}.{lot}"


def build(events: int, per_document: int, start: int = 0) -> list[bytes]:
    mda = epcis.MDA
    parties = {_pgln(m): {mda + "name": f"Maker {m}", mda + "countryCode": "156"}
               for m in range(MAKERS)}  # fmt: skip
    classes = {}
    for p in range(PRODUCTS):
        body = f"069{p % MAKERS:05d}{p:05d}"[:13]
        classes[f"urn:epc:idpat:sgtin:69{p % MAKERS:05d}.0{p:05d}.*"] = {
            mda + "descriptionShort": f"Product {p} {gtin_check_digit(body)}"
        }
    vocabularies = [epcis.vocabulary(epcis.VTYPE_PARTY, parties),
                    epcis.vocabulary(epcis.VTYPE_CLASS, classes)]  # fmt: skip
    out, batch = [], []
    for n in range(start, start + events):
        product, maker = n % PRODUCTS, n % MAKERS
        lot = f"B{n:08d}"
        common: dict[str, Any] = {
            "eventTime": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T08:{n % 60:02d}:00.000+08:00",
            "eventTimeZoneOffset": "+08:00",
            "eventID": f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
            "bizStep": "commissioning",
            "disposition": "active",
            "readPoint": {"id": f"urn:epc:id:sgln:69{maker:05d}.00001.0"},
            "bizLocation": {"id": f"urn:epc:id:sgln:69{maker:05d}.00001.0"},
            "sourceList": [{"type": "owning_party", "source": _pgln(maker)}],
            "bizTransactionList": [{"type": "prodorder",
                                    "bizTransaction": f"urn:epcglobal:cbv:bt:6900000000000:PO{n}"}],
            "ilmd": {"cbvmda:lotNumber": lot, "cbvmda:itemExpirationDate": "2028-01-01"},
        }  # fmt: skip
        output = {"epcClass": _lgtin(product, lot), "quantity": 2000}
        if n >= 2 and n % 4 == 3:
            inputs = [
                {"epcClass": _lgtin((n - k) % PRODUCTS, f"B{n - k:08d}"), "quantity": 250,
                 "uom": "KGM"}
                for k in (1, 2)
            ]  # fmt: skip
            event = {"type": "TransformationEvent", **common,
                     "inputQuantityList": inputs, "outputQuantityList": [output]}  # fmt: skip
        else:
            event = {"type": "ObjectEvent", "action": "ADD", **common,
                     "quantityList": [{**output, "quantity": 5000, "uom": "KGM"}]}  # fmt: skip
        batch.append(event)
        if len(batch) == per_document:
            out.append(orjson.dumps(epcis.document(batch, vocabularies, "2026-12-31T00:00:00Z")))
            batch = []
    if batch:
        out.append(orjson.dumps(epcis.document(batch, vocabularies, "2026-12-31T00:00:00Z")))
    return out


def timed(label: str, fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _cold() -> None:
    """Forget the value caches, so each stage pays what a capture of new data pays."""
    for cached in (hashing._canonical_text, hashing._canonical_moment, digital_link.canonical):
        cached.cache_clear()


def stage_times(documents: list[bytes]) -> dict[str, float]:
    parsed: list[Any] = []
    events = [e for d in documents for e in parse_document(d).events]
    _cold()
    times = {
        "parse": timed("parse", lambda: parsed.extend(parse_document(d) for d in documents))[0]
    }
    _cold()
    times["validate"] = timed("validate", lambda: [document_problems(p) for p in parsed])[0]
    _cold()
    times["hash"] = timed("hash", lambda: [hash_id(e.body, e.namespaces) for e in events])[0]
    _cold()
    prepared = [prepare(e, 0) for e in events]
    _cold()
    times["graph mapping"] = timed(
        "map", lambda: [event_records(r.event.body, {}, r.hash_id) for r in prepared]
    )[0]
    return times


def run(events: int, per_document: int, out_dir: Path, workers: int) -> dict[str, Any]:
    documents = build(events, per_document)
    size = sum(len(d) for d in documents)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        path = Path(tmp) / "qtrace.db"
        graph = SQLiteGraphStore(path)
        graph.ensure_schema()
        store = EventStore(path)
        # Cold: a fresh Capture given a small input (two documents), as one
        # `qtrace epcis capture` of a file is; checking processes, if it starts them, count.
        cold_docs = build(2 * per_document, per_document, start=8_000_000)
        cold = Capture(store, graph, workers=workers)
        cold_seconds, _ = timed(
            "cold small input", lambda: (list(cold.capture_many(cold_docs)), cold.close())
        )
        capture = Capture(store, graph, workers=workers)
        # Compile validators and start the checking processes (untimed): 12 documents, past
        # the input size after which a Capture starts its workers (PARALLEL_MIN_TOTAL_BYTES).
        list(capture.capture_many(build(12 * per_document, per_document, start=9_000_000)))
        seconds, _ = timed("capture", lambda: list(capture.capture_many(documents)))
        again, _ = timed("recapture", lambda: list(capture.capture_many(documents)))
        capture.close()
        stored = store.count()
        store.close()
        graph.close()
    stages = stage_times(documents)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        bare = sqlite3.connect(Path(tmp) / "bare.db", isolation_level=None)
        bare.execute("PRAGMA journal_mode=WAL")
        bare.execute("CREATE TABLE e (id INTEGER PRIMARY KEY, k TEXT UNIQUE, t TEXT, body TEXT)")
        bare.execute("CREATE INDEX e_t ON e (t)")

        def baseline() -> None:
            n = 0
            for data in documents:
                doc = json.loads(data)
                rows = []
                for ev in doc["epcisBody"]["eventList"]:
                    n += 1
                    rows.append((n, ev["eventID"], ev["eventTime"], json.dumps(ev)))
                bare.execute("BEGIN")
                bare.executemany("INSERT INTO e VALUES (?,?,?,?)", rows)
                bare.execute("COMMIT")

        base_seconds, _ = timed("baseline", baseline)
        bare.close()
    result = {
        "events": events,
        "per_document": per_document,
        "workers": workers,
        "documents": len(documents),
        "megabytes": round(size / 1e6, 1),
        "stored": stored,
        "cold_small_events": 2 * per_document,
        "cold_small_events_per_s": round(2 * per_document / cold_seconds),
        "capture_events_per_s": round(events / seconds),
        "recapture_events_per_s": round(events / again),
        "baseline_events_per_s": round(events / base_seconds),
        "stage_us_per_event": {k: round(v / events * 1e6, 1) for k, v in stages.items()},
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[20000])
    parser.add_argument("--per-document", type=int, default=500)
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="checking processes (0: check in the capturing process)",
    )
    args = parser.parse_args()
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for events in args.events:
        result = run(events, args.per_document, out_dir, args.workers)
        (out_dir / f"epcis-{events}.json").write_text(json.dumps(result, indent=2))
        rows.append(result)
    print("| events | workers | documents | MB | cold small input ev/s | capture ev/s "
          "| recapture ev/s | baseline ev/s | parse | validate | hash | graph map |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        t = r["stage_us_per_event"]
        cells = [f"{r['events']:,}", str(r["workers"]), str(r["documents"]), str(r["megabytes"]),
                 f"{r['cold_small_events_per_s']:,}",
                 f"{r['capture_events_per_s']:,}", f"{r['recapture_events_per_s']:,}",
                 f"{r['baseline_events_per_s']:,}", *(f"{t[k]} µs" for k in t)]  # fmt: skip
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
