"""PIPL unmasking: public security only, with a reason, audited before any data is shown."""

from __future__ import annotations

import pytest

from tests.test_security_support import accounts_of, add_user, bearer, make_app, make_settings
from traceability.app.web import close_app
from traceability.demo.generator.files import write_world
from traceability.formats.ceb.xml import read_message
from traceability.ingest.ingestor import collect_files


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("pipl")
    write_world(40, 5, root / "world")
    app, services = make_app(make_settings(root))
    assert services.ingestor().ingest_paths(collect_files([root / "world"])).ok
    for role in ("public_security", "regulator", "admin"):
        add_user(services, role, role)
    path = next((root / "world" / "ceb" / "CEB311").glob("*.xml"))
    head = read_message(path.read_bytes()).records[0].head
    yield app, services, head
    close_app(app)


def test_public_security_unmasks_with_a_reason_and_it_is_audited(site) -> None:
    app, services, head = site
    key = f"{head['ebpCode']}:{head['orderNo']}"
    body = {
        "kind": "order",
        "key": key,
        "reason": "涉嫌走私案件侦查需要核实购买人身份",
        "case": "公刑立字〔2026〕101号",
    }
    response = app.test_client().post(
        "/api/v1/unmask", json=body, headers=bearer(services, "public_security")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    fields = response.get_json()["fields"]
    assert fields["buyerIdNumber"] == head["buyerIdNumber"]
    assert response.headers["Cache-Control"] == "no-store"
    entry = next(
        e for e in accounts_of(services).store.audit_entries(20) if e["action"] == "pii.unmask"
    )
    assert entry["actor"] == "public_security" and entry["target"] == f"order:{key}"
    assert entry["detail"]["reason"] == body["reason"] and entry["detail"]["case"]
    assert head["buyerIdNumber"] not in str(entry)  # the log names the query, not the data


def test_unmasking_needs_a_reason(site) -> None:
    app, services, head = site
    key = f"{head['ebpCode']}:{head['orderNo']}"
    response = app.test_client().post(
        "/api/v1/unmask",
        json={"kind": "order", "key": key},
        headers=bearer(services, "public_security"),
    )
    assert response.status_code == 400


@pytest.mark.parametrize("role", ["regulator", "admin"])
def test_other_roles_cannot_unmask(site, role: str) -> None:
    app, services, head = site
    body = {"kind": "order", "key": f"{head['ebpCode']}:{head['orderNo']}", "reason": "x" * 20}
    response = app.test_client().post("/api/v1/unmask", json=body, headers=bearer(services, role))
    assert response.status_code == 403
