"""CEB ingest throughput against lxml's raw parse of the same files, in the same run.

Usage::

    .venv/bin/python bench/bench_ingest.py --orders 20000

Generates a world to files, then times (best of ``--repeat``):

* baseline: ``lxml.etree.fromstring`` over every CEB XML file (bytes already in memory);
* ingest: parse, validate, map, compliance checks and write to a fresh embedded store
  (``Ingestor.ingest_bytes`` for every CEB file, bytes already in memory).

Target: ingest at ≥ 25% of raw-parse speed (at most 4× lxml's time).
"""

from __future__ import annotations

import argparse
import json
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
from traceability.ingest.ingestor import IngestReport  # noqa: E402
from traceability.services import build_services  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qtrace-bench-ingest-"))
    try:
        write_world(args.orders, 1, work / "world")
        files = sorted((work / "world" / "ceb").rglob("*.xml"))
        blobs = [path.read_bytes() for path in files]
        megabytes = sum(len(b) for b in blobs) / 2**20
        parse_s = ingest_s = float("inf")
        for attempt in range(args.repeat):
            start = time.perf_counter()
            for blob in blobs:
                etree.fromstring(blob)
            parse_s = min(parse_s, time.perf_counter() - start)
            data_dir = work / f"var{attempt}"
            services = build_services(load_settings(environ={"QTRACE_DATA_DIR": str(data_dir)}))
            ingestor = services.ingestor()
            ingestor.archive = None  # measure ingest, not the archive copy
            report = IngestReport()
            start = time.perf_counter()
            for blob in blobs:
                ingestor.ingest_bytes(blob, "bench", report)
            ingest_s = min(ingest_s, time.perf_counter() - start)
            assert report.ok, report.rejections[:3]
            services.close()
        result = {
            "orders": args.orders,
            "messages": len(blobs),
            "megabytes": round(megabytes, 1),
            "lxml_parse_mb_per_s": round(megabytes / parse_s, 1),
            "ingest_mb_per_s": round(megabytes / ingest_s, 2),
            "ingest_messages_per_s": round(len(blobs) / ingest_s, 1),
            "ingest_orders_per_s": round(args.orders / ingest_s),
            "ingest_share_of_raw_parse": round(parse_s / ingest_s, 3),
        }
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
