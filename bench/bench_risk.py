"""Benchmark the risk mechanisms over a generated world (default 100k orders).

Loads a generated world straight into a fresh data directory (mapper + store + ledger, the
steps of ``qtrace ingest`` without the XML round trip, as ``bench/bench_stats.py`` does),
holding back the last day's orders, then times: a full collect, a full assess, a repeated
assess with nothing new, and the last day loaded + collect + assess (the incremental run:
its ``incremental_rules`` count the rules evaluated on the touched keys only).

Run: ``.venv/bin/python bench/bench_risk.py [--orders 100000] [--seed 11]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config import load_settings
from traceability.demo.generator.world import iter_transactions, plan_world
from traceability.services import Services, build_services

BATCH = 2000
PARTS = (
    ("CEB311", "order"), ("CEB411", "payment"), ("CEB511", "waybill"),
    ("CEB621", "inventory"), ("CEB622", "receipt"),
)  # fmt: skip


def load(services: Services, transactions: list[Any]) -> None:
    mapper = services.ingestor().mapper
    compliance = services.compliance
    for start in range(0, len(transactions), BATCH):
        chunk = transactions[start : start + BATCH]
        for code, part in PARTS:
            records = [r for tx in chunk if (r := getattr(tx, part)) is not None]
            nodes, edges = [], []
            for record in records:
                batch = mapper.map(code, record)
                nodes += batch.nodes
                edges += batch.edges
            services.store.upsert(nodes, edges)
            compliance.apply(compliance.prepare(code, records))


def _timed(label: str, results: dict[str, Any], call: Any) -> Any:
    started = time.perf_counter()
    value = call()
    results[label] = round(time.perf_counter() - started, 2)
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    results: dict[str, Any] = {"orders": args.orders}
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            environ={"QTRACE_DATA_DIR": folder, "QTRACE_PRIVACY__HASH_KEY": "bench-key-0123456789"}
        )
        services = build_services(settings)
        risk = services.feature("risk")
        transactions = list(iter_transactions(plan_world(args.orders, args.seed)))
        last_day = max(tx.order.head["appTime"][:8] for tx in transactions if tx.order)
        daily = [tx for tx in transactions if tx.order.head["appTime"][:8] == last_day]
        rest = [tx for tx in transactions if tx.order.head["appTime"][:8] != last_day]
        results["daily_orders"] = len(daily)
        _timed("load_seconds", results, lambda: load(services, rest))
        as_of = dt.datetime.strptime(last_day, "%Y%m%d").replace(tzinfo=dt.UTC)
        as_of += dt.timedelta(days=2)
        for label, mechanism in (("collect_full", "collect"), ("assess_full", "assess"),
                                 ("assess_again", "assess")):  # fmt: skip
            (run,) = _timed(label, results, lambda m=mechanism: risk.run(m, as_of=as_of))
            results[f"{label}_counts"] = {
                k: v for k, v in run["counts"].items() if not isinstance(v, dict)
            }
        _timed("load_daily_seconds", results, lambda: load(services, daily))
        _timed("collect_incremental", results, lambda: risk.run("collect", as_of=as_of))
        (run,) = _timed("assess_incremental", results, lambda: risk.run("assess", as_of=as_of))
        results["assess_incremental_counts"] = {
            k: v for k, v in run["counts"].items() if not isinstance(v, dict)
        }
        _timed("warn_first", results, lambda: risk.run("warn"))
        results["open_risks"] = len(risk.risks(limit=1_000_000))
        services.close()
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
