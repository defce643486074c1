"""Micro-benchmark: read_message (+ validate_record) against lxml's raw parse speed.

Ingest as a whole must reach a quarter of lxml's raw parse speed, and mapping and writing
come after reading, so the reader has to stay well above that.  Run the numbers with
``.venv/bin/python bench/bench_ceb_reader.py`` (ratios, not absolute speeds, so a loaded
machine slows both sides alike).  Performance lives in benchmarks, not in timed tests.
"""

from __future__ import annotations

import itertools
import sys
import timeit
from functools import cache
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from traceability.demo.generator.world import iter_transactions, plan_world
from traceability.formats.ceb.spec import MESSAGES
from traceability.formats.ceb.validate import validate_record
from traceability.formats.ceb.xml import read_message, write_message


@cache
def sample_message(code: str, records: int = 100, seed: int = 7) -> bytes:
    """A generated ``records``-record message (CEB311 orders or CEB621 inventories)."""
    part = {"CEB311": "order", "CEB621": "inventory"}[code]
    plan = plan_world(records + 20, seed)
    chosen = itertools.islice(iter_transactions(plan), records)
    base = {"copCode": "4101960001", "copName": "", "dxpMode": "DXP", "dxpId": "DXPENT01"}
    return write_message(code, [getattr(tx, part) for tx in chosen], base)


def measure(code: str = "CEB311", number: int = 10, repeat: int = 15) -> dict[str, float]:
    """MB/s of raw ``lxml.etree.fromstring``, ``read_message`` and read+validate.

    The three are timed in turn within each round and the best round of each is kept, so
    load from other processes skews them alike.
    """
    data = sample_message(code)
    spec = MESSAGES[code]

    def read_and_validate() -> None:
        for record in read_message(data).records:
            validate_record(spec, record)

    timers = {
        "raw": timeit.Timer(lambda: etree.fromstring(data)),
        "read": timeit.Timer(lambda: read_message(data)),
        "both": timeit.Timer(read_and_validate),
    }
    best = dict.fromkeys(timers, float("inf"))
    for _ in range(repeat):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(number) / number)
    megabytes = len(data) / 1e6
    raw, read, both = best["raw"], best["read"], best["both"]
    return {
        "bytes": len(data),
        "raw_mb_s": megabytes / raw,
        "read_mb_s": megabytes / read,
        "read_validate_mb_s": megabytes / both,
        "ratio": raw / both,
    }


if __name__ == "__main__":
    for code in ("CEB311", "CEB621"):
        n = measure(code)
        print(
            f"{code} {n['bytes'] / 1024:.0f} KiB: lxml.fromstring {n['raw_mb_s']:.1f} MB/s, "
            f"read_message {n['read_mb_s']:.1f} MB/s, read+validate "
            f"{n['read_validate_mb_s']:.1f} MB/s ({n['ratio']:.0%} of raw)"
        )
