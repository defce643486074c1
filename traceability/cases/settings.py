"""The ``[cases]`` settings section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CasesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Largest file an investigator may upload (bytes); larger ones are refused (413).
    max_file_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    # Accepted upload types (detected from the content, not the name).
    file_types: list[str] = Field(
        default_factory=lambda: ["application/pdf", "image/png", "image/jpeg", "text/plain"]
    )
    # Network search: most hops from the root, and identifiers (phone, address, account)
    # shared by more parties than this are hubs (a warehouse, a platform) and not walked.
    network_hops: int = Field(2, ge=1, le=4)
    max_shared: int = Field(50, ge=2, le=100_000)
    # Regulators see the cases of their categories: user name -> categories.  A regulator
    # not listed here sees the categories named in the user's ``enterprise`` field
    # (comma-separated), else none.
    regulator_categories: dict[str, list[str]] = Field(default_factory=dict)
    # PDF export: the headless Chromium executable (empty: chromium on PATH) and its time limit.
    pdf_browser: str = ""
    pdf_timeout_seconds: float = Field(60, gt=0, le=600)
    # Minutes between two runs of the overdue-task escalation job (``qtrace worker``).
    escalation_minutes: float = Field(15, gt=0)
