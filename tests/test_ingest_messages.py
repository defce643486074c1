"""Status messages end to end: real XML through the Ingestor into the graph and the ledger."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from config import load_settings
from traceability.demo.generator.files import write_world
from traceability.formats.ceb.xml import Record, write_message
from traceability.ingest.ingestor import IngestReport, collect_files
from traceability.services import Services, build_services
from traceability.store.port import NodeRef


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[Services, dict]:
    manifest = write_world(120, 9, tmp_path / "world")
    services = build_services(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path / "var")}))
    report = services.ingestor().ingest_paths(collect_files([tmp_path / "world"]))
    assert report.ok, report.rejections
    yield services, manifest
    services.close()


def submit(services: Services, data: bytes) -> IngestReport:
    report = IngestReport()
    services.ingestor().ingest_bytes(data, "test", report)
    return report


def some_inventory(services: Services) -> dict:
    doc = next(iter(services.ledger.db.execute(
        "SELECT key, invt_no, order_no, buyer_hash FROM compliance_documents"
        " WHERE kind = 'inventory' AND invt_no IS NOT NULL ORDER BY key LIMIT 1"
    )))  # fmt: skip
    return dict(doc)


BASE = {"copCode": "4101960001", "copName": "测试", "dxpMode": "DXP", "dxpId": "DXPENT01",
        "note": ""}  # fmt: skip


def cancel_message(invt_no: str, order_no: str) -> bytes:
    head = {
        "guid": "A1B2C3D4-0000-4000-8000-000000000623", "appType": "1",
        "appTime": "20261101100000", "appStatus": "2", "customsCode": "4612",
        "orderNo": order_no, "ebpCode": "4101960001", "ebpName": "平台",
        "ebcCode": "4101970003", "ebcName": "电商", "logisticsNo": "L1",
        "logisticsCode": "4101990005", "logisticsName": "物流", "invtNo": invt_no,
        "buyerIdType": "1", "buyerIdNumber": "11010519491231002X", "buyerName": "张晓丽",
        "buyerTelephone": "13812345678", "agentCode": "4117960006", "agentName": "报关行",
        "reason": "消费者取消订单",
    }  # fmt: skip
    return write_message("CEB623", [Record(head)], BASE)


def test_cancellation_by_invt_no_reaches_graph_and_ledger(loaded) -> None:
    services, _ = loaded
    inventory = some_inventory(services)
    report = submit(services, cancel_message(inventory["invt_no"], inventory["order_no"]))
    assert report.ok, report.rejections
    node = services.store.get_nodes([NodeRef("Inventory", inventory["key"])])
    assert node[NodeRef("Inventory", inventory["key"])].props["cancelled"] is True
    assert services.ledger.status("inventory", inventory["key"]) == "cancelled"


def test_cancellation_lifts_the_annual_quota_finding(loaded) -> None:
    services, manifest = loaded
    assert [f["code"] for f in services.ledger.findings("ANNUAL_QUOTA_EXCEEDED")]
    quota_order = manifest["stories"]["annual_quota"]["orders"][-1].split(":")[1]
    row = dict(next(iter(services.ledger.db.execute(
        "SELECT invt_no FROM compliance_documents WHERE kind = 'inventory' AND order_no = ?",
        (quota_order,),
    ))))  # fmt: skip
    assert submit(services, cancel_message(row["invt_no"], quota_order)).ok
    assert services.ledger.findings("ANNUAL_QUOTA_EXCEEDED") == []


def test_tax_bill_lands_on_the_inventory_it_names(loaded) -> None:
    services, _ = loaded
    inventory = some_inventory(services)
    head = {"guid": "A1B2C3D4-0000-4000-8000-000000000816", "returnTime": "20261102100000",
            "invtNo": inventory["invt_no"], "taxNo": "T202611020001", "customsTax": "0",
            "valueAddedTax": "12.74", "consumptionTax": "0", "status": "1",
            "customsCode": "4612"}  # fmt: skip
    lines = [{"gnum": "1", "gcode": "1901101090", "taxPrice": "140", "customsTax": "0",
              "valueAddedTax": "12.74", "consumptionTax": "0"}]  # fmt: skip
    assert submit(services, write_message("CEB816", [Record(head, lines)], BASE)).ok
    props = services.store.get_nodes([NodeRef("Inventory", inventory["key"])])[
        NodeRef("Inventory", inventory["key"])
    ].props
    assert props["taxNo"] == "T202611020001" and props["valueAddedTax"] == "12.74"


def test_dxp_envelope_and_gbk_are_accepted(loaded, tmp_path: Path) -> None:
    services, _ = loaded
    from traceability.formats.ceb.xml import wrap_dxp

    inventory = some_inventory(services)
    gbk = cancel_message(inventory["invt_no"], inventory["order_no"])
    gbk_message = gbk.decode("utf-8").replace("UTF-8", "GB18030").encode("gb18030")
    wrapped = wrap_dxp(gbk_message, "CEB623Message", "DXPENT01", "DXPEDCCEB0000002")
    assert b"DxpMsg" in wrapped and base64.b64encode(gbk_message)[:20] in wrapped
    report = submit(services, wrapped)
    assert report.ok, report.rejections
    assert services.ledger.status("inventory", inventory["key"]) == "cancelled"


def test_invalid_status_message_is_refused_whole(loaded) -> None:
    services, _ = loaded
    bad = cancel_message("X" * 30, "O1")  # invtNo is at most 18 characters
    report = submit(services, bad)
    assert not report.ok and "invtNo" in report.rejections[0].reason
