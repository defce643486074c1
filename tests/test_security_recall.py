"""The recall-erasure attack: deleting or retracting another enterprise's documents.

A CEB message with appType 3 marks an order deleted, and an EPCIS errorDeclaration
retracts an event; either shrinks a recall.  Anonymous callers and enterprises other
than the sender must not be able to do either.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.test_security_support import add_user, bearer, make_app, make_settings
from traceability.app.web import close_app
from traceability.demo.generator.files import write_world
from traceability.formats.ceb.xml import Record, read_message, write_message
from traceability.ingest.ingestor import collect_files

OUTSIDER = "91410100MA00000001"
XML = "application/xml"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("recall")
    manifest = write_world(120, 9, root / "world")
    app, services = make_app(make_settings(root))
    report = services.ingestor().ingest_paths(collect_files([root / "world"]))  # trusted
    assert report.ok, report.rejections
    yield app, services, manifest, root / "world"
    close_app(app)


def _order_record(folder: Path, order_key: str):
    ebp, order_no = order_key.split(":", 1)
    for path in sorted((folder / "ceb" / "CEB311").glob("*.xml")):
        message = read_message(path.read_bytes())
        for record in message.records:
            if record.head["ebpCode"] == ebp and record.head["orderNo"] == order_no:
                return record, message.base_transfer
    raise AssertionError(order_key)


def _message(record: Record, base: dict, **changes: str) -> bytes:
    changed = Record({**record.head, **changes}, copy.deepcopy(record.lines))
    return write_message("CEB311", [changed], base, guid=changed.head["guid"])


def _recall(services, batch: str) -> str:
    return json.dumps(services.trace.recall([batch]), sort_keys=True, ensure_ascii=False)


def test_outsiders_cannot_delete_or_retract_and_the_recall_is_unchanged(world) -> None:
    app, services, manifest, folder = world
    defective = manifest["stories"]["defective_lot"]
    batch, order_key = defective["batch"], defective["sample_orders"][0]
    before = _recall(services, batch)
    record, base = _order_record(folder, order_key)
    delete = _message(record, base, appType="3")
    add_user(services, "outsider", "submitter", OUTSIDER)
    add_user(services, "seller", "submitter", record.head["ebcCode"])  # a party to the order
    http = app.test_client()

    anonymous = http.post("/api/v1/ceb", data=delete, content_type=XML)
    assert anonymous.status_code == 401
    outsider = http.post(
        "/api/v1/ceb", data=delete, content_type=XML, headers=bearer(services, "outsider")
    )
    assert outsider.status_code == 403 and "不涉及本企业" in outsider.get_json()["detail"]
    # named in the order, but it did not send it: may not delete it either
    seller = http.post(
        "/api/v1/ceb", data=delete, content_type=XML, headers=bearer(services, "seller")
    )
    assert seller.status_code == 403 and "不是本企业报送" in seller.get_json()["detail"]
    change = _message(record, base, appType="2", consignee="某某")
    assert (
        http.post(
            "/api/v1/ceb", data=change, content_type=XML, headers=bearer(services, "seller")
        ).status_code
        == 403
    )
    # and not through the EPCIS side either: declare the lot's production event in error
    document, event = _retraction(folder, batch)
    for who in ("outsider", "seller"):
        retract = http.post(
            "/epcis/events",
            data=json.dumps(event),
            headers=bearer(services, who),
            content_type="application/ld+json",
        )
        assert retract.status_code == 403, retract.get_data(as_text=True)
    retract_doc = {**document, "epcisBody": {"eventList": [event]}}
    job = http.post(
        "/epcis/capture",
        data=json.dumps(retract_doc),
        headers=bearer(services, "outsider"),
        content_type="application/ld+json",
    )
    assert job.status_code == 403
    # an EPCIS document sent to the CEB endpoint is refused for enterprises too
    via_ceb = http.post(
        "/api/v1/ceb",
        data=json.dumps(retract_doc).encode(),
        content_type="application/json",
        headers=bearer(services, "outsider"),
    )
    assert via_ceb.status_code == 403
    assert _recall(services, batch) == before
    assert services.ledger.status("order", order_key) == "active"


def _retraction(folder: Path, batch: str) -> tuple[dict, dict]:
    """The EPCIS event that made the defective lot into products, declared in error."""
    lot = batch.split(":", 1)[1]
    for path in sorted((folder / "epcis").glob("*.jsonld")):
        document = json.loads(path.read_text(encoding="utf-8"))
        for original in document["epcisBody"]["eventList"]:
            if lot in json.dumps(original) and original.get("type") == "TransformationEvent":
                event = {**original, "@context": document["@context"]}
                event["errorDeclaration"] = {
                    "declarationTime": "2026-11-01T00:00:00Z",
                    "reason": "urn:epcglobal:cbv:er:incorrect_data",
                }
                return document, event
    raise AssertionError(f"no transformation event for {batch}")


def test_an_enterprise_may_change_its_own_documents_only(world) -> None:
    app, services, manifest, folder = world
    order_key = manifest["stories"]["defective_lot"]["sample_orders"][-1]
    record, base = _order_record(folder, order_key)
    platform = record.head["ebpCode"]
    add_user(services, "platform", "submitter", platform)
    add_user(services, "shop", "submitter", record.head["ebcCode"])
    http = app.test_client()
    fresh = {"orderNo": record.head["orderNo"] + "X", "guid": "0" * 8 + record.head["guid"][8:]}
    new = _message(record, base, **fresh)
    sent = http.post(
        "/api/v1/ceb", data=new, content_type=XML, headers=bearer(services, "platform")
    )
    assert sent.status_code == 200, sent.get_data(as_text=True)
    delete = _message(record, base, appType="3", **fresh)
    other = http.post(
        "/api/v1/ceb", data=delete, content_type=XML, headers=bearer(services, "shop")
    )
    assert other.status_code == 403 and "其他企业" in other.get_json()["detail"]
    own = http.post(
        "/api/v1/ceb", data=delete, content_type=XML, headers=bearer(services, "platform")
    )
    assert own.status_code == 200, own.get_data(as_text=True)
    key = f"{platform}:{fresh['orderNo']}"
    assert services.ledger.status("order", key) == "deleted"


def test_a_regulator_may_delete_and_that_does_change_the_recall(world) -> None:
    """The control: the attack above would have mattered."""
    app, services, manifest, folder = world
    defective = manifest["stories"]["defective_lot"]
    batch, order_key = defective["batch"], defective["sample_orders"][0]
    before = _recall(services, batch)
    record, base = _order_record(folder, order_key)
    add_user(services, "customs", "regulator")
    response = app.test_client().post(
        "/api/v1/ceb",
        data=_message(record, base, appType="3"),
        content_type=XML,
        headers=bearer(services, "customs"),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert services.ledger.status("order", order_key) == "deleted"
    _, event = _retraction(folder, batch)
    retract = app.test_client().post(
        "/epcis/events",
        data=json.dumps(event),
        content_type="application/ld+json",
        headers=bearer(services, "customs"),
    )
    assert retract.status_code in (201, 409), retract.get_data(as_text=True)
    assert _recall(services, batch) != before
