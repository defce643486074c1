"""Who sees which case, who may do what, and how personal data is masked for each role.

- ``admin`` and ``auditor`` see every case (the auditor only reads);
- ``public_security`` sees the cases it opened, is assigned or whose lead or cooperating
  unit is the user's unit (the user's ``enterprise`` field), and may unmask with a reason;
- ``unit`` sees the cases its unit leads or cooperates on, or that are assigned to the user;
- every role but the submitter also sees the cases it opened, is assigned, or owns a task of
  (the task owner is the user or the user's unit);
- ``regulator`` sees the cases of its categories (``[cases] regulator_categories``, else
  the user's ``enterprise`` field, comma-separated), and those it opened or is assigned;
- ``submitter`` sees none.  Without a signed-in user (a site with ``[accounts] required =
  false``) every case is visible and shown masked, as to the least privileged reader.

Personal identifiers are keyed hashes and masked forms; the hash itself (pseudonymous, the
handle for an audited unmasking) is shown only to roles that may unmask.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any

from traceability.cases.settings import CasesSettings
from traceability.errors import Forbidden

ROLE_ZH = {
    "admin": "系统管理员",
    "regulator": "监管人员",
    "public_security": "公安人员",
    "unit": "责任单位",
    "auditor": "审计人员",
    "submitter": "报送企业",
}
READ_ALL = frozenset({"admin", "auditor"})
OPENERS = frozenset({"admin", "public_security", "regulator"})  # open, stage, close, merge
WORKERS = frozenset({"admin", "public_security", "regulator", "unit"})  # tasks, notes, files
REVEALERS = frozenset({"admin", "public_security"})  # see hashes (pseudonyms)
UNMASKERS = frozenset({"public_security"})


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller as the case rules see it; ``role`` is None on a site without login."""

    name: str = "anonymous"
    role: str | None = None
    unit: str = ""
    categories: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, principal: Any, settings: CasesSettings, fallback: str = "") -> Viewer:
        if principal is None:
            return cls(fallback or "anonymous", None)
        user = principal.user
        unit = (user.enterprise or "").strip()
        categories = settings.regulator_categories.get(user.name)
        if categories is None:
            categories = [c.strip() for c in unit.split(",") if c.strip()]
        return cls(user.name, user.role, unit, tuple(categories))

    @property
    def role_zh(self) -> str:
        return ROLE_ZH.get(self.role or "", "未登录（开放模式）")

    @property
    def reveals(self) -> bool:
        return self.role in REVEALERS

    def where(self) -> tuple[str, list[Any]]:
        """SQL condition over ``cases_cases c`` for the cases this viewer sees."""
        if self.role is None or self.role in READ_ALL:
            return "1 = 1", []
        # Opened by, assigned to, or owning a task of the case (the user or the user's unit).
        own = (
            "(c.created_by = ? OR c.assignee = ? OR EXISTS (SELECT 1 FROM cases_tasks t"
            " WHERE t.case_id = c.id AND t.owner IN (?, ?)))"
        )
        params: list[Any] = [self.name, self.name, self.name, self.unit or self.name]
        if self.role in ("public_security", "unit"):
            if not self.unit:
                return own, params
            return (
                f"({own} OR c.lead_unit = ? OR EXISTS (SELECT 1 FROM json_each(c.cooperating)"
                " WHERE value = ?))",
                [*params, self.unit, self.unit],
            )
        if self.role == "regulator":
            if not self.categories:
                return own, params
            marks = ",".join("?" * len(self.categories))
            return f"({own} OR c.category IN ({marks}))", [*params, *self.categories]
        return "1 = 0", []

    def require(self, allowed: frozenset[str], what: str) -> None:
        if self.role is not None and self.role not in allowed:
            raise Forbidden(f"{self.role_zh}无权{what}")


def mask_entity(entity: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """An entity as ``viewer`` may see it: personal ones without their hash unless allowed."""
    shown = dict(entity)
    if entity.get("personal") and not viewer.reveals:
        shown["key"] = "（已脱敏）"
        shown.pop("trace", None)
    return shown


PERSONAL_LABELS = frozenset({"Buyer", "Consignee"})


def _alias(node_id: str) -> str:
    label = node_id.partition(":")[0]
    return f"{label}:#" + hashlib.sha256(node_id.encode()).hexdigest()[:8]


def mask_snapshot(snapshot: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """A trace snapshot as ``viewer`` may see it: person nodes keyed by an alias, not a hash."""
    if viewer.reveals or "nodes" not in snapshot:
        return snapshot
    shown = copy.deepcopy(snapshot)
    hidden = {n["id"] for n in shown["nodes"] if n.get("label") in PERSONAL_LABELS}
    for node in shown["nodes"]:
        if node["id"] in hidden:
            node["id"] = _alias(node["id"])
            node["key"] = "（已脱敏）"
    for edge in shown.get("edges", []):
        for end in ("from", "to"):
            if edge[end] in hidden:
                edge[end] = _alias(edge[end])
    root = shown.get("root", {})
    if root.get("id") in hidden:
        root["id"] = _alias(root["id"])
        root["key"] = "（已脱敏）"
    return shown
