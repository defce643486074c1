"""Benchmark: monthly statistics over a generated world (default 100k orders).

Loads a generated world straight into a fresh data directory (mapper + store + ledger, the
steps of ``qtrace ingest`` without the XML round trip), then times:

1. ``compute()`` from scratch, every month (the first run of ``qtrace stats compute``);
2. ``compute()`` again with nothing changed (the fingerprint scan alone);
3. one day of new inventories (the last day of the busiest month) and
   ``compute(month)`` — the incremental daily run (the day's inventories are added to the
   month's groups kept in memory by step 1);
4. ``compute(month)`` of the busiest month from scratch (its stats tables emptied);
5. ``publish`` of the busiest month (JSON, CSV, XLSX, HTML; no PDF).

Run: ``.venv/bin/python bench/bench_stats.py [--orders 100000] [--seed 11] [--one-month]``
(``--one-month`` folds every order into 2026-05: a 100k-inventory month).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config import load_settings
from traceability.demo.generator.world import iter_transactions, plan_world
from traceability.services import build_services

BATCH = 2000


def squeeze(transactions, month: str = "202605") -> None:
    """Move every transaction into one month (day of year mod 28), keeping clock times."""
    import datetime as dt

    def moved(value: str) -> str:
        day = dt.date(int(value[:4]), int(value[4:6]), int(value[6:8])).timetuple().tm_yday
        return f"{month}{day % 28 + 1:02d}{value[8:]}"

    for tx in transactions:
        for record, fields in (
            (tx.order, ("appTime",)),
            (tx.inventory, ("appTime", "declTime")),
            (tx.receipt, ("returnTime",)),
        ):
            for name in fields:
                if record.head.get(name):
                    record.head[name] = moved(record.head[name])


def load(services, transactions) -> None:
    mapper = services.ingestor().mapper
    compliance = services.compliance
    for start in range(0, len(transactions), BATCH):
        chunk = transactions[start : start + BATCH]
        for code, part in (("CEB311", "order"), ("CEB621", "inventory"), ("CEB622", "receipt")):
            records = [getattr(tx, part) for tx in chunk]
            nodes, edges = [], []
            for record in records:
                batch = mapper.map(code, record)
                nodes += batch.nodes
                edges += batch.edges
            services.store.upsert(nodes, edges)
            compliance.apply(compliance.prepare(code, records))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--one-month", action="store_true", help="every order in 2026-05")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            environ={"QTRACE_DATA_DIR": folder, "QTRACE_PRIVACY__HASH_KEY": "bench-key-0123456789"}
        )
        services = build_services(settings)
        stats = services.feature("statistics")
        transactions = list(iter_transactions(plan_world(args.orders, args.seed)))
        if args.one_month:
            squeeze(transactions)
        months = Counter(tx.inventory.head["declTime"][:6] for tx in transactions)
        busiest = max(months, key=lambda m: months[m])
        month = f"{busiest[:4]}-{busiest[4:6]}"
        last_day = max(
            tx.inventory.head["declTime"][:8]
            for tx in transactions
            if tx.inventory.head["declTime"][:6] == busiest
        )
        daily = [tx for tx in transactions if tx.inventory.head["declTime"][:8] == last_day]
        rest = [tx for tx in transactions if tx.inventory.head["declTime"][:8] != last_day]
        started = time.perf_counter()
        load(services, rest)
        loaded = time.perf_counter() - started
        results: dict[str, object] = {
            "orders": args.orders,
            "busiest_month": month,
            "inventories_in_busiest_month": months[busiest],
            "daily_inventories": len(daily),
            "load_seconds": round(loaded, 1),
        }
        first = stats.compute()
        results["full_compute_all_months"] = first.as_json() | {"months": len(first.months)}
        again = stats.compute()
        results["recompute_nothing_changed"] = again.as_json()
        load(services, daily)
        day = stats.compute(month)
        results["incremental_day"] = day.as_json()
        with stats._transaction() as tx:
            for table in ("stats_facts", "stats_monthly", "stats_months"):
                tx.execute(f"DELETE FROM {table} WHERE month = ?", (month,))
        scratch = stats.compute(month)
        results["full_month_from_scratch"] = scratch.as_json()
        started = time.perf_counter()
        record, _ = stats.publish(month, Path(folder) / "releases", pdf=False)
        results["publish_seconds"] = round(time.perf_counter() - started, 2)
        results["publish_bytes"] = {Path(f).name: Path(f).stat().st_size for f in record["files"]}
        services.close()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
