"""The message spec: complete coverage, XSD field order, constraints read off the schemas."""

from __future__ import annotations

import pytest

from traceability.formats.ceb import spec
from traceability.formats.ceb.spec import MESSAGES, FieldSpec

IMPORT = ("CEB311", "CEB312", "CEB411", "CEB412", "CEB511", "CEB512", "CEB513", "CEB514",
          "CEB621", "CEB622", "CEB623", "CEB624", "CEB625", "CEB626", "CEB711", "CEB712",
          "CEB816")  # fmt: skip
EXPORT = ("CEB303", "CEB304", "CEB505", "CEB506", "CEB603", "CEB604")


def field(code: str, name: str, *, line: bool = False) -> FieldSpec:
    table = MESSAGES[code].line_constraints if line else MESSAGES[code].head_constraints
    return next(f for f in table if f.name == name)


def test_every_required_message_type_is_covered() -> None:
    assert set(IMPORT + EXPORT) <= set(MESSAGES)
    assert {MESSAGES[c].direction for c in IMPORT} == {"I"}
    assert {MESSAGES[c].direction for c in EXPORT} == {"E"}


@pytest.mark.parametrize(
    ("code", "record", "head", "lines"),
    [
        ("CEB311", "Order", "OrderHead", "OrderList"),
        ("CEB411", "Payment", "PaymentHead", None),
        ("CEB511", "Logistics", "LogisticsHead", None),
        ("CEB513", "LogisticsStatus", None, None),
        ("CEB621", "Inventory", "InventoryHead", "InventoryList"),
        ("CEB623", "InvtCancel", None, None),
        ("CEB625", "InvtRefund", "InvtRefundHead", "InvtRefundList"),
        ("CEB711", "Delivery", "DeliveryHead", "DeliveryList"),
        ("CEB816", "Tax", "TaxHeadRd", "TaxListRd"),
        ("CEB303", "Order", "OrderHead", "OrderList"),
        ("CEB505", "Logistics", None, None),
        ("CEB603", "Inventory", "InventoryHead", "InventoryList"),
    ],
)
def test_record_structure_follows_the_xsd(
    code: str, record: str, head: str | None, lines: str | None
) -> None:
    message = MESSAGES[code]
    assert (message.record, message.head, message.lines) == (record, head, lines)
    assert message.root == f"{code}Message"


def test_field_order_is_the_xsd_sequence() -> None:
    assert spec.ORDER_HEAD[:6] == ("guid", "appType", "appTime", "appStatus", "orderType",
                                   "orderNo")  # fmt: skip
    assert spec.ORDER_HEAD[-5:] == ("consignee", "consigneeTelephone", "consigneeAddress",
                                    "consigneeDistrict", "note")  # fmt: skip
    assert spec.INVT_CANCEL[-2:] == ("reason", "note")
    assert spec.TAX_HEAD[:4] == ("guid", "returnTime", "invtNo", "taxNo")
    assert spec.EXPORT_INVENTORY_HEAD[-4:] == ("packNo", "grossWeight", "netWeight", "note")
    assert spec.EXPORT_INVENTORY_LIST[:3] == ("gnum", "itemNo", "itemRecordNo")
    assert MESSAGES["CEB311"].head_fields == spec.ORDER_HEAD
    assert MESSAGES["CEB621"].line_fields == spec.INVENTORY_LIST


def test_public_tuples_keep_their_names_and_lengths() -> None:
    # the generator and the mapping import these; they must not drift
    assert len(spec.ORDER_HEAD) == 30 and len(spec.ORDER_LIST) == 13
    assert len(spec.PAYMENT_HEAD) == 18 and len(spec.LOGISTICS_HEAD) == 19
    assert len(spec.INVENTORY_HEAD) == 47 and len(spec.INVENTORY_LIST) == 20
    assert len(spec.INVENTORY_RETURN) == 11
    assert spec.BASE_TRANSFER_FIELDS == ("copCode", "copName", "dxpMode", "dxpId", "note")
    assert spec.MAX_RECORDS_PER_MESSAGE == 100
    assert spec.RETURN_STATUS_ZH["800"] == "放行"
    assert spec.CEB_NS.endswith("/ceb") and spec.DXP_NS.endswith("/dxp")


@pytest.mark.parametrize(
    ("code", "name", "max_length", "required", "kind", "exact"),
    [
        ("CEB311", "orderNo", 60, True, "text", False),
        ("CEB311", "guid", 36, True, "text", True),
        ("CEB311", "goodsValue", None, True, "decimal", False),
        ("CEB311", "appTime", None, True, "datetime", False),
        ("CEB311", "payCode", 18, False, "text", False),
        ("CEB311", "consigneeDistrict", 6, False, "text", True),
        ("CEB411", "telephone", 60, False, "text", False),
        ("CEB511", "freight", None, False, "decimal", False),
        ("CEB511", "packNo", 9, True, "int", False),
        ("CEB621", "declTime", None, True, "date", False),
        ("CEB621", "copNo", 20, False, "text", False),
        ("CEB621", "assureCode", 30, True, "text", False),
        ("CEB816", "customsTax", None, True, "decimal", False),
        ("CEB303", "ebpCode", 18, True, "text", False),
        ("CEB603", "ebpName", 100, False, "text", False),  # XSD: minLength 0
        ("CEB603", "ieDate", None, True, "date", False),
    ],
)
def test_head_constraints_come_from_the_xsd(
    code: str, name: str, max_length: int | None, required: bool, kind: str, exact: bool
) -> None:
    f = field(code, name)
    assert (f.max_length, f.required, f.kind, f.exact) == (max_length, required, kind, exact)


def test_line_constraints_and_limits() -> None:
    assert field("CEB621", "gcode", line=True).exact
    assert field("CEB621", "qty2", line=True) == FieldSpec("qty2", None, False, "decimal")
    assert field("CEB603", "gnum", line=True).max_length == 5  # xs:int totalDigits 5
    assert (MESSAGES["CEB311"].min_lines, MESSAGES["CEB311"].max_lines) == (1, 99)
    assert MESSAGES["CEB603"].max_lines == 100
    assert MESSAGES["CEB711"].max_records == 1 and MESSAGES["CEB711"].max_lines is None
    assert MESSAGES["CEB816"].max_records is None


def test_pod_has_a_length_range() -> None:
    pod = field("CEB603", "POD")
    assert (pod.min_length, pod.max_length, pod.exact) == (3, 4, False)


def test_receipts_are_relaxed() -> None:
    for code in ("CEB312", "CEB412", "CEB512", "CEB514", "CEB622", "CEB624", "CEB626",
                 "CEB712", "CEB304", "CEB506", "CEB604"):  # fmt: skip
        message = MESSAGES[code]
        assert message.receipt and not message.has_base_transfer
        assert field(code, "returnStatus") == FieldSpec("returnStatus", None, True)
        assert field(code, "returnTime").kind == "receipt_time"
        assert not field(code, "returnInfo").required
        assert not any(f.exact for f in message.head_constraints)
    assert MESSAGES["CEB816"].receipt  # sent by customs: no BaseTransfer
