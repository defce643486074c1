"""Benchmark alert emails: 10,000 alerts in one burst, grouped, sent to a real SMTP sink.

Builds the alerts directly (risk rows → ``warn`` routes them; no demo generator), starts an
aiosmtpd sink on loopback, then times: routing (warn), grouping into the outbox (notify)
and draining the outbox over SMTP (send).  Reports emails sent, alerts per email, time to
drain and the process's peak resident memory.

Run: ``.venv/bin/python bench/bench_alert_email.py [--alerts 10000] [--rules 20]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.db import dumps, iso, now_utc
from alerts.service import RiskService, fingerprint
from config import load_settings
from traceability.demo.mailsink import MailSink
from traceability.services import build_services

CATEGORIES = ("quality", "payment", "customs", "fraud", "credit")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sink = MailSink(folder / "sink").start()
        config = folder / "qtrace.toml"
        config.write_text(
            '[risk.email]\nenabled = true\nhost = "127.0.0.1"\n'
            f'port = {sink.port}\ngroup_wait_seconds = 0\ndigest_at = ""\nbatch = 500\n',
            encoding="utf-8",
        )
        services = build_services(load_settings(config, environ={"QTRACE_DATA_DIR": tmp}))
        service: RiskService = services.feature("risk")
        stamp = iso(now_utc())
        rows = []
        for i in range(args.alerts):
            rule = f"bench_rule_{i % args.rules}"
            key = f"Batch:0946874460{i % 1000:04d}:LOT{i}"
            category = CATEGORIES[i % args.rules % len(CATEGORIES)]
            rows.append(
                (fingerprint(rule, key), rule, key, "high", category, "samr", 3, "possible",
                 dumps([key]), "[]", f"基准测试风险 {i}", "open", stamp, stamp, stamp)
            )  # fmt: skip
        with service.rdb.transaction() as conn:
            conn.executemany(
                "INSERT INTO risk_risks (fingerprint, rule, key, level, category, owner,"
                " severity, likelihood, entities, evidence, explanation, status, first_seen,"
                " last_seen, changed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        results: dict[str, object] = {"alerts": args.alerts, "rules": args.rules}
        began = time.perf_counter()
        results["warn"] = service.warn()
        results["warn_seconds"] = round(time.perf_counter() - began, 2)
        began = time.perf_counter()
        results["notify"] = service.notify()
        results["notify_seconds"] = round(time.perf_counter() - began, 2)
        began = time.perf_counter()
        sent = service.send_pending()
        results["send"] = sent
        results["drain_seconds"] = round(time.perf_counter() - began, 2)
        results["emails_received_by_sink"] = len(sink.messages())
        results["emails_per_alert"] = round(sent["sent"] / args.alerts, 5)
        # Peak resident memory of the whole process (ru_maxrss is in KiB on Linux).
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        services.close()
        sink.stop()
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
