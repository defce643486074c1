"""Statistics on a hand-built world, with the answers worked out on paper.

Documents go through the same steps as ``qtrace ingest`` (CebMapper → graph upsert,
ComplianceEngine prepare → apply), in two phases:

Phase 1 (before the first compute); value = Σ line totalPrice, hours = declaration to release::

    copNo declared   mode platform district lines (HS country value)      freight receipt
    CA1   2026-04-10 1210 EBP1     411702   1901101090 609 200 (2 x 100)  10  800 04-11 10:00 34 h
    CA2   2026-04-20 9610 EBP2     410105   3304990099 116 300
                                            + 0409000000 609 100          20  500 inspection
    CM1   2026-05-03 1210 EBP1     411702   1901101090 609 200            10  800 05-04 12:00 36 h
          (order M1 pays 1 yuan too much: ORDER_ARITHMETIC, a finding on the order)
    CM2   2026-05-05 1210 EBP1     411721   1901101090 609 400 (4 x 100)  10  800 05-05 06:00  6 h
    CM3   2026-05-10 9610 EBP2     410105   2204210000 305 250            15  800 05-11 00:00
    CM4   2026-05-01 1210 EBP1     411702   3304990099 116 150             5  800 05-01 08:00
    CM5   2026-05-15 1210 EBP1     411702   1901101090 609 100            10  800 05-15 10:00
    CM7   2026-05-20 9610 EBP2     411702   2106909090 502 120             8  800 05-21 00:00 24 h
    order OX 2026-05-25 (50 yuan) is never declared.

Phase 2 (revisions):  CM4 corrected (appType 2) to 2026-04-30 → moves to April (32 h);
CM3 cancelled (CEB623); CM5 deleted (appType 3); CM2 returns 1 of 4 tins (CEB625, −100);
CM7 returns everything (−120); CM6 arrives late: declared 2026-04-25, formula 100,
freight 10, released 04-25 20:00 (20 h).

April is published between the phases in the revision test, so CM6 is a late document
there (a new inventory in an unpublished month only updates it, without a revision).

Worked answers after phase 2:

- April: CA1, CA2, CM4, CM6 → 4 inventories, 3 released, goods 850, freight 45,
  released value 450, 1 inspected, 1 problem, release hours 34 + 32 + 20 = 86 (mean 28.67).
- May: CM1, CM2, CM7 → 3 inventories, 3 released, goods net 200 + 300 + 0 = 500, returned
  2 (value 220), cancelled 1, deleted 1, release hours 36 + 6 + 24 = 66 (mean 22),
  1 problem (the finding).  Orders placed in May: M1 M2 M3 M5 M7 OX = 6, declared 3.
- Index of May, base April: scale = growth = 100·500/450; structure = 100·1/1.8 (April's
  released value is 2/3 formula, 1/3 skin care: 1/HHI = 1.8; May is all formula: 1);
  efficiency = 100·(86/3)/22; quality = 100·(2/3)/(3/4); credit pending.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from config import load_settings
from traceability.formats.ceb.xml import Record
from traceability.services import Services, build_services

BUYER_ID = "11010519491231002X"
EBP1, EBP2, EBC, CARRIER, AGENT = (
    "4101960001",
    "4101960002",
    "4101970003",
    "4101990005",
    "4117960006",
)
ADDRESSES = {
    "411702": "河南省驻马店市驿城区解放大道1号",
    "411721": "河南省驻马店市西平县人民路2号",
    "410105": "河南省郑州市金水区花园路3号",
}
FORMULA, SKIN, HONEY, WINE, SUPPLEMENT = (
    "1901101090",
    "3304990099",
    "0409000000",
    "2204210000",
    "2106909090",
)


def make_services(tmp_path: Path) -> Services:
    settings = load_settings(
        environ={
            "QTRACE_DATA_DIR": str(tmp_path / "var"),
            "QTRACE_PRIVACY__HASH_KEY": "stats-test-key-0123456789",
        }
    )
    return build_services(settings)


def apply(services: Services, code: str, *records: Record) -> None:
    """What the ingestor does with one message: graph first, then the ledger."""
    mapper = services.ingestor().mapper
    for record in records:
        batch = mapper.map(code, record)
        services.store.upsert(batch.nodes, batch.edges)
    services.compliance.apply(services.compliance.prepare(code, list(records)))


def order(no: str, day: str, ebp: str, district: str, lines: list[tuple[str, int, int]],
          freight: int, *, extra_paid: int = 0) -> Record:  # fmt: skip
    """lines: (HS code, qty, unit price); tax is 0 so that paid = goods + freight."""
    goods = sum(qty * price for _, qty, price in lines)
    head = {
        "guid": f"G-O{no}", "appType": "1", "appTime": f"{day}101500", "orderType": "I",
        "orderNo": no, "ebpCode": ebp, "ebpName": f"平台{ebp[-1]}", "ebcCode": EBC,
        "goodsValue": str(goods), "freight": str(freight), "discount": "0", "taxTotal": "0",
        "acturalPaid": str(goods + freight + extra_paid), "currency": "142",
        "buyerIdType": "1", "buyerIdNumber": BUYER_ID, "buyerName": "张晓丽",
        "buyerTelephone": "13812345678", "consignee": "张晓丽",
        "consigneeTelephone": "13812345678", "consigneeAddress": ADDRESSES[district],
        "consigneeDistrict": district,
    }  # fmt: skip
    order_lines = [
        {"gnum": str(i), "itemName": f"商品{hs}", "qty": str(qty), "price": str(price),
         "totalPrice": str(qty * price), "currency": "142"}
        for i, (hs, qty, price) in enumerate(lines, 1)
    ]  # fmt: skip
    return Record(head, order_lines)


def inventory(no: str, day: str, ebp: str, mode: str, lines: list[tuple[str, str, int, int]],
              freight: int, *, app_type: str = "1", guid: str = "") -> Record:  # fmt: skip
    """lines: (HS code, origin country, qty, unit price)."""
    head = {
        "guid": guid or f"G-I{no}", "appType": app_type, "orderNo": no, "ebpCode": ebp,
        "ebcCode": EBC, "copNo": f"C{no}", "logisticsCode": CARRIER, "logisticsNo": f"W{no}",
        "agentCode": AGENT, "agentName": "样例报关行", "buyerIdType": "1",
        "buyerIdNumber": BUYER_ID, "declTime": day + "000000", "customsCode": "4612",
        "tradeMode": mode,
        "freight": str(freight), "insuredFee": "0", "country": lines[0][1],
    }  # fmt: skip
    inventory_lines = [
        {"gnum": str(i), "gcode": hs, "gname": f"商品{hs}", "country": country, "qty": str(qty),
         "price": str(price), "totalPrice": str(qty * price)}
        for i, (hs, country, qty, price) in enumerate(lines, 1)
    ]  # fmt: skip
    return Record(head, inventory_lines)


def receipt(no: str, status: str, time: str) -> Record:
    return Record({
        "copNo": f"C{no}", "preNo": f"B{no}", "invtNo": f"I{no}", "returnStatus": status,
        "returnTime": time + "000", "returnInfo": "", "customsCode": "4612",
    })  # fmt: skip


def declare(services: Services, no: str, day: str, ebp: str, mode: str, district: str,
            lines: list[tuple[str, str, int, int]], freight: int, status: str, released: str,
            *, order_day: str | None = None, extra_paid: int = 0) -> None:  # fmt: skip
    apply(services, "CEB311", order(no, order_day or day, ebp, district,
                                    [(hs, q, p) for hs, _, q, p in lines], freight,
                                    extra_paid=extra_paid))  # fmt: skip
    apply(services, "CEB621", inventory(no, day, ebp, "1210" if mode == "1210" else mode,
                                        lines, freight))  # fmt: skip
    apply(services, "CEB622", receipt(no, status, released))


def phase_one(services: Services) -> None:
    declare(services, "A1", "20260410", EBP1, "1210", "411702", [(FORMULA, "609", 2, 100)], 10,
            "800", "20260411100000")  # fmt: skip
    two_lines = [(SKIN, "116", 1, 300), (HONEY, "609", 1, 100)]
    declare(services, "A2", "20260420", EBP2, "9610", "410105", two_lines, 20,
            "500", "20260421090000")  # fmt: skip
    declare(services, "M1", "20260503", EBP1, "1210", "411702", [(FORMULA, "609", 2, 100)], 10,
            "800", "20260504120000", extra_paid=1)  # fmt: skip
    declare(services, "M2", "20260505", EBP1, "1210", "411721", [(FORMULA, "609", 4, 100)], 10,
            "800", "20260505060000")  # fmt: skip
    declare(services, "M3", "20260510", EBP2, "9610", "410105", [(WINE, "305", 1, 250)], 15,
            "800", "20260511000000")  # fmt: skip
    declare(services, "M4", "20260501", EBP1, "1210", "411702", [(SKIN, "116", 1, 150)], 5,
            "800", "20260501080000", order_day="20260430")  # fmt: skip
    declare(services, "M5", "20260515", EBP1, "1210", "411702", [(FORMULA, "609", 1, 100)], 10,
            "800", "20260515100000")  # fmt: skip
    declare(services, "M7", "20260520", EBP2, "9610", "411702", [(SUPPLEMENT, "502", 1, 120)], 8,
            "800", "20260521000000")  # fmt: skip
    apply(services, "CEB311", order("OX", "20260525", EBP1, "411702", [(FORMULA, 1, 50)], 0))


def phase_two(services: Services) -> None:
    corrected = inventory("M4", "20260430", EBP1, "1210", [(SKIN, "116", 1, 150)], 5,
                          app_type="2", guid="G-IM4-2")  # fmt: skip
    apply(services, "CEB621", corrected)
    apply(services, "CEB623", Record({"copNo": "CM3", "invtNo": "IM3", "reason": "买家取消"}))
    deleted = inventory("M5", "20260515", EBP1, "1210", [(FORMULA, "609", 1, 100)], 10,
                        app_type="3", guid="G-IM5-3")  # fmt: skip
    apply(services, "CEB621", deleted)
    apply(services, "CEB625", Record({"copNo": "CM2", "invtNo": "IM2", "reason": "质量问题"},
                                     [{"gnum": "1", "qty": "1"}]))  # fmt: skip
    apply(services, "CEB625", Record({"copNo": "CM7", "invtNo": "IM7", "reason": "退货"},
                                     [{"gnum": "1", "qty": "1"}]))  # fmt: skip
    declare(services, "M6", "20260425", EBP1, "1210", "411702", [(FORMULA, "609", 1, 100)], 10,
            "800", "20260425200000")  # fmt: skip


@pytest.fixture
def world(tmp_path: Path):
    services = make_services(tmp_path)
    phase_one(services)
    yield services
    services.close()


def stats(services: Services):
    return services.feature("statistics")


# -- the worked answers ------------------------------------------------------------------


def test_phase_one_counts_declared_inventories(world: Services) -> None:
    report = stats(world).compute()
    assert report.months == ["2026-04", "2026-05"]
    assert report.revised == {}
    may = stats(world).show("2026-05")["totals"]
    assert may["inventories"] == 6
    assert may["released"] == 6
    assert may["goods_value"] == "1220.00"
    assert may["orders"] == 6 and may["buyers"] == 1 and may["parcels"] == 6
    assert may["findings"] == {"ORDER_ARITHMETIC": 1}
    april = stats(world).show("2026-04")["totals"]
    assert (april["inventories"], april["released"], april["inspected"]) == (2, 1, 1)
    assert april["goods_value"] == "600.00" and april["released_value"] == "200.00"
    assert april["release_hours_sum"] == 34.0


def test_revisions_move_figures_between_periods(world: Services, tmp_path: Path) -> None:
    service = stats(world)
    service.compute()
    service.publish("2026-04", tmp_path / "releases")  # April is out: CM6 will be late
    phase_two(world)
    report = service.compute()
    assert report.months == ["2026-04", "2026-05"]
    assert report.revised["2026-04"]["moved_in"] == 1
    assert report.revised["2026-04"]["late_document"] == 1
    may_reasons = report.revised["2026-05"]
    assert may_reasons["moved_out"] == 1
    assert may_reasons["cancellation"] == 1
    assert may_reasons["deletion"] == 1
    assert may_reasons["return"] == 2

    april = service.show("2026-04")
    t = april["totals"]
    assert (t["inventories"], t["released"], t["inspected"], t["problems"]) == (4, 3, 1, 1)
    assert (t["goods_value"], t["freight"], t["released_value"]) == ("850.00", "45.00", "450.00")
    assert t["release_hours_sum"] == 86.0 and t["release_n"] == 3
    assert t["release_hours_median"] == 32.0
    assert t["inspection_rate"] == 0.25
    assert april["revision"] == 1

    may = service.show("2026-05")
    t = may["totals"]
    assert (t["inventories"], t["released"], t["cancelled"], t["deleted"]) == (3, 3, 1, 1)
    assert (t["returned"], t["returned_value"]) == (2, "220.00")
    assert (t["goods_value"], t["released_value"]) == ("500.00", "500.00")
    assert t["release_hours_mean"] == 22.0
    assert t["problems"] == 1 and t["finding_rates"] == {"ORDER_ARITHMETIC": round(1 / 3, 6)}
    recon = may["reconciliation"]
    assert (recon["orders"], recon["orders_declared"], recon["orders_undeclared"]) == (6, 3, 3)
    assert recon["inventories"] == 3
    assert recon["orders_value"] == "1120.00"  # 200 + 400 + 250 + 100 + 120 + 50
    assert recon["inventories_value"] == "720.00"  # gross, before the returns
    assert recon["value_difference"] == "400.00"

    revisions = service.revisions("2026-05")
    assert [r["revision"] for r in revisions] == [1]
    assert revisions[0]["before"]["totals"]["inventories"] == 6
    assert revisions[0]["after"]["totals"]["inventories"] == 3
    assert "CM3" in revisions[0]["reasons"]["samples"]["cancellation"]

    assert [r["revision"] for r in service.revisions("2026-04")] == [1]
    # Nothing changed since: nothing is recomputed, no revision is recorded.
    again = service.compute()
    assert (again.changed, again.months) == (0, [])
    assert len(service.revisions()) == 2


def test_new_documents_update_an_unpublished_month_in_place(world: Services) -> None:
    service = stats(world)
    service.compute()
    declare(world, "M8", "20260528", EBP1, "1210", "411702", [(FORMULA, "609", 1, 100)], 10,
            "800", "20260528120000")  # fmt: skip
    report = service.compute()
    assert (report.changed, report.months, report.revised) == (1, ["2026-05"], {})
    assert service.show("2026-05")["revision"] == 0
    assert service.show("2026-05")["totals"]["inventories"] == 7
    assert service.revisions() == []


def test_dimensions_of_a_month(world: Services) -> None:
    service = stats(world)
    service.compute()
    phase_two(world)
    service.compute()
    categories = {r["value"]: r for r in service.rows("2026-04", "category")}
    assert categories["INFANT_FORMULA"]["released_value"] == "300.00"
    assert categories["SKIN_CARE"]["goods_value"] == "450.00"  # CA2's 300 + CM4's 150
    assert categories["HONEY"]["goods_value"] == "100.00"
    # CA2's freight (20) is apportioned 3:1 between its skin care and its honey.
    assert categories["SKIN_CARE"]["freight"] == "20.00"  # 15 + CM4's 5
    assert categories["HONEY"]["freight"] == "5.00"
    assert categories["SKIN_CARE"]["label"] == "护肤与彩妆"
    modes = {r["value"]: r["inventories"] for r in service.rows("2026-05", "trade_mode")}
    assert modes == {"1210": 2, "9610": 1}
    districts = {r["value"]: r for r in service.rows("2026-05", "district")}
    assert districts["411721"]["label"] == "河南省驻马店市西平县"
    assert districts["411721"]["goods_value"] == "300.00"
    origin = {r["value"]: r["label"] for r in service.rows("2026-04", "origin")}
    assert origin["609"] == "新西兰"
    chapters = {r["value"] for r in service.rows("2026-04", "hs_chapter")}
    assert chapters == {"19", "33", "04"}
    assert {r["value"] for r in service.rows("2026-05", "direction")} == {"import"}
    assert {r["value"] for r in service.rows("2026-05", "customs")} == {"4612"}
    assert {r["value"] for r in service.rows("2026-05", "logistics")} == {CARRIER}
    assert {r["value"] for r in service.rows("2026-05", "platform")} == {EBP1, EBP2}
    days = {r["value"]: r["inventories"] for r in service.rows("2026-04", "day")}
    assert days == {"2026-04-10": 1, "2026-04-20": 1, "2026-04-25": 1, "2026-04-30": 1}


def test_other_periods_from_stored_facts(world: Services) -> None:
    service = stats(world)
    service.compute()
    phase_two(world)
    service.compute()
    quarter = service.show_period("2026-Q2")["totals"]
    assert quarter["inventories"] == 7
    assert quarter["goods_value"] == str(Decimal("850.00") + Decimal("500.00"))
    day = service.show_period("2026-05-05")["totals"]
    assert (day["inventories"], day["goods_value"]) == (1, "300.00")
    year = service.show_period("2026", "category")
    assert {r["value"] for r in year["rows"]} >= {"INFANT_FORMULA", "SKIN_CARE"}


def test_compute_one_month_only(world: Services) -> None:
    service = stats(world)
    service.compute("2026-05")
    assert [m["month"] for m in service.months()] == ["2026-05"]
    phase_two(world)
    report = service.compute("2026-05")
    # CM4 left May for April: both months are rebuilt, May records the revision.
    assert report.months == ["2026-04", "2026-05"]
    assert set(report.revised) == {"2026-05"}
    assert service.show("2026-05")["totals"]["inventories"] == 3


def test_the_port_reader_gives_the_same_figures(world: Services) -> None:
    """The Neo4j path (graph read through the store port) agrees with the SQL path."""
    from traceability.stats.aggregate import DIMENSIONS
    from traceability.stats.facts import PortSource

    phase_two(world)
    service = stats(world)
    service.compute()
    by_sql = {d: service.rows(m, d) for m in ("2026-04", "2026-05") for d in DIMENSIONS}
    recon = service.show("2026-05")["reconciliation"]
    with service._transaction() as tx:
        for table in ("stats_facts", "stats_monthly", "stats_months"):
            tx.execute(f"DELETE FROM {table}")
    service._port = lambda: PortSource(world.store)
    report = service.compute()
    assert report.months == ["2026-04", "2026-05"] and report.changed == 9
    assert {d: service.rows(m, d) for m in ("2026-04", "2026-05") for d in DIMENSIONS} == by_sql
    assert service.show("2026-05")["reconciliation"] == recon


def test_derived_tables_of_an_older_schema_are_rebuilt(world: Services) -> None:
    import sqlite3

    with sqlite3.connect(world.settings.embedded_db_path) as db:
        db.execute("CREATE TABLE stats_months (month TEXT PRIMARY KEY, revision INTEGER)")
        db.execute("INSERT INTO stats_months VALUES ('2026-05', 3)")
    report = stats(world).compute()
    assert report.months == ["2026-04", "2026-05"]
    assert stats(world).show("2026-05")["revision"] == 0


def test_the_worker_job_computes(world: Services) -> None:
    feature = next(f for f in world.features if f.name == "statistics")
    assert feature.jobs is not None
    (job,) = feature.jobs(world)
    assert (job.id, job.seconds) == ("stats.compute", 3600.0)
    assert job.run().months == ["2026-04", "2026-05"]
