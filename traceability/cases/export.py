"""The case file: one self-contained HTML document (or its PDF print), masked for the role
that exports it.

It holds the case, the trace pictures of its snapshots (inline SVG, drawn from the
snapshot, never from today's graph), the evidence list with checksums, the tasks and the
timeline.  Every export is audited (``case.export``) and appears on the timeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from traceability.app.pdf import find_browser, render_pdf
from traceability.app.web.picture import BOX_H, BOX_W, lay_out
from traceability.cases.access import Viewer, mask_snapshot
from traceability.cases.db import iso, now_utc
from traceability.cases.service import EVIDENCE_KINDS, CaseService


def export_context(
    service: CaseService, viewer: Viewer, ref: str | int, fmt: str = "html"
) -> dict[str, Any]:
    """The case as the export shows it; writes the audit entry and the timeline event."""
    case = service.case(viewer, ref)
    service.record(case["id"], viewer.name, "export", {"format": fmt, "role": viewer.role})
    case = service.show(viewer, case["id"])
    pictures = []
    for item in case["evidence"]:
        if item["kind"] == "trace":
            full = service.evidence(viewer, case["id"], item["id"])
            pictures.append((item, lay_out(mask_snapshot(full["snapshot"], viewer))))
    return {"case": case, "pictures": pictures, "exported_at": iso(now_utc()),
            "viewer": viewer, "evidence_kinds": EVIDENCE_KINDS, "box_w": BOX_W,
            "box_h": BOX_H}  # fmt: skip


_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)


def export_html(service: CaseService, viewer: Viewer, ref: str | int, fmt: str = "html") -> str:
    """No app context needed: the API and ``qtrace case export`` both call this."""
    template = _TEMPLATES.get_template("case_export.html")
    return template.render(**export_context(service, viewer, ref, fmt))


def export_pdf(service: CaseService, viewer: Viewer, ref: str | int) -> bytes:
    """The same case file printed to PDF (see :mod:`traceability.app.pdf`)."""
    settings = service.settings
    browser = find_browser(settings.pdf_browser)
    if browser is None:  # refuse before the export is recorded
        render_pdf("", None)
    html = export_html(service, viewer, ref, "pdf")
    return render_pdf(html, browser, settings.pdf_timeout_seconds)
