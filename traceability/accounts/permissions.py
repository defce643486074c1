"""THE permission table: every endpoint of the app, and which roles may call it.

One table for every feature's endpoints.  The request guard refuses an endpoint that is
not listed (a new blueprint stays closed until someone decides who may use it), and
``tests/test_security_permissions.py`` walks the real app's URL map and fails on any
endpoint missing here.
"""

from __future__ import annotations

from collections.abc import Mapping

ROLES: dict[str, str] = {
    "admin": "系统管理员",
    "regulator": "监管人员",
    "public_security": "公安人员",
    "unit": "责任单位",
    "auditor": "审计人员",
    "submitter": "报送企业",
}

PUBLIC = frozenset({"*public*"})  # no login needed
ANY_USER = frozenset(ROLES)  # any signed-in user

_ALL = frozenset(ROLES)
READERS = frozenset({"admin", "regulator", "public_security", "unit", "auditor"})
WRITERS = frozenset({"admin", "regulator", "submitter"})  # send documents
OPINION_READERS = frozenset({"admin", "regulator", "public_security", "unit", "auditor"})
AUDIT_READERS = frozenset({"admin", "auditor"})
UNMASKERS = frozenset({"public_security"})
CASE_WORKERS = frozenset({"admin", "regulator", "public_security", "unit"})  # work a case
CASE_OPENERS = frozenset({"admin", "regulator", "public_security"})  # open, stage, merge
ALERT_HANDLERS = frozenset({"admin", "regulator", "unit"})  # acknowledge and close alerts
DECIDERS = frozenset({"admin", "regulator"})  # negative list, recall notices

# Public form endpoints authorised by a one-time, signed, expiring capability in their URL
# (the email's acknowledgement link): no session, so no CSRF token; a cross-site page cannot
# forge the POST without the token, and the cross-site check still runs before.
CAPABILITY_FORM_ENDPOINTS = frozenset({"alert_email.ack_link_confirm"})

PERMISSIONS: Mapping[str, frozenset[str]] = {
    # -- public: sign in, health, static files --------------------------------------------
    "api.health": PUBLIC,
    "static": PUBLIC,
    "ui.static": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.login_submit": PUBLIC,
    # -- accounts -------------------------------------------------------------------------
    "accounts.logout": ANY_USER,
    "accounts.whoami": ANY_USER,
    "accounts.audit_log": AUDIT_READERS,
    "accounts.unmask": UNMASKERS,
    # -- core API and console -------------------------------------------------------------
    "api.openapi": ANY_USER,
    "api.trace": READERS,
    "api.recall": READERS,
    "api.findings": READERS,
    "api.ceb_message": WRITERS,
    "ui.index": READERS,
    "ui.trace_page": READERS,
    "ui.recall_page": READERS,
    "ui.findings_page": READERS,
    # -- EPCIS ----------------------------------------------------------------------------
    "epcis.capture": WRITERS,
    "epcis.capture_event": WRITERS,
    "epcis.capture_job": WRITERS | AUDIT_READERS,
    "epcis.events": READERS,
    "epcis.event": READERS,
    # -- opinions -------------------------------------------------------------------------
    "opinions.page": OPINION_READERS,
    "opinions.api_search": OPINION_READERS,
    "opinions.api_signals": OPINION_READERS,
    "opinions.api_trend": OPINION_READERS,
    # -- statistics -----------------------------------------------------------------------
    "stats.page": READERS,
    "stats.api_months": READERS,
    "stats.api_month": READERS,
    "stats.api_index": READERS,
    "stats.api_period": READERS,
    "stats.api_releases": READERS,
    "stats.api_revisions": READERS,
    "stats_public.page": PUBLIC,  # 有序公开: 404 unless [statistics] public_page = true
    # -- risk and alerts ------------------------------------------------------------------
    "risk.overview_page": READERS,
    "risk.list_risks": READERS,
    "risk.risks_overview": READERS,
    "risk.explain_risk": READERS,
    "risk.list_runs": READERS,
    "risk.list_alerts": READERS,
    "risk.ack_alert": ALERT_HANDLERS,
    "risk.close_alert": ALERT_HANDLERS,
    "risk.list_grades": READERS,
    "risk.show_grade": READERS,
    "risk.negative_list": READERS,
    "risk.negative_add": DECIDERS,
    "risk.negative_remove": DECIDERS,
    "risk.notices": READERS,
    "risk.notice_add": DECIDERS,
    "risk.notice_withdraw": DECIDERS,
    # -- alert emails (alerts/notify/web.py) -------------------------------------------------
    "alert_email.email_history": READERS,
    "alert_email.list_silences": READERS,
    "alert_email.add_silence": DECIDERS,
    "alert_email.expire_silence": DECIDERS,
    "alert_email.alert_page": READERS,
    "alert_email.email_page": READERS,
    "alert_email.email_body": READERS,
    "alert_email.ack_link_page": PUBLIC,  # GET: a confirmation page only, never acts
    "alert_email.ack_link_confirm": PUBLIC,  # POST: authorised by the signed token
    # -- risk cases (traceability/cases/web.py); the service narrows what each role sees ----
    "cases.list_cases": READERS,
    "cases.open_case": CASE_OPENERS,
    "cases.show_case": READERS,
    "cases.update_case": CASE_OPENERS,
    "cases.advance_case": CASE_OPENERS,
    "cases.merge_alerts": CASE_OPENERS,
    "cases.add_entity": CASE_WORKERS,
    "cases.add_evidence": CASE_WORKERS,
    "cases.upload_file": CASE_WORKERS,
    "cases.show_evidence": READERS,
    "cases.download_file": READERS,
    "cases.add_task": CASE_WORKERS,
    "cases.set_task": CASE_WORKERS,
    "cases.add_comment": CASE_WORKERS,
    "cases.unmask_entity": UNMASKERS,
    "cases.export_case": READERS,
    "cases.my_notifications": READERS,
    "cases.search_entity": READERS,
    "cases.search_network": READERS,
    "cases.cases_page": READERS,
    "cases.network_page": READERS,
    "cases.case_page": READERS,
}

# Console endpoints that take urlencoded forms (protected by the CSRF token instead of
# the API's content-type rule).
FORM_ENDPOINTS = frozenset({"accounts.login_submit", "accounts.logout"})
# Roles that may send documents on behalf of any enterprise (no ownership check).
TRUSTED_SUBMITTERS = frozenset({"admin", "regulator"})


def allowed(endpoint: str | None, role: str | None) -> bool:
    """May ``role`` (None = anonymous) call ``endpoint``?  Unknown endpoints: never."""
    roles = PERMISSIONS.get(endpoint or "")
    if roles is None:
        return False
    if roles is PUBLIC:
        return True
    return role is not None and role in roles


def is_public(endpoint: str | None) -> bool:
    return PERMISSIONS.get(endpoint or "") is PUBLIC
