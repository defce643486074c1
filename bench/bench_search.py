"""Search store benchmark: the same corpus into the embedded store and into Elasticsearch.

Usage::

    bash scripts/services.sh start es && source ~/.cache/qtrace-services/run/env.sh
    .venv/bin/python bench/bench_search.py --docs 100000 [--es-url http://127.0.0.1:9200]

For each store it times, on one generated corpus of short Chinese posts (fixed seed):

* indexing rate (documents/s, batches of ``--batch`` through ``SearchStore.index``; the jieba
  cut is part of both);
* full-text search p50/p99 (one or two words, half of them with a filter, first page);
* trend aggregation p50/p99 (``histogram`` by day and by hour over the whole corpus, and
  for one entity).

Elasticsearch indices are created under a unique prefix and deleted at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentiment.search.elasticsearch import ElasticsearchSearchStore, client_from_settings
from sentiment.search.port import CST, Filters, Mention, OpinionDoc, SearchQuery
from sentiment.search.sqlite import SQLiteSearchStore

BRANDS = ["奇维牧场", "澳滋", "雪川", "森源", "海蓝", "金穗", "禾丰", "悦宝"]
PRODUCTS = ["奶粉", "吹风机", "面霜", "纸尿裤", "保健品", "口红", "洗发水", "咖啡机"]
PROBLEMS = ["结块", "冒烟", "过敏", "漏液", "变质", "异味", "破损", "假货", "发霉", "褪色"]
PRAISE = ["很好", "物流很快", "包装完好", "正品", "好用", "回购"]
FILLER = ["宝宝", "昨天", "打开", "发现", "客服", "退货", "质量", "价格", "朋友", "推荐", "海关"]
SOURCES = ["论坛", "RSS", "微博", "贴吧", "电商评论"]
CATEGORIES = ["food_safety", "safety_hazard", "counterfeit", "allergy", "logistics"]
T0 = dt.datetime(2026, 1, 1, tzinfo=CST)


def corpus(n: int, seed: int = 11) -> list[OpinionDoc]:
    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        brand, product = rnd.choice(BRANDS), rnd.choice(PRODUCTS)
        negative = rnd.random() < 0.4
        words = [brand, product, *rnd.sample(FILLER, 4)]
        words += rnd.sample(PROBLEMS, 2) if negative else rnd.sample(PRAISE, 2)
        rnd.shuffle(words)
        text = "，".join(words) + "。" + "".join(rnd.sample(FILLER, 3)) + "。"
        published = T0 + dt.timedelta(minutes=rnd.randrange(90 * 24 * 60))
        docs.append(
            OpinionDoc(
                doc_id=f"b{i}", url=f"http://bench.test/{i}", canonical_url=f"http://bench.test/{i}",
                source=rnd.choice(SOURCES), title=f"{brand}{product}", text=text,
                published=published, fetched=published + dt.timedelta(minutes=3),
                sentiment="negative" if negative else "positive",
                score=0.2 if negative else 0.8,
                categories=[rnd.choice(CATEGORIES)] if negative else [],
                mentions=[Mention("Brand", brand, brand, 0, len(brand), brand)],
                repost_of=f"b{i - 1}" if i and rnd.random() < 0.05 else None,
            )
        )  # fmt: skip
    return docs


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000


def timed(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return pct(samples, 50), pct(samples, 99)


def run(name: str, store: Any, docs: list[OpinionDoc], batch: int, queries: int) -> None:
    start = time.perf_counter()
    for i in range(0, len(docs), batch):
        store.index(docs[i : i + batch])
    if isinstance(store, ElasticsearchSearchStore):
        store.client.indices.refresh(index=store.alias)
    elapsed = time.perf_counter() - start
    assert store.count() == len(docs), (store.count(), len(docs))
    rnd = random.Random(5)
    search_queries = []
    for _ in range(queries):
        words = [rnd.choice(PRODUCTS + PROBLEMS + BRANDS)]
        if rnd.random() < 0.5:
            words.append(rnd.choice(PROBLEMS + FILLER))
        filters = Filters(source=rnd.choice(SOURCES)) if rnd.random() < 0.5 else Filters()
        search_queries.append(SearchQuery(" ".join(words), filters))
    it = iter(search_queries)
    s50, s99 = timed(lambda: store.search(next(it)), queries)
    d50, d99 = timed(lambda: store.histogram(Filters(), "day"), 20)
    h50, h99 = timed(lambda: store.histogram(Filters(entity=f"Brand:{BRANDS[0]}"), "hour"), 20)
    print(
        f"{name:14} index {len(docs) / elapsed:9.0f} docs/s | search p50 {s50:7.1f} ms"
        f" p99 {s99:7.1f} ms | trend/day p50 {d50:7.1f} p99 {d99:7.1f} ms"
        f" | entity trend/hour p50 {h50:7.1f} p99 {h99:7.1f} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--es-url", default=os.environ.get("QTRACE_TEST_ES_URL", ""))
    args = parser.parse_args()
    docs = corpus(args.docs)
    print(f"corpus: {len(docs)} documents", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        embedded = SQLiteSearchStore(Path(tmp) / "bench.db")
        embedded.ensure_schema()
        try:
            run("sqlite-fts5", embedded, docs, args.batch, args.queries)
        finally:
            embedded.close()
    if not args.es_url:
        print("elasticsearch: skipped (no --es-url / QTRACE_TEST_ES_URL)")
        return
    store = ElasticsearchSearchStore(
        client_from_settings(args.es_url, timeout=120),
        prefix=f"qtrace-bench-{uuid.uuid4().hex[:8]}-",
        refresh=False,
        batch_size=args.batch,
    )
    store.ensure_schema()
    try:
        run("elasticsearch", store, docs, args.batch, args.queries)
    finally:
        store.drop()
        store.close()


if __name__ == "__main__":
    main()
