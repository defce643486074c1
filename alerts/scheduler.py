"""``qtrace worker``: APScheduler 3.x in a dedicated process, with a leader lease in SQLite.

APScheduler's job stores must not be shared between scheduler processes, so every worker
keeps its jobs in memory and the *execution* is guarded instead: before a job runs, the
worker takes or renews the leader lease (a ``risk_leases`` row with an expiry).  Only the
holder runs jobs; another worker skips them until the lease expires (its holder died), so
two workers never both run a job.  Each mechanism additionally takes its own run lease,
which also keeps a manual ``qtrace risk run`` from overlapping the worker.

Jobs have fixed ids (``risk.collect`` …), ``replace_existing``, ``coalesce=True``,
``max_instances=1`` and an explicit ``misfire_grace_time``; intervals come from ``[risk]``.
Jobs run one at a time (a one-thread executor), so the mechanisms never race in a process.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from alerts.config import RiskSettings
from alerts.service import RiskService, default_holder
from traceability.errors import Conflict
from traceability.services import Services

log = logging.getLogger(__name__)

LEADER = "worker-leader"


@dataclass
class MechanismJob:
    id: str
    seconds: float
    service: RiskService
    mechanism: str
    holder: str = ""

    def run(self) -> Any:
        return self.service.run(self.mechanism, holder=self.holder or None)


@dataclass
class EmailJob:
    """``risk.notify`` (groups and digests into the outbox) and ``risk.send`` (drain it)."""

    id: str
    seconds: float
    service: RiskService
    holder: str = ""

    def run(self) -> Any:
        if self.id == "risk.notify":
            return self.service.notify()
        return self.service.send_pending(holder=self.holder or None)


def risk_jobs(services: Services) -> list[Any]:
    service: RiskService = services.feature("risk")
    settings = service.settings
    jobs: list[Any] = [
        MechanismJob("risk.collect", settings.collect_seconds, service, "collect"),
        MechanismJob("risk.assess", settings.assess_seconds, service, "assess"),
        MechanismJob("risk.warn", settings.warn_seconds, service, "warn"),
        MechanismJob("risk.review", settings.review_seconds, service, "review"),
    ]
    if settings.email.enabled:
        jobs += [
            EmailJob("risk.notify", settings.email.send_seconds, service),
            EmailJob("risk.send", settings.email.send_seconds, service),
        ]
    return jobs


class Worker:
    def __init__(self, services: Services, holder: str | None = None) -> None:
        self.services = services
        self.service: RiskService = services.feature("risk")
        self.settings: RiskSettings = self.service.settings
        self.holder = holder or default_holder()
        self.tally: Counter[str] = Counter()
        self._scheduler: BackgroundScheduler | None = None
        self.jobs: list[Any] = []
        for feature in services.features:
            if feature.jobs is not None:
                self.jobs.extend(feature.jobs(services))
        for job in self.jobs:
            if isinstance(job, MechanismJob | EmailJob):
                job.holder = self.holder

    def is_leader(self) -> bool:
        return self.service.rdb.acquire(LEADER, self.holder, self.settings.lease_seconds)

    def guarded(self, job: Any) -> None:
        """Run a job if this worker holds (or can take) the leader lease."""
        try:
            if not self.is_leader():
                self.tally["skipped_not_leader"] += 1
                return
            job.run()
            self.tally["ran"] += 1
            self.tally[f"ran:{job.id}"] += 1
        except Conflict:
            self.tally["skipped_busy"] += 1
        except Exception:
            log.exception("job %s failed", job.id)
            self.tally["failed"] += 1

    def heartbeat(self) -> None:
        try:
            self.is_leader()
        except Exception:
            log.exception("lease renewal failed")

    def start(self) -> None:
        """Schedule every job in a background scheduler; returns at once (see :meth:`stop`)."""
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1), "lease": ThreadPoolExecutor(1)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self.settings.misfire_grace_seconds,
            },
            timezone=dt.UTC,
        )
        start = dt.datetime.now(dt.UTC)
        for job in self.jobs:
            # The risk mechanisms run at start; other jobs (the crawler) after one interval.
            first = start if isinstance(job, MechanismJob) else None
            self._scheduler.add_job(
                self.guarded, "interval", seconds=job.seconds, args=[job], id=job.id,
                name=job.id, replace_existing=True,
                **({"next_run_time": first} if first else {}),
            )  # fmt: skip
        self._scheduler.add_job(
            self.heartbeat, "interval", seconds=max(self.settings.lease_seconds / 3, 0.1),
            id="risk.lease", replace_existing=True, executor="lease", next_run_time=start,
        )  # fmt: skip
        self._scheduler.start()

    def stop(self) -> dict[str, Any]:
        """Let running jobs finish, give up the leader lease, and return the tally."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        try:
            self.service.rdb.release(LEADER, self.holder)
        except Exception:
            log.exception("lease release failed")
        return {"holder": self.holder, "jobs": [j.id for j in self.jobs], **self.tally}

    def run(self, seconds: float | None = None) -> dict[str, Any]:
        """Run until SIGTERM/SIGINT (or ``seconds``): ``qtrace worker``."""
        stop = threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, lambda *_: stop.set())
        self.start()
        began = time.monotonic()
        try:
            while not stop.is_set():
                if seconds is not None and time.monotonic() - began >= seconds:
                    break
                stop.wait(0.1)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            tally = self.stop()
        return tally


def run_worker(services: Services, holder: str | None = None,
               seconds: float | None = None) -> dict[str, Any]:  # fmt: skip
    return Worker(services, holder).run(seconds)
