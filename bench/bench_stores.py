"""Neo4j vs embedded store: the core workload against both graph stores in one run.

Usage (a running Neo4j, e.g. ``bash scripts/services.sh start neo4j`` and its env.sh)::

    .venv/bin/python bench/bench_stores.py --orders 100000

The workload is bench_core's: the synthetic world mapped to graph records (untimed), loaded
in chunks of ``bench_core.CHUNK`` orders (one ``upsert`` = one transaction each), then
order traces in both directions through TraceService (p50/p99 over 1,000 sampled orders)
and the recall scope of the batch whose downstream order count is nearest 2,000 (p50/p99
over 50 runs).  Each store gets the same records, the same sampled orders and the same
batch; latency samples alternate between the stores, so both see the same machine load.
The Neo4j database named by --neo4j-url is WIPED first.

Results are printed as Markdown and saved as JSON under bench/out/.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_core import (  # noqa: E402
    CHUNK,
    COMMIT_ROWS,
    percentile,
    recall_batch,
    timed,
    world_chunks,
)

from traceability.analysis.trace import TraceService  # noqa: E402
from traceability.store.neo4j import Neo4jGraphStore  # noqa: E402
from traceability.store.port import Direction, GraphStore, NodeRef  # noqa: E402
from traceability.store.sqlite import SQLiteGraphStore  # noqa: E402

TRACE_RUNS = 1000
RECALL_RUNS = 200  # a p99 over n samples is the (n/100)-th largest: 50 gave the maximum


def load(store: GraphStore, orders: int, seed: int) -> tuple[float, list[str]]:
    """Load the world; returns (seconds spent in upsert, sampled order keys)."""
    rng = random.Random(seed)
    keys: list[str] = []
    spent = 0.0
    # The store's bulk-load mode where it has one (the embedded store's, as bench_core).
    bulk = getattr(store, "bulk_load", None)
    session = bulk(commit_rows=COMMIT_ROWS) if bulk is not None else contextlib.nullcontext()
    start = time.perf_counter()
    session.__enter__()
    spent += time.perf_counter() - start
    for batch, chunk_keys in world_chunks(orders, seed):
        keys.extend(k for k in chunk_keys if rng.random() < 2000 / orders)
        start = time.perf_counter()
        store.upsert(batch.nodes, batch.edges)
        spent += time.perf_counter() - start
    start = time.perf_counter()
    session.__exit__(None, None, None)
    spent += time.perf_counter() - start
    gc.collect()
    return spent, keys


def measure(stores: dict[str, GraphStore], keys: list[str], batch_key: str) -> dict[str, Any]:
    """Time both stores on the same requests, interleaved: each sample runs on the embedded
    store and then on Neo4j, so both see the same machine (other load, caches, GC)."""
    services = {name: TraceService(store) for name, store in stores.items()}
    for service in services.values():
        for key in keys[:50]:  # warm caches and query plans, as a server would be
            service.trace("order", key, "both")
        service.recall([batch_key])
    shuffled = list(keys)
    random.Random(7).shuffle(shuffled)
    samples = (shuffled * (TRACE_RUNS // max(1, len(shuffled)) + 1))[:TRACE_RUNS]
    trace: dict[str, list[float]] = {name: [] for name in services}
    recall: dict[str, list[float]] = {name: [] for name in services}
    for key in samples:
        for name, service in services.items():
            trace[name] += timed(lambda s=service, k=key: s.trace("order", k, "both"), 1)
    for _ in range(RECALL_RUNS):
        for name, service in services.items():
            recall[name] += timed(lambda s=service: s.recall([batch_key]), 1)
    # Store level: the two walks of a "both" trace, without TraceService's own work.  Neo4j
    # answers both in one round trip when asked for both (Neo4jGraphStore.subgraphs).
    pair = (Direction.BACKWARD, Direction.FORWARD)
    walks: dict[str, list[float]] = {name: [] for name in stores}
    for key in samples:
        ref = NodeRef("Order", key)
        for name, store in stores.items():
            if isinstance(store, Neo4jGraphStore):
                walks[name] += timed(lambda s=store, r=ref: s.subgraphs(r, pair, 12, 5000), 1)
            else:
                walks[name] += timed(
                    lambda s=store, r=ref: [s.subgraph(r, d, 12, 5000) for d in pair], 1
                )
    return {
        name: {
            "trace_p50_ms": percentile(trace[name], 0.5),
            "trace_p99_ms": percentile(trace[name], 0.99),
            "walks_p50_ms": percentile(walks[name], 0.5),
            "walks_p99_ms": percentile(walks[name], 0.99),
            "recall_p50_ms": percentile(recall[name], 0.5),
            "recall_p99_ms": percentile(recall[name], 0.99),
        }
        for name in services
    }


def wipe(store: Neo4jGraphStore) -> None:
    with store.driver.session(database=store.database) as session:
        session.run(
            "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 20000 ROWS"
        ).consume()


def run(orders: int, seed: int, workdir: Path, neo4j: dict[str, str]) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("*.db*"):
        old.unlink()
    embedded = SQLiteGraphStore(workdir / "qtrace.db")
    embedded.ensure_schema()
    embedded_s, keys = load(embedded, orders, seed)
    batch_key, recall_orders = recall_batch(embedded)

    graph = Neo4jGraphStore(neo4j["url"], neo4j["user"], neo4j["password"], neo4j["database"])
    wipe(graph)
    graph.ensure_schema()
    neo_s, neo_keys = load(graph, orders, seed)
    assert neo_keys == keys
    assert graph.counts() == embedded.counts()

    timings = measure({"embedded": embedded, "neo4j": graph}, keys, batch_key)
    result: dict[str, Any] = {
        "orders": orders,
        "chunk_orders": CHUNK,
        "recall_batch": batch_key,
        "recall_orders": recall_orders,
        "neo4j_server": graph.driver.get_server_info().agent,
        "embedded": {"load_orders_per_s": orders / embedded_s} | timings["embedded"],
        "neo4j": {"load_orders_per_s": orders / neo_s} | timings["neo4j"],
    }
    graph.close()
    embedded.close()
    e, n = result["embedded"], result["neo4j"]
    result["ratios"] = {
        "load": n["load_orders_per_s"] / e["load_orders_per_s"],
        "trace_p50": n["trace_p50_ms"] / e["trace_p50_ms"],
        "trace_p99": n["trace_p99_ms"] / e["trace_p99_ms"],
        "walks_p50": n["walks_p50_ms"] / e["walks_p50_ms"],
        "walks_p99": n["walks_p99_ms"] / e["walks_p99_ms"],
        "recall_p50": n["recall_p50_ms"] / e["recall_p50_ms"],
        "recall_p99": n["recall_p99_ms"] / e["recall_p99_ms"],
    }
    return result


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| orders | store | load orders/s | order trace p50 / p99 ms | "
        "both walks (store only) p50 / p99 ms | recall p50 / p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        for name in ("embedded", "neo4j"):
            s = r[name]
            lines.append(
                f"| {r['orders']:,} | {name} | {s['load_orders_per_s']:,.0f} | "
                f"{s['trace_p50_ms']:.2f} / {s['trace_p99_ms']:.2f} | "
                f"{s['walks_p50_ms']:.2f} / {s['walks_p99_ms']:.2f} | "
                f"{s['recall_p50_ms']:.1f} / {s['recall_p99_ms']:.1f} |"
            )
        q = r["ratios"]
        lines.append(
            f"| {r['orders']:,} | **Neo4j ÷ embedded** | ×{q['load']:.2f} | "
            f"×{q['trace_p50']:.2f} / ×{q['trace_p99']:.2f} | "
            f"×{q['walks_p50']:.2f} / ×{q['walks_p99']:.2f} | "
            f"×{q['recall_p50']:.2f} / ×{q['recall_p99']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--neo4j-url", default=os.environ.get("QTRACE_TEST_NEO4J_URL"))
    parser.add_argument("--neo4j-user", default=os.environ.get("QTRACE_TEST_NEO4J_USER", "neo4j"))
    parser.add_argument("--neo4j-password", default=os.environ.get("QTRACE_TEST_NEO4J_PASSWORD"))
    parser.add_argument("--neo4j-database", default="neo4j")
    args = parser.parse_args()
    if not args.neo4j_url or not args.neo4j_password:
        parser.error("需要 --neo4j-url/--neo4j-password 或 QTRACE_TEST_NEO4J_* 环境变量")
    neo4j = {
        "url": args.neo4j_url,
        "user": args.neo4j_user,
        "password": args.neo4j_password,
        "database": args.neo4j_database,
    }
    results = []
    for orders in args.orders:
        result = run(orders, args.seed, args.workdir / f"stores-{orders}", neo4j)
        results.append(result)
        (args.workdir / f"stores-{orders}.json").write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2), flush=True)
    print(markdown(results))


if __name__ == "__main__":
    main()
