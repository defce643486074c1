"""Incremental assess: after new signals only the keys they touch are evaluated again, and
the result is the one a full evaluation gives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.service import RiskService
from config.settings import load_settings
from tests.test_risk_mechanisms import _order
from traceability.services import Services, build_services

AS_OF = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)


def _put(services: Services, orders: list[tuple[str, str, str, str]]) -> None:
    ledger = services.ledger
    with ledger.transaction():
        for key, buyer, phone, when in orders:
            ledger.put(_order(key, buyer, phone, when), "active")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Services, RiskService]]:
    services = build_services(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)}))
    _put(
        services,
        [
            (f"4101588864:O{i:03d}", f"buyer{i % 40}", f"phone{i % 40}",
             f"2026-0{4 + i % 3}-{1 + i % 28:02d}T10:00:00+08:00")
            for i in range(200)
        ],
    )  # fmt: skip
    yield services, services.feature("risk")
    services.close()


def _snapshot(service: RiskService) -> dict[str, tuple[Any, ...]]:
    return {
        r["fingerprint"]: (r["rule"], r["key"], r["level"], r["status"], r["entities"],
                           r["evidence"], r["metrics"], r["explanation"])
        for r in service.risks(limit=10_000, status=None)
    }  # fmt: skip


def test_new_signals_are_assessed_on_their_keys_only(world) -> None:
    services, service = world
    service.run("collect")
    (first,) = service.run("assess", as_of=AS_OF)
    assert first["counts"].get("incremental_rules", 0) == 0
    assert not service.risks(rule="buyer_ring")
    # A day later: four new buyers share one phone, and a known buyer orders again.
    _put(services, [
        *((f"4101588864:R{i}", f"ring{i}", "phone-hub", f"2026-06-2{i}T09:00:00+08:00")
          for i in range(4)),
        ("4101588864:AGAIN", "buyer7", "phone7", "2026-06-29T09:00:00+08:00"),
    ])  # fmt: skip
    service.run("collect")
    (second,) = service.run("assess", as_of=AS_OF)
    counts = second["counts"]
    order_rules = [r for r in service.rules() if r.signal == "order" and r.enabled]
    incremental = [r for r in order_rules if r.kind in ("frequency", "cardinality", "new_term",
                                                        "threshold", "list")]  # fmt: skip
    assert len(incremental) == len(order_rules) - 1  # all but the flatline rule
    assert counts["incremental_rules"] == len(incremental)
    (ring,) = service.risks(rule="buyer_ring")
    assert ring["key"] == "phone-hub" and ring["metrics"]["distinct"] == 4
    assert {f"Order:4101588864:R{i}" for i in range(4)} <= set(ring["entities"])
    incremental_view = _snapshot(service)
    # A full evaluation at the same time finds exactly the same risks.
    (full,) = service.run("assess", as_of=AS_OF, full=True)
    assert full["counts"].get("new", 0) == 0 and full["counts"].get("changed", 0) == 0
    assert _snapshot(service) == incremental_view


def test_a_later_evaluation_time_is_a_full_evaluation(world) -> None:
    services, service = world
    service.run("collect")
    service.run("assess", as_of=AS_OF)
    _put(services, [("4101588864:LATE", "buyer3", "phone3", "2026-06-30T09:00:00+08:00")])
    service.run("collect")
    later = AS_OF + dt.timedelta(seconds=service.settings.assess_recheck_seconds + 1)
    (run,) = service.run("assess", as_of=later)
    assert run["counts"].get("incremental_rules", 0) == 0
    # Unchanged inputs at the same time: skipped, as before.
    (again,) = service.run("assess", as_of=later)
    assert again["counts"]["skipped_rules"] >= len([r for r in service.rules() if r.enabled])
