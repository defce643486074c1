"""`qtrace ingest` of a whole folder against lxml's raw parse of the same files, same run.

Usage::

    .venv/bin/python bench/bench_ingest_folder.py --orders 10000 --repeat 2

Generates a world to files (untimed), then times, alternating, best of ``--repeat``:

* baseline: ``lxml.etree.fromstring`` over every CEB XML file (bytes already in memory);
* ingest: ``Ingestor.ingest_paths`` over the folder's CEB files into a fresh data
  directory, the path ``qtrace ingest FOLDER`` takes: read, parse, validate, map,
  compliance checks, graph and ledger writes, the final sweep, and, where the store has a
  bulk-load mode, building its secondary indexes at the end (the archive copy is off, as
  in bench_ingest.py).

The same file run from a copy of the tree as it was before issue #15 gives the "before"
figures (that code has no bulk-load mode: ``ingest_paths`` writes message by message).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import load_settings  # noqa: E402
from traceability.demo.generator.files import write_world  # noqa: E402
from traceability.services import build_services  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qtrace-bench-folder-"))
    try:
        write_world(args.orders, 1, work / "world")
        files = sorted((work / "world" / "ceb").rglob("*.xml"))
        megabytes = sum(p.stat().st_size for p in files) / 2**20
        parse_s = ingest_s = float("inf")
        load_avg = [os.getloadavg()[0]]
        for attempt in range(args.repeat):
            blobs = [path.read_bytes() for path in files]
            start = time.perf_counter()
            for blob in blobs:
                etree.fromstring(blob)
            parse_s = min(parse_s, time.perf_counter() - start)
            del blobs
            data_dir = work / f"var{attempt}"
            services = build_services(load_settings(environ={"QTRACE_DATA_DIR": str(data_dir)}))
            ingestor = services.ingestor()
            ingestor.archive = None
            start = time.perf_counter()
            report = ingestor.ingest_paths(files)
            ingest_s = min(ingest_s, time.perf_counter() - start)
            assert report.ok, report.rejections[:3]
            services.close()
            load_avg.append(os.getloadavg()[0])
        result = {
            "orders": args.orders,
            "messages": len(files),
            "megabytes": round(megabytes, 1),
            "lxml_parse_mb_per_s": round(megabytes / parse_s, 1),
            "ingest_mb_per_s": round(megabytes / ingest_s, 2),
            "ingest_orders_per_s": round(args.orders / ingest_s),
            "ingest_share_of_raw_parse": round(parse_s / ingest_s, 3),
            "load_average_1min": load_avg,
        }
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
