"""Findings: one consistent three-document set, then one negative case per finding code."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from config import load_settings
from traceability.analysis.compliance import ComplianceEngine, Ledger
from traceability.formats.ceb.xml import Record
from traceability.formats.identifiers import make_uscc, resident_id_check_char
from traceability.formats.privacy import PersonalDataHasher

BUYER_ID = "11010519491231002X"
OTHER_ID = "41010219900307123" + resident_id_check_char("41010219900307123")


@pytest.fixture
def engine(tmp_path: Path) -> ComplianceEngine:
    settings = load_settings(environ={})
    return ComplianceEngine(
        Ledger(tmp_path / "ledger.db"),
        PersonalDataHasher(b"compliance-test-key-0123"),
        settings.limits,
    )


def order(no: str = "O1", *, paid: str = "219.10", lines: list[dict] | None = None,
          buyer: str = BUYER_ID, guid: str = "G-O1", app_type: str = "1",
          time: str = "20260301101500", **extra: str) -> Record:  # fmt: skip
    lines = lines or [{"gnum": "1", "itemName": "配方奶粉", "qty": "2", "price": "100",
                       "totalPrice": "200"}]  # fmt: skip
    goods = sum(Decimal(line["totalPrice"]) for line in lines)
    head = {
        "guid": guid, "appType": app_type, "appTime": time, "orderNo": no, "ebpCode": "4101960001",
        "ebcCode": "4101970003", "goodsValue": str(goods), "freight": "10", "discount": "0",
        "taxTotal": "9.10", "acturalPaid": paid, "buyerIdType": "1", "buyerIdNumber": buyer,
        "buyerName": "张晓丽", "buyerTelephone": "13812345678", "payCode": "4101980004",
        "payTransactionId": f"P{no}", "consignee": "张晓丽", "consigneeTelephone": "13812345678",
        "consigneeAddress": "河南省驻马店市驿城区解放大道1号",
    } | extra  # fmt: skip
    return Record(head, lines)


def payment(no: str = "O1", *, amount: str = "219.10", payer: str = BUYER_ID,
            name: str = "张晓丽", app_type: str = "1") -> Record:  # fmt: skip
    return Record({
        "guid": f"G-P{no}", "appType": app_type, "payCode": "4101980004",
        "payTransactionId": f"P{no}", "orderNo": no, "ebpCode": "4101960001",
        "payerIdType": "1", "payerIdNumber": payer, "payerName": name,
        "amountPaid": amount, "payTime": "20260301102000",
    })  # fmt: skip


def waybill(no: str = "O1", *, phone: str = "13812345678") -> Record:
    return Record({
        "guid": f"G-W{no}", "appType": "1", "appTime": "20260301120000",
        "logisticsCode": "4101990005", "logisticsNo": f"W{no}", "orderNo": no,
        "consignee": "张晓丽", "consigneeTelephone": phone,
        "consigneeAddress": "河南省驻马店市驿城区解放大道1号",
    })  # fmt: skip


def inventory(no: str = "O1", *, lines: list[dict] | None = None, buyer: str = BUYER_ID,
              day: str = "20260302", **extra: str) -> Record:  # fmt: skip
    lines = lines or [{"gnum": "1", "gname": "配方奶粉", "gcode": "1901101090", "qty": "2",
                       "price": "100", "totalPrice": "200"}]  # fmt: skip
    head = {
        "guid": f"G-I{no}", "appType": "1", "orderNo": no, "ebpCode": "4101960001",
        "ebcCode": "4101970003", "copNo": f"C{no}", "logisticsCode": "4101990005",
        "logisticsNo": f"W{no}", "buyerIdType": "1", "buyerIdNumber": buyer, "declTime": day,
        "freight": "10", "insuredFee": "0",
    } | extra  # fmt: skip
    return Record(head, lines)


def run(engine: ComplianceEngine, code: str, *records: Record) -> list[str]:
    return [f.code for f in engine.apply(engine.prepare(code, list(records)))]


def full_set(engine: ComplianceEngine, no: str = "O1", **variants: Record) -> list[str]:
    raised = run(engine, "CEB311", variants.get("order", order(no)))
    raised += run(engine, "CEB411", variants.get("payment", payment(no)))
    raised += run(engine, "CEB511", variants.get("waybill", waybill(no)))
    raised += run(engine, "CEB621", variants.get("inventory", inventory(no)))
    return raised


def active(engine: ComplianceEngine) -> list[str]:
    return sorted(f["code"] for f in engine.ledger.findings())


def test_consistent_documents_raise_nothing(engine) -> None:
    assert full_set(engine) == []
    assert engine.sweep(dt.datetime(2026, 11, 27, tzinfo=dt.UTC)) == []
    assert active(engine) == []


@pytest.mark.parametrize(
    ("variants", "code"),
    [
        ({"order": order(paid="229.10")}, "ORDER_ARITHMETIC"),
        ({"order": order(lines=[{"gnum": "1", "itemName": "配方奶粉", "qty": "2",
                                 "price": "100", "totalPrice": "210"}], paid="229.10")},
         "LINE_TOTAL"),
        ({"payment": payment(amount="169.10")}, "PAYMENT_AMOUNT_MISMATCH"),
        ({"waybill": waybill(phone="13900000000")}, "CONSIGNEE_MISMATCH"),
        ({"inventory": inventory(lines=[{"gnum": "1", "gname": "奶粉罐", "gcode": "1901101090",
                                         "qty": "2", "price": "100", "totalPrice": "200"}])},
         "INVENTORY_LINES_MISMATCH"),
        ({"payment": payment(payer=OTHER_ID, name="王大伟")}, "BUYER_PAYER_MISMATCH"),
        ({"inventory": inventory(lines=[{"gnum": "1", "gname": "配方奶粉", "gcode": "1901101090",
                                         "qty": "2", "price": "2500", "totalPrice": "5000"}])},
         "SINGLE_LIMIT_EXCEEDED"),
        ({"order": order(buyer="110105194912310021")}, "BAD_ID_NUMBER"),
        ({"order": order(ebcCode="91350100M000100Y4Z")}, "BAD_USCC"),
        ({"inventory": inventory(lines=[{"gnum": "1", "gname": "配方奶粉", "gcode": "19011010",
                                         "qty": "2", "price": "100", "totalPrice": "200"}])},
         "BAD_HS_CODE"),
    ],
)  # fmt: skip
def test_each_inconsistency_is_one_finding(engine, variants, code) -> None:
    raised = full_set(engine, **variants)
    assert code in raised
    finding = next(f for f in engine.ledger.findings() if f["code"] == code)
    assert {"code", "severity", "keys", "expected", "actual", "message_zh", "message_en"} <= set(
        finding
    )
    assert finding["message_zh"] and finding["message_en"] and finding["keys"]


def test_valid_uscc_is_not_a_finding(engine) -> None:
    import random

    good = make_uscc(random.Random(1))
    assert "BAD_USCC" not in full_set(engine, order=order(ebcCode=good))


def test_pair_findings_do_not_depend_on_arrival_order(engine, tmp_path: Path) -> None:
    assert run(engine, "CEB411", payment(amount="1.00")) == []
    assert run(engine, "CEB311", order()) == ["PAYMENT_AMOUNT_MISMATCH"]
    finding = engine.ledger.findings("PAYMENT_AMOUNT_MISMATCH")[0]
    assert finding["expected"] == "219.10" and finding["actual"] == "1.00"


def test_a_corrected_document_resolves_its_finding(engine) -> None:
    full_set(engine, payment=payment(amount="1.00"))
    assert active(engine) == ["PAYMENT_AMOUNT_MISMATCH"]
    run(engine, "CEB411", payment(app_type="2"))
    assert active(engine) == []
    assert engine.ledger.findings(include_resolved=True)[0]["active"] is False


def test_reloading_raises_nothing_new(engine) -> None:
    full_set(engine, payment=payment(amount="1.00"))
    assert full_set(engine, payment=payment(amount="1.00")) == []
    assert active(engine) == ["PAYMENT_AMOUNT_MISMATCH"]


def test_annual_quota_counts_declarations_and_reversals(engine) -> None:
    big = [{"gnum": "1", "gname": "配方奶粉", "gcode": "1901101090", "qty": "1",
            "price": "4800", "totalPrice": "4800"}]  # fmt: skip
    for n in range(5):
        assert run(engine, "CEB621", inventory(f"Q{n}", lines=big)) == []
    assert run(engine, "CEB621", inventory("Q5", lines=big)) == ["ANNUAL_QUOTA_EXCEEDED"]
    finding = engine.ledger.findings("ANNUAL_QUOTA_EXCEEDED")[0]
    assert finding["actual"] == "28860.00" and len(finding["extra"]["inventories"]) == 6
    # A cancellation (CEB623) brings the buyer back under the quota.
    run(engine, "CEB623", Record({"copNo": "CQ5", "invtNo": ""}))
    assert active(engine) == []
    # A partial return (CEB625) of another declaration reduces the year's total too.
    run(engine, "CEB621", inventory("Q6", lines=big))
    assert active(engine) == ["ANNUAL_QUOTA_EXCEEDED"]
    run(engine, "CEB625", Record({"copNo": "CQ6"}, [{"gnum": "1", "qty": "1"}]))
    assert active(engine) == []


def test_quota_limit_follows_the_year(engine) -> None:
    line = [{"gnum": "1", "gname": "奶粉", "gcode": "1901101090", "qty": "1", "price": "1900",
             "totalPrice": "1900"}]  # fmt: skip
    codes = []
    for n in range(11):  # 11 x 1,910 = 21,010: over 2018's 20,000, under 2019's 26,000
        codes += run(engine, "CEB621", inventory(f"Y{n}", lines=line, day="20180601"))
    assert codes == ["ANNUAL_QUOTA_EXCEEDED"]
    over_2000 = [{"gnum": "1", "gname": "奶粉", "gcode": "1901101090", "qty": "1",
                  "price": "2500", "totalPrice": "2500"}]  # fmt: skip
    assert "SINGLE_LIMIT_EXCEEDED" in run(
        engine, "CEB621", inventory("Z", lines=over_2000, day="20180601")
    )
    assert "SINGLE_LIMIT_EXCEEDED" not in run(
        engine, "CEB621", inventory("Z2", lines=over_2000, day="20190601")
    )


def test_missing_partner_documents_after_the_window(engine) -> None:
    run(engine, "CEB311", order("M1"))
    run(engine, "CEB411", payment("M2"))
    just_after = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)  # 18:00 in China, < 24 h
    assert engine.sweep(just_after) == []
    later = dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    raised = engine.sweep(later)
    assert sorted(f.keys[0] for f in raised) == ["4101960001:M1", "4101980004:PM2"]
    missing = {f.keys[0]: f.expected for f in raised}
    assert missing["4101960001:M1"] == ["payment", "waybill", "inventory"]
    run(engine, "CEB411", payment("M1"))
    run(engine, "CEB511", waybill("M1"))
    run(engine, "CEB621", inventory("M1"))
    engine.sweep(later)
    assert [f["keys"] for f in engine.ledger.findings("MISSING_PARTNER_DOCUMENT")] == [
        ["4101980004:PM2"]
    ]


def test_duplicate_and_deleted_declarations(engine) -> None:
    run(engine, "CEB311", order())
    assert run(engine, "CEB311", order(guid="G-other")) == ["DUPLICATE_DECLARATION"]
    run(engine, "CEB311", order(app_type="3", guid="G-delete"))
    assert run(engine, "CEB311", order(guid="G-again")) == []
    assert engine.ledger.status("order", "4101960001:O1") == "active"


def test_findings_name_the_kind_of_each_record(engine) -> None:
    full_set(engine, waybill=waybill(phone="13900000000"))
    finding = engine.ledger.findings("CONSIGNEE_MISMATCH")[0]
    assert finding["records"] == [
        {"kind": "order", "key": "4101960001:O1"},
        {"kind": "waybill", "key": "4101990005:WO1"},
    ]
