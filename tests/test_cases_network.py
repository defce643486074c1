"""Search by entity and by network: the generated world's buyer ring, with its paths."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_cases_support import Site
from traceability.cases.access import Viewer


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    site = Site(tmp_path_factory.mktemp("cases-net"))
    orders = site.manifest["stories"]["buyer_ring"]["orders"]
    heads = [site.order_head(o) for o in orders]
    suspect = heads[0]["buyerIdNumber"]
    ps = "public_security"
    # Case A names an order of another ring buyer; case B names a third ring buyer by ID.
    a = site.call(ps, "POST", "/api/v1/cases", json={"title": "团伙案 A", "lead_unit": "police"})
    site.call(ps, "POST", f"/api/v1/cases/{a.get_json()['ref']}/entities",
              json={"kind": "order", "value": orders[3]})  # fmt: skip
    b = site.call(ps, "POST", "/api/v1/cases", json={"title": "团伙案 B", "lead_unit": "police"})
    added = site.call(ps, "POST", f"/api/v1/cases/{b.get_json()['ref']}/entities",
                      json={"kind": "buyer", "value": heads[5]["buyerIdNumber"]})  # fmt: skip
    assert added.status_code == 201, added.get_data(as_text=True)
    # Case C is unrelated: an order outside the ring.
    other = next(o for o in site.manifest["stories"]["single_limit"]["orders"])
    c = site.call(ps, "POST", "/api/v1/cases", json={"title": "无关案件", "lead_unit": "police"})
    site.call(ps, "POST", f"/api/v1/cases/{c.get_json()['ref']}/entities",
              json={"kind": "order", "value": other})  # fmt: skip
    yield {"site": site, "suspect": suspect, "heads": heads, "orders": orders,
           "refs": [x.get_json()["ref"] for x in (a, b, c)]}  # fmt: skip
    site.close()


def test_network_search_returns_the_ring_with_connecting_paths(ring) -> None:
    site = ring["site"]
    response = site.call("public_security", "POST", "/api/v1/case-search/network",
                         json={"kind": "buyer", "value": ring["suspect"]})  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json()
    found = {c["ref"]: c for c in result["cases"]}
    a, b, c = ring["refs"]
    assert a in found and b in found and c not in found
    for ref in (a, b):
        case = found[ref]
        assert case["hops"] == 2
        path = case["paths"][0]
        assert [n["kind"] for n in path["nodes"]] in (
            ["buyer", "phone", "buyer"],
            ["buyer", "address", "buyer"],
        )
        assert {e["relation"] for e in path["edges"]} <= {"收货电话", "收货地址"}
        assert all(e["via"].startswith("订单 ") for e in path["edges"])
    # Both shared identifiers connect: phone and address paths exist for the ring.
    relations = {e["relation"] for p in found[b]["paths"] for e in p["edges"]}
    relations |= {e["relation"] for p in found[a]["paths"] for e in p["edges"]}
    assert relations == {"收货电话", "收货地址"}
    assert found[a]["paths"][0]["via"] == "订单的订购人"
    # The connecting subgraph: root, the shared phone/address, the other ring buyers.
    kinds = {n["kind"] for n in result["subgraph"]["nodes"]}
    assert kinds == {"buyer", "phone", "address"}
    assert result["root"]["kind"] == "buyer"
    # One hop reaches only the identifiers, not the other buyers' cases.
    near = site.cases.search_network(_ps(), "buyer", ring["suspect"], hops=1)
    assert near["cases"] == []
    # The query is audited by the hash, never the ID number.
    entry = site.audit("case.search.network")[0]
    assert entry["actor"] == "public_security" and ring["suspect"] not in str(entry)


def test_network_search_from_the_shared_phone_and_masking(ring) -> None:
    site = ring["site"]
    phone = ring["heads"][0]["consigneeTelephone"]
    result = site.cases.search_network(_ps(), "phone", phone)
    assert {c["ref"] for c in result["cases"]} >= set(ring["refs"][:2])
    assert all(c["hops"] == 1 for c in result["cases"] if c["ref"] in ring["refs"][:2])
    # Admin sees hashes; a regulator sees only aliases and masked forms.
    as_admin = site.call("admin", "POST", "/api/v1/case-search/network",
                         json={"kind": "buyer", "value": ring["suspect"]}).get_json()  # fmt: skip
    key = site.services.hasher.id_hash(ring["suspect"])
    assert key in str(as_admin)
    as_regulator = site.call("regulator", "POST", "/api/v1/case-search/network",
                             json={"kind": "buyer", "value": ring["suspect"]})  # fmt: skip
    assert as_regulator.status_code == 200
    text = as_regulator.get_data(as_text=True)
    assert key not in text and ring["suspect"] not in text
    assert as_regulator.get_json()["cases"] == []  # not the regulator's cases


def test_entity_search_by_id_number_is_hashed_and_audited(ring) -> None:
    site = ring["site"]
    head = ring["heads"][5]
    response = site.call("public_security", "POST", "/api/v1/case-search/entity",
                         json={"kind": "buyer", "value": head["buyerIdNumber"]})  # fmt: skip
    found = response.get_json()
    assert [c["ref"] for c in found["cases"]] == [ring["refs"][1]]
    assert found["cases"][0]["matches"][0]["how"] == "直接关联"
    # Through a document: the buyer of ring order 3 is found by the order in case A.
    via_order = site.cases.search_entity(_ps(), "buyer", ring["heads"][3]["buyerIdNumber"])
    assert [c["ref"] for c in via_order["cases"]] == [ring["refs"][0]]
    assert "订单" in via_order["cases"][0]["matches"][0]["how"]
    by_order = site.cases.search_entity(_ps(), "order", ring["orders"][3])
    assert [c["ref"] for c in by_order["cases"]] == [ring["refs"][0]]
    entries = site.audit("case.search.entity")
    assert entries and all(head["buyerIdNumber"] not in str(e) for e in entries)
    assert entries[-1]["target"].startswith("buyer:")


def _ps() -> Viewer:
    return Viewer("public_security", "public_security", "police")
