"""validate_record: Chinese problem reports for schema violations, lenient on receipts."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest

from traceability.formats.ceb.spec import MESSAGES
from traceability.formats.ceb.validate import (
    decimal_problem,
    time_ok,
    validate_message,
    validate_record,
)
from traceability.formats.ceb.xml import Record, read_message

DATA = Path(__file__).parent / "data" / "ceb"


@pytest.fixture
def order() -> Record:
    """The consistent hand-made CEB311 order; clean against the schema."""
    return read_message((DATA / "encodings/CEB311_utf8.xml").read_bytes()).records[0]


def check(record: Record, code: str = "CEB311") -> list[str]:
    return validate_record(MESSAGES[code], record)


def test_clean_order_has_no_problems(order: Record) -> None:
    assert check(order) == []


@pytest.mark.parametrize("path", sorted((DATA / "samples").glob("*.xml")), ids=lambda p: p.stem)
def test_official_samples_are_schema_clean(path: Path) -> None:
    # syntax examples: their arithmetic is wrong, but every field fits the XSD
    assert validate_message(read_message(path.read_bytes())) == []


def test_over_length_field(order: Record) -> None:
    order.head["orderNo"] = "N" * 61
    order.head["consigneeAddress"] = "河" * 201  # characters, not bytes
    assert check(order) == [
        "OrderHead 字段 orderNo（订单编号） 超长：61 字符，上限 60",
        "OrderHead 字段 consigneeAddress（收货地址） 超长：201 字符，上限 200",
    ]
    order.head["consigneeAddress"] = "河" * 200
    assert len(check(order)) == 1


def test_missing_and_empty_required_fields(order: Record) -> None:
    del order.head["ebpCode"]
    order.head["buyerIdNumber"] = ""
    order.head["payCode"] = ""  # optional: empty is fine
    del order.lines[0]["itemName"]
    assert check(order) == [
        "OrderHead 缺少必填字段 ebpCode（电商平台代码）",
        "OrderHead 缺少必填字段 buyerIdNumber（订购人证件号码）",
        "OrderList[1] 缺少必填字段 itemName（商品名称）",
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("12,00", "不是数字"),
        ("¥440.45", "不是数字"),
        ("1e3", "不是数字"),
        ("NaN", "不是数字"),
        ("４４０", "不是数字"),  # full-width digits are not XSD digits
        (".", "不是数字"),
        ("1.123456", "小数位超过 5 位"),
        ("12345678901234567890", "有效数字超过 19 位"),
    ],
)
def test_non_numeric_amount(order: Record, value: str, reason: str) -> None:
    order.head["acturalPaid"] = value
    assert check(order) == [
        f"OrderHead 字段 acturalPaid（实际支付金额） {reason}（N19,5）：{value!r}"
    ]


@pytest.mark.parametrize(
    "value", ["440.45", "-1.5", "+3", "0.50000000", "1.", ".5", "000001234567890123456789"]
)
def test_valid_decimals(value: str) -> None:
    assert decimal_problem(value) is None


@pytest.mark.parametrize(
    "value", ["2024-03-05 10:15:00", "20240230101500", "20241305101500", "20240305246000",
              "202403051015", "2024030510150０"],
)  # fmt: skip
def test_malformed_times(order: Record, value: str) -> None:
    order.head["appTime"] = value
    assert check(order) == [
        f"OrderHead 字段 appTime（报送时间） 时间格式应为 YYYYMMDDhhmmss：{value!r}"
    ]


def test_time_formats() -> None:
    assert time_ok("20240229235959", "datetime") and not time_ok("20230229000000", "datetime")
    assert time_ok("20240305", "date") and not time_ok("20240305101500", "date")
    assert time_ok("20240305101500123", "datetime_ms")
    assert time_ok("20240305101500", "receipt_time") and time_ok(
        "20240305101500123", "receipt_time"
    )


def test_exact_length_codes_and_integers(order: Record) -> None:
    order.head["currency"] = "RMB1"
    order.head["consigneeDistrict"] = "4117"
    order.lines[1]["gnum"] = "二"
    assert check(order) == [
        "OrderHead 字段 currency（币制） 长度应为 3，实际 4",
        "OrderHead 字段 consigneeDistrict（收货地址行政区划代码） 长度应为 6，实际 4",
        "OrderList[2] 字段 gnum（商品序号） 不是整数：'二'",
    ]


def test_line_counts(order: Record) -> None:
    empty = Record(order.head, [])
    assert check(empty) == ["Order 缺少表体 OrderList"]
    many = Record(order.head, [dict(order.lines[0], gnum=str(i)) for i in range(1, 101)])
    assert check(many) == ["Order 表体 OrderList 有 100 项，上限 99"]


def test_inventory_dates_and_codes() -> None:
    record = read_message((DATA / "samples/CEB621Message.xml").read_bytes()).records[0]
    record = copy.deepcopy(record)
    record.head["declTime"] = "20160308120000"  # the XSD says YYYYMMDD here
    record.lines[0]["gcode"] = "85414010"  # 8-digit tariff line without the 2 extra digits
    assert validate_record(MESSAGES["CEB621"], record) == [
        "InventoryHead 字段 declTime（申报日期） 时间格式应为 YYYYMMDD：'20160308120000'",
        "InventoryList[1] 字段 gcode（海关商品编码） 长度应为 10，实际 8",
    ]


def test_receipts_are_lenient() -> None:
    receipt = Record({
        "guid": "g" * 36, "copNo": "C1", "preNo": "B1",  # preNo shorter than the XSD's 18
        "returnStatus": "-621018 额度超限",  # opaque: values outside the list occur
        "returnTime": "20240305101500",  # 14 digits instead of 17
        "returnInfo": "",
    })  # fmt: skip
    assert validate_record(MESSAGES["CEB622"], receipt) == []
    receipt.head["returnTime"] = "2024-03-05"
    receipt.head["copNo"] = ""
    assert validate_record(MESSAGES["CEB622"], receipt) == [
        "InventoryReturn 缺少必填字段 copNo（企业内部编号）",
        "InventoryReturn 字段 returnTime（回执时间） 时间格式应为 YYYYMMDDhhmmss[SSS]："
        "'2024-03-05'",
    ]


def test_export_pod_range() -> None:
    record = read_message((DATA / "samples/CEB603Message.xml").read_bytes()).records[0]
    record.head["POD"] = "12"
    assert validate_record(MESSAGES["CEB603"], record) == [
        "InventoryHead 字段 POD 长度应为 3～4，实际 2"
    ]


def test_validate_message_numbers_records_and_checks_base_transfer() -> None:
    message = read_message((DATA / "encodings/CEB311_utf8.xml").read_bytes())
    message.base_transfer["copCode"] = ""
    message.records.append(Record(dict(message.records[0].head, orderNo=""), []))
    assert validate_message(message) == [
        (None, "BaseTransfer 缺少必填字段 copCode"),
        (2, "OrderHead 缺少必填字段 orderNo（订单编号）"),
        (2, "Order 缺少表体 OrderList"),
    ]


def test_free_text_values_are_not_echoed(order: Record) -> None:
    order.head["buyerName"] = "张" * 61
    (problem,) = check(order)
    assert "张张" not in problem and "超长：61 字符" in problem


def test_fast_pass_never_accepts_what_the_detailed_pass_rejects() -> None:
    """The one-regex fast path is only a shortcut: fuzz it against the field-by-field path."""
    from traceability.formats.ceb.validate import _detail, _plan

    rng = random.Random(20240305)
    pool = ["", "0", "1", "-1.5", "+3", "1.", ".5", ".", "+", "1e3", "12,00", "0.500000",
            "1.123456", "123456789012345678", "12345678901234.12345", "000000000000000000001",
            "20240229101500", "20230229101500", "20240431000000", "20241231235959",
            "2024123123595", "20240305101500123", "20240305", "00000101", "٣", "２", "x",
            "码" * 3, "A" * 36, "B" * 61, "C" * 1001, " 1", "1\n", "N"]  # fmt: skip
    for spec in MESSAGES.values():
        for fields in (spec.head_constraints, spec.line_constraints):
            plan = _plan(fields)
            for _ in range(300):
                values = {f.name: rng.choice(pool) for f in fields if rng.random() < 0.9}
                if plan.fast.clean(values):
                    assert _detail(plan, values, "x") == [], (spec.code, values)
