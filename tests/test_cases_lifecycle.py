"""The case workflow end to end: from alerts to a closed case whose outcome feeds precision."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from sentiment.search.port import OpinionDoc
from tests.test_cases_support import Site
from traceability.app.context import Context
from traceability.cases.access import Viewer
from traceability.cases.cli import case_group
from traceability.cases.feature import feature
from traceability.errors import NotFound


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = Site(tmp_path_factory.mktemp("cases-life"))
    yield built
    built.close()


def test_alerts_promoted_merged_worked_and_closed_feed_rule_precision(site: Site) -> None:
    alerts = site.risk.alerts(status="open")
    first, second = alerts[0], alerts[1]
    before = site.risk.precision()
    opened = site.call("public_security", "POST", "/api/v1/cases",
                       json={"alerts": [first["id"]], "assignee": "public_security"})  # fmt: skip
    assert opened.status_code == 201, opened.get_data(as_text=True)
    case = opened.get_json()
    ref = case["ref"]
    assert case["stage"] == "new" and case["lead_unit"] == first["lead"][0]
    assert site.risk.alert(first["id"])["status"] == "acknowledged"
    # The same alert cannot be in two cases.
    again = site.call("public_security", "POST", "/api/v1/cases", json={"alerts": [first["id"]]})
    assert again.status_code == 409
    merged = site.call("public_security", "POST", f"/api/v1/cases/{ref}/alerts",
                       json={"alerts": [second["id"]]})  # fmt: skip
    assert merged.status_code == 200, merged.get_data(as_text=True)
    task = site.call(
        "public_security",
        "POST",
        f"/api/v1/cases/{ref}/tasks",
        json={"title": "调取支付流水", "owner": "unit", "due": "2099-01-01T12:00"},
    )
    assert task.status_code == 201 and task.get_json()["overdue"] is False
    done = site.call("unit", "POST", f"/api/v1/cases/{ref}/tasks/{task.get_json()['id']}",
                     json={"status": "done"})  # fmt: skip
    assert done.status_code == 200 and done.get_json()["status"] == "done"  # the task's owner
    for stage in ("investigating", "measures_taken"):
        moved = site.call("public_security", "POST", f"/api/v1/cases/{ref}/stage",
                          json={"stage": stage})  # fmt: skip
        assert moved.status_code == 200 and moved.get_json()["stage"] == stage
    backwards = site.call("public_security", "POST", f"/api/v1/cases/{ref}/stage",
                          json={"stage": "investigating"})  # fmt: skip
    assert backwards.status_code == 409
    no_resolution = site.call("public_security", "POST", f"/api/v1/cases/{ref}/stage",
                              json={"stage": "closed"})  # fmt: skip
    assert no_resolution.status_code == 400
    closed = site.call(
        "public_security",
        "POST",
        f"/api/v1/cases/{ref}/stage",
        json={"stage": "closed", "resolution": "true_positive", "note": "已查实"},
    )
    assert closed.status_code == 200, closed.get_data(as_text=True)
    body = closed.get_json()
    assert body["stage"] == "closed" and body["resolution"] == "true_positive"
    assert body["investigating_at"] and body["measures_at"] and body["closed_at"]
    for alert in (first, second):
        assert site.risk.alert(alert["id"])["outcome"] == "confirmed"
    after = site.risk.precision()
    gained = Counter({first["rule"]: 1}) + Counter({second["rule"]: 1})
    for rule, count in gained.items():
        old = before.get(rule, {}).get("confirmed", 0)
        assert after[rule]["confirmed"] == old + count
        assert after[rule]["precision"] is not None
    # A closed case takes no more changes.
    late = site.call("public_security", "POST", f"/api/v1/cases/{ref}/tasks",
                     json={"title": "x", "owner": "unit", "due": "2099-01-01"})  # fmt: skip
    assert late.status_code == 409


def test_false_positive_counts_against_precision_and_duplicate_does_not(site: Site) -> None:
    open_alerts = site.risk.alerts(status="open")
    fp_alert, dup_alert = open_alerts[0], open_alerts[1]
    before = site.risk.precision()
    for alert, resolution in ((fp_alert, "false_positive"), (dup_alert, "duplicate")):
        ref = site.cases.open(site_viewer(site), {"alerts": [alert["id"]]})["ref"]
        site.cases.advance(site_viewer(site), ref, "closed", resolution)
    after = site.risk.precision()
    fp_rule = fp_alert["rule"]
    assert after[fp_rule]["false_positive"] == before.get(fp_rule, {}).get("false_positive", 0) + 1
    assert site.risk.alert(fp_alert["id"])["outcome"] == "false_positive"
    assert site.risk.alert(dup_alert["id"])["outcome"] is None  # a duplicate is not judged


def site_viewer(site: Site) -> Viewer:
    return Viewer("public_security", "public_security", "police")


def test_timeline_is_the_audit_log(site: Site) -> None:
    case = site.call("regulator", "POST", "/api/v1/cases",
                     json={"title": "某跨境店铺疑似售假", "category": "fraud",
                           "level": "high", "lead_unit": "samr"}).get_json()  # fmt: skip
    ref = case["ref"]
    site.call("regulator", "PATCH", f"/api/v1/cases/{ref}", json={"assignee": "regulator"})
    site.call("regulator", "POST", f"/api/v1/cases/{ref}/comments",
              json={"body": "请 @unit 与 @police 协查，@nobody 不存在"})  # fmt: skip
    shown = site.call("regulator", "GET", f"/api/v1/cases/{ref}").get_json()
    actions = [t["action"] for t in shown["timeline"]]
    assert actions == ["open", "update", "comment"]
    entries = {e["seq"]: e for e in site.services.feature("accounts").store.audit_entries(10_000)}
    for event in shown["timeline"]:
        entry = entries[event["audit_seq"]]
        assert entry["action"] == f"case.{event['action']}"
        assert entry["target"] == f"case:{case['id']}" and entry["actor"] == "regulator"
    ok, problem = site.services.feature("accounts").store.verify_audit()
    assert problem is None and ok > 0
    mentions = shown["comments"][0]["mentions"]
    assert {(m["name"], m["kind"]) for m in mentions} == {("unit", "user"), ("police", "unit")}
    assert [n["reason"] for n in site.cases.notifications("unit")] == ["mention"]
    assert site.cases.notifications("nobody") == []
    inbox = site.call("unit", "GET", "/api/v1/case-notifications").get_json()
    assert [n["ref"] for n in inbox["notifications"]] == [ref]  # the mention shows the case
    assert ref in site.call("unit", "GET", "/cases").get_data(as_text=True)


def test_overdue_task_escalates_once_and_filters_find_it(site: Site) -> None:
    case = site.call("public_security", "POST", "/api/v1/cases",
                     json={"title": "逾期任务测试", "lead_unit": "police"}).get_json()  # fmt: skip
    ref = case["ref"]
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat()
    body = {"title": "约谈平台", "owner": "unit", "due": past}
    task = site.call("public_security", "POST", f"/api/v1/cases/{ref}/tasks", json=body).get_json()
    assert task["overdue"] is True
    overdue = site.call("public_security", "GET", "/api/v1/cases?overdue=1").get_json()
    assert ref in {c["ref"] for c in overdue["cases"]}
    (job,) = feature.jobs(site.services)  # type: ignore[misc]  # the worker's job
    assert job.id == "cases.escalate" and job.seconds > 0
    first = job.run()
    assert first["escalated"] >= 1
    assert site.cases.escalate()["escalated"] == 0  # once per task
    shown = site.cases.show(site_viewer(site), ref)
    assert shown["tasks"][0]["escalated_at"]
    assert "task.escalate" in [t["action"] for t in shown["timeline"]]


def test_filters_text_search_and_visibility(site: Site) -> None:
    site.call("public_security", "POST", "/api/v1/cases",
              json={"title": "奶粉走私团伙", "level": "serious", "lead_unit": "police",
                    "description": "涉嫌利用他人身份信息拆单"})  # fmt: skip
    found = site.call("public_security", "GET", "/api/v1/cases?q=身份信息").get_json()["cases"]
    assert [c["title"] for c in found] == ["奶粉走私团伙"]
    short = site.call("public_security", "GET", "/api/v1/cases?q=奶粉").get_json()["cases"]
    assert [c["title"] for c in short] == ["奶粉走私团伙"]
    # Dates without a time are Beijing time (UTC+8), as the console's date inputs mean them.
    today = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).date().isoformat()
    dated = site.call("public_security", "GET", f"/api/v1/cases?from={today}&to={today}")
    assert "奶粉走私团伙" in {c["title"] for c in dated.get_json()["cases"]}
    future = site.call("public_security", "GET", "/api/v1/cases?from=2099-01-01").get_json()
    assert future["cases"] == []
    serious = site.call("public_security", "GET", "/api/v1/cases?level=serious").get_json()
    assert all(c["level"] == "serious" for c in serious["cases"])
    by_unit = site.call("admin", "GET", "/api/v1/cases?unit=samr").get_json()["cases"]
    assert by_unit and all("samr" in [c["lead_unit"], *c["cooperating"]] for c in by_unit)
    # The unit (samr) sees the cases it leads or cooperates on, or owns a task of; no others.
    unit_cases = site.call("unit", "GET", "/api/v1/cases").get_json()["cases"]
    assert {c["ref"] for c in by_unit} <= {c["ref"] for c in unit_cases}
    for case in unit_cases:
        full = site.call("admin", "GET", f"/api/v1/cases/{case['ref']}").get_json()
        owners = {t["owner"] for t in full["tasks"]}
        assert "samr" in [case["lead_unit"], *case["cooperating"]] or "unit" in owners
    # The regulator (category fraud) sees that category, and the cases it opened.
    regulator = site.call("regulator", "GET", "/api/v1/cases").get_json()["cases"]
    assert regulator and all(
        c["category"] == "fraud" or c["created_by"] == "regulator" for c in regulator
    )
    hidden = next(c for c in site.call("admin", "GET", "/api/v1/cases").get_json()["cases"]
                  if c["title"] == "奶粉走私团伙")  # fmt: skip
    assert site.call("regulator", "GET", f"/api/v1/cases/{hidden['ref']}").status_code == 404
    assert site.call("submitter", "GET", "/api/v1/cases").status_code == 403
    assert site.call("auditor", "POST", "/api/v1/cases", json={"title": "x"}).status_code == 403


def test_cli_list_show_export(site: Site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    case = site.cases.open(site_viewer(site), {"title": "命令行导出测试", "lead_unit": "police"})
    context = Context(None)
    context._services = site.services  # the command's services: this site's
    runner = CliRunner()
    listed = runner.invoke(case_group, ["list", "--json", "--user", "public_security"],
                           obj=context)  # fmt: skip
    assert listed.exit_code == 0, listed.output
    assert "命令行导出测试" in listed.output
    shown = runner.invoke(case_group, ["show", case["ref"]], obj=context)
    assert shown.exit_code == 0 and case["ref"] in shown.output
    out = tmp_path / "case.html"
    exported = runner.invoke(case_group, ["export", case["ref"], "-o", str(out),
                                          "--user", "public_security"], obj=context)  # fmt: skip
    assert exported.exit_code == 0, exported.output
    assert "命令行导出测试" in out.read_text(encoding="utf-8")
    assert site.audit("case.export")[0]["target"] == f"case:{case['id']}"
    missing = runner.invoke(case_group, ["show", "AJ1999-00001"], obj=context)
    assert isinstance(missing.exception, NotFound)


def test_document_finding_and_note_evidence(site: Site) -> None:
    ref = site.cases.open(site_viewer(site), {"title": "证据类型测试"})["ref"]
    archive = site.cases.archive
    document = next(p for p in sorted(archive.rglob("*.xml")))
    relative = document.relative_to(archive).as_posix()
    added = site.call("public_security", "POST", f"/api/v1/cases/{ref}/evidence",
                      json={"kind": "document", "ref": relative})  # fmt: skip
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.get_json()["size"] == document.stat().st_size
    escape = site.call("public_security", "POST", f"/api/v1/cases/{ref}/evidence",
                       json={"kind": "document", "ref": "../qtrace.db"})  # fmt: skip
    assert escape.status_code == 404
    finding = site.services.ledger.findings(include_resolved=True)[0]
    copied = site.call("public_security", "POST", f"/api/v1/cases/{ref}/evidence",
                       json={"kind": "finding", "ref": str(finding["id"])})  # fmt: skip
    assert copied.status_code == 201 and copied.get_json()["snapshot"]["id"] == finding["id"]
    note = site.call(
        "public_security",
        "POST",
        f"/api/v1/cases/{ref}/evidence",
        json={"kind": "note", "title": "调查结论", "text": "同一收货地址多人下单"},
    )
    assert note.status_code == 201
    found = site.call("public_security", "GET", "/api/v1/cases?q=调查结论").get_json()["cases"]
    assert ref in {c["ref"] for c in found}


def test_opinion_post_evidence_is_copied_from_the_index(site: Site) -> None:
    when = dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC)
    doc = OpinionDoc(
        doc_id="case-post-1", url="http://bbs.test/1", canonical_url="http://bbs.test/1",
        source="论坛", title="奶粉结块投诉", text="买的奶粉打开就结块。", published=when,
        fetched=when, sentiment="negative", score=0.1,  # type: ignore[arg-type]
    )  # fmt: skip
    site.services.feature("opinions").search.index([doc])
    ref = site.cases.open(site_viewer(site), {"title": "舆情证据测试"})["ref"]
    added = site.call("public_security", "POST", f"/api/v1/cases/{ref}/evidence",
                      json={"kind": "post", "ref": "case-post-1"})  # fmt: skip
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.get_json()["snapshot"]["title"] == "奶粉结块投诉"
    missing = site.call("public_security", "POST", f"/api/v1/cases/{ref}/evidence",
                        json={"kind": "post", "ref": "nope"})  # fmt: skip
    assert missing.status_code == 404
