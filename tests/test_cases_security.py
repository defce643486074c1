"""Roles, masking, audit and evidence integrity of cases: views, exports, unmask, files."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_cases_support import Site
from traceability.store.port import Node

PS = "public_security"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    site = Site(tmp_path_factory.mktemp("cases-sec"))
    order = site.manifest["stories"]["buyer_ring"]["orders"][0]
    head = site.order_head(order)
    case = site.call(
        PS,
        "POST",
        "/api/v1/cases",
        json={"title": "刷单团伙", "category": "fraud", "lead_unit": "police"},
    )
    ref = case.get_json()["ref"]
    for kind, value in (("buyer", head["buyerIdNumber"]), ("order", order),
                        ("phone", head["consigneeTelephone"])):  # fmt: skip
        added = site.call(PS, "POST", f"/api/v1/cases/{ref}/entities",
                          json={"kind": kind, "value": value})  # fmt: skip
        assert added.status_code == 201, added.get_data(as_text=True)
    snap = site.call(PS, "POST", f"/api/v1/cases/{ref}/evidence",
                     json={"kind": "trace", "trace_kind": "order", "key": order})  # fmt: skip
    assert snap.status_code == 201, snap.get_data(as_text=True)
    yield {"site": site, "ref": ref, "case_id": case.get_json()["id"], "order": order,
           "head": head, "snapshot": snap.get_json()}  # fmt: skip
    site.close()


def _hash(world: dict[str, Any]) -> str:
    return world["site"].services.hasher.id_hash(world["head"]["buyerIdNumber"])


def test_views_mask_personal_data_per_role(world) -> None:
    site, ref = world["site"], world["ref"]
    clear = (world["head"]["buyerIdNumber"], world["head"]["consigneeTelephone"])
    seen_by_ps = site.call(PS, "GET", f"/api/v1/cases/{ref}").get_json()
    buyer = next(e for e in seen_by_ps["entities"] if e["kind"] == "buyer")
    assert buyer["key"] == _hash(world) and "*" in buyer["display"]
    # The regulator of the category sees the case, masked: no hash, no cleartext.
    response = site.call("regulator", "GET", f"/api/v1/cases/{ref}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert _hash(world) not in text and all(c not in text for c in clear)
    assert all(e["key"] == "（已脱敏）" for e in response.get_json()["entities"] if e["personal"])
    assert all(c not in seen_by_ps.__repr__() for c in clear)
    # Trace snapshots are masked the same way for the regulator.
    evidence = site.call("regulator", "GET",
                         f"/api/v1/cases/{ref}/evidence/{world['snapshot']['id']}")  # fmt: skip
    nodes = evidence.get_json()["snapshot"]["nodes"]
    buyers = [n for n in nodes if n["label"] == "Buyer"]
    assert buyers and all(n["key"] == "（已脱敏）" for n in buyers)
    assert _hash(world) not in evidence.get_data(as_text=True)
    page = site.call("regulator", "GET", f"/cases/{ref}")
    assert page.status_code == 200 and _hash(world) not in page.get_data(as_text=True)
    # The unit (samr) is not on this case: it does not exist for them.
    assert site.call("unit", "GET", f"/api/v1/cases/{ref}").status_code == 404


def test_export_is_masked_for_the_exporting_role_and_audited(world) -> None:
    site, ref = world["site"], world["ref"]
    mine = site.call(PS, "GET", f"/api/v1/cases/{ref}/export")
    assert mine.status_code == 200 and mine.mimetype == "text/html"
    html = mine.get_data(as_text=True)
    assert "刷单团伙" in html and "公安人员" in html and "<svg" in html
    assert _hash(world) in html and world["head"]["buyerIdNumber"] not in html
    theirs = site.call("regulator", "GET", f"/api/v1/cases/{ref}/export").get_data(as_text=True)
    assert "监管人员" in theirs and _hash(world) not in theirs
    assert world["head"]["buyerIdNumber"] not in theirs
    entries = site.audit("case.export")
    assert {(e["actor"], e["target"]) for e in entries} >= {
        (PS, f"case:{world['case_id']}"),
        ("regulator", f"case:{world['case_id']}"),
    }
    timeline = site.call(PS, "GET", f"/api/v1/cases/{ref}").get_json()["timeline"]
    assert [t["actor"] for t in timeline if t["action"] == "export"] == [PS, "regulator"]


def test_unmask_needs_public_security_and_a_reason_and_is_audited(world) -> None:
    site, ref = world["site"], world["ref"]
    shown = site.call(PS, "GET", f"/api/v1/cases/{ref}").get_json()
    buyer = next(e for e in shown["entities"] if e["kind"] == "buyer")
    no_reason = site.call(PS, "POST", f"/api/v1/cases/{ref}/unmask", json={"entity": buyer["id"]})
    assert no_reason.status_code == 400
    refused = site.call(
        "regulator",
        "POST",
        f"/api/v1/cases/{ref}/unmask",
        json={"entity": buyer["id"], "reason": "核实购买人身份需要查询"},
    )
    assert refused.status_code == 403
    ok = site.call(
        PS,
        "POST",
        f"/api/v1/cases/{ref}/unmask",
        json={"entity": buyer["id"], "reason": "团伙案件侦查需要核实购买人身份"},
    )
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert ok.get_json()["fields"]["buyerIdNumber"] == world["head"]["buyerIdNumber"]
    entry = site.audit("pii.unmask")[0]
    assert entry["actor"] == PS and entry["detail"]["case"] == ref
    assert world["head"]["buyerIdNumber"] not in str(entry)
    assert site.audit("case.unmask")[0]["target"] == f"case:{world['case_id']}"


def test_evidence_snapshot_does_not_change_when_the_data_does(world) -> None:
    site, ref = world["site"], world["ref"]
    before = site.call(PS, "GET", f"/api/v1/cases/{ref}/evidence/{world['snapshot']['id']}")
    snapshot = before.get_json()["snapshot"]
    site.services.store.upsert([Node("Order", world["order"], {"orderNote": "事后修改"})], [])
    fresh = site.services.trace.trace("order", world["order"])
    assert any(n["props"].get("orderNote") == "事后修改" for n in fresh["nodes"])
    after = site.call(PS, "GET", f"/api/v1/cases/{ref}/evidence/{world['snapshot']['id']}")
    assert after.get_json()["snapshot"] == snapshot
    assert "事后修改" not in after.get_data(as_text=True)
    assert after.get_json()["sha256"] == world["snapshot"]["sha256"]


def test_uploads_are_type_checked_size_limited_and_private(world) -> None:
    site, ref = world["site"], world["ref"]
    pdf = b"%PDF-1.4\n% test evidence\n%%EOF\n"
    up = site.call(PS, "POST", f"/api/v1/cases/{ref}/files?name=笔录.pdf", data=pdf,
                   content_type="application/pdf")  # fmt: skip
    assert up.status_code == 201, up.get_data(as_text=True)
    item = up.get_json()
    assert item["media_type"] == "application/pdf" and item["size"] == len(pdf)
    stored = site.cases.files_dir / item["sha256"]
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(site.cases.files_dir.stat().st_mode) == 0o700
    down = site.call(PS, "GET", f"/api/v1/cases/{ref}/files/{item['id']}")
    assert down.status_code == 200 and down.data == pdf
    exe = site.call(
        PS,
        "POST",
        f"/api/v1/cases/{ref}/files?name=a.pdf",
        data=b"MZ\x90\x00\x03\x00\x00\x00",
        content_type="application/pdf",
    )
    assert exe.status_code == 400
    big = b"%PDF-" + b"0" * site.cases.settings.max_file_bytes
    too_big = site.call(PS, "POST", f"/api/v1/cases/{ref}/files?name=b.pdf", data=big,
                        content_type="application/pdf")  # fmt: skip
    assert too_big.status_code == 413
    form = site.call(PS, "POST", f"/api/v1/cases/{ref}/files", data={"f": "x"})
    assert form.status_code == 415  # API endpoints refuse form bodies (guard)
    actions = [t["action"] for t in site.cases.timeline(world["case_id"])]
    assert actions.count("evidence") == 2 and "download" in actions
