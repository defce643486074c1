"""Turn arriving CEB records into ledger documents and findings.

``prepare`` is pure (facts and one-document checks, personal data hashed), so a message that
cannot be read never touches the ledger; ``apply`` then records documents, runs the pair
checks against documents already known, recomputes the buyer's yearly total, and records or
resolves findings, all in one ledger transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from config.settings import LimitSettings
from traceability.analysis.compliance import checks
from traceability.analysis.compliance.checks import Doc, dec
from traceability.analysis.compliance.findings import Finding
from traceability.analysis.compliance.ledger import Ledger
from traceability.formats.ceb.times import ceb_time
from traceability.formats.ceb.xml import Record
from traceability.formats.identifiers import mask_resident_id
from traceability.formats.privacy import PersonalDataHasher, mask_address, mask_name, mask_phone


@dataclass(slots=True)
class Action:
    kind: str  # document | cancel | refund | receipt
    doc: Doc | None = None
    findings: list[Finding] = field(default_factory=list)
    ref: dict[str, Any] = field(default_factory=dict)


def finding_id(code: str, keys: tuple[str, ...]) -> str:
    return Finding(code, keys, None, None).id


class ComplianceEngine:
    def __init__(
        self,
        ledger: Ledger,
        hasher: PersonalDataHasher,
        limits: LimitSettings,
        tolerance: Decimal = Decimal("0"),
        partner_window: dt.timedelta = dt.timedelta(hours=24),
    ) -> None:
        self.ledger = ledger
        self.hasher = hasher
        self.limits = limits
        self.tolerance = tolerance
        self.partner_window = partner_window

    # -- pure ----------------------------------------------------------------------------

    def prepare(self, code: str, records: list[Record]) -> list[Action]:
        handler = {
            "CEB311": self._order, "CEB411": self._payment, "CEB511": self._waybill,
            "CEB621": self._inventory, "CEB622": self._receipt, "CEB623": self._cancel,
            "CEB625": self._refund,
        }.get(code)  # fmt: skip
        return [handler(r) for r in records] if handler else []

    def _consignee(self, head: dict[str, str]) -> dict[str, dict[str, str]]:
        values: dict[str, tuple[str, Callable[[str], str]]] = {
            "name": (head.get("consignee", ""), mask_name),
            "phone": (head.get("consigneeTelephone", ""), mask_phone),
            "address": (head.get("consigneeAddress", ""), mask_address),
        }
        return {
            name: {"hash": self.hasher.digest(name, value), "masked": mask(value)}
            for name, (value, mask) in values.items()
            if value
        }

    def _order(self, record: Record) -> Action:
        h = record.head
        key = f"{h['ebpCode']}:{h['orderNo']}"
        time = ceb_time(h.get("appTime"))
        doc = Doc(
            "order", key, h.get("guid", ""), h.get("appType") or "1", time,
            order_key=key, order_no=h["orderNo"],
            buyer_hash=self.hasher.id_hash(h["buyerIdNumber"]), year=checks.year_of(time),
            facts={
                "acturalPaid": h.get("acturalPaid"),
                "buyerIdHash": self.hasher.id_hash(h["buyerIdNumber"]),
                "buyerNameHash": self.hasher.digest("name", h.get("buyerName", "")),
                "buyerIdMasked": mask_resident_id(h["buyerIdNumber"]),
                "buyerNameMasked": mask_name(h.get("buyerName", "")),
                "consignee": self._consignee(h),
                "lines": {line.get("gnum", ""): line.get("itemName", "") for line in record.lines},
            },
        )  # fmt: skip
        found = checks.order_arithmetic(key, h, record.lines, self.tolerance)
        found += checks.id_number(key, h.get("buyerIdType"), h.get("buyerIdNumber"), "buyer")
        for role in ("ebpCode", "ebcCode", "payCode"):
            found += checks.uscc_code(key, h.get(role), role)
        return Action("document", doc, found)

    def _payment(self, record: Record) -> Action:
        h = record.head
        key = f"{h['payCode']}:{h['payTransactionId']}"
        time = ceb_time(h.get("payTime") or h.get("appTime"))
        doc = Doc(
            "payment", key, h.get("guid", ""), h.get("appType") or "1", time,
            order_key=f"{h['ebpCode']}:{h['orderNo']}", order_no=h["orderNo"],
            facts={
                "amountPaid": h.get("amountPaid"),
                "payerIdHash": self.hasher.id_hash(h["payerIdNumber"]),
                "payerNameHash": self.hasher.digest("name", h.get("payerName", "")),
                "payerIdMasked": mask_resident_id(h["payerIdNumber"]),
                "payerNameMasked": mask_name(h.get("payerName", "")),
            },
        )  # fmt: skip
        found = checks.id_number(key, h.get("payerIdType"), h.get("payerIdNumber"), "payer")
        found += checks.uscc_code(key, h.get("payCode"), "payCode")
        return Action("document", doc, found)

    def _waybill(self, record: Record) -> Action:
        h = record.head
        key = f"{h['logisticsCode']}:{h['logisticsNo']}"
        doc = Doc(
            "waybill", key, h.get("guid", ""), h.get("appType") or "1",
            ceb_time(h.get("appTime")), order_no=h.get("orderNo") or None,
            facts={"consignee": self._consignee(h)},
        )  # fmt: skip
        return Action("document", doc, checks.uscc_code(key, h.get("logisticsCode"), "logistics"))

    def _inventory(self, record: Record) -> Action:
        h = record.head
        key = h["copNo"]
        time = ceb_time(h.get("declTime") or h.get("appTime"))
        totals = [dec(line.get("totalPrice")) or Decimal(0) for line in record.lines]
        amount = (
            sum(totals, Decimal(0)) + (dec(h.get("freight")) or 0) + (dec(h.get("insuredFee")) or 0)
        )
        buyer = h.get("buyerIdNumber") or ""
        doc = Doc(
            "inventory", key, h.get("guid", ""), h.get("appType") or "1", time,
            order_key=f"{h['ebpCode']}:{h['orderNo']}", order_no=h["orderNo"],
            invt_no=h.get("invtNo") or None,
            buyer_hash=self.hasher.id_hash(buyer) if buyer else None,
            year=checks.year_of(time), amount=amount,
            facts={
                "lines": {line.get("gnum", ""): line.get("gname", "") for line in record.lines},
                "lineValues": {
                    line.get("gnum", ""): [line.get("qty"), line.get("totalPrice")]
                    for line in record.lines
                },
                "buyerIdMasked": mask_resident_id(buyer) if buyer else None,
            },
        )  # fmt: skip
        day = dt.date.fromisoformat(time[:10]) if time else dt.date.today()
        found = checks.single_limit(key, amount, self.limits.in_force(day).single_transaction, time)
        found += checks.hs_codes(key, record.lines)
        found += checks.line_totals(key, record.lines, self.tolerance)
        found += checks.id_number(key, h.get("buyerIdType"), buyer, "buyer")
        for role in ("ebpCode", "ebcCode", "agentCode", "logisticsCode", "assureCode"):
            found += checks.uscc_code(key, h.get(role), role)
        return Action("document", doc, found)

    def _receipt(self, record: Record) -> Action:
        h = record.head
        return Action("receipt", ref={"copNo": h.get("copNo"), "invtNo": h.get("invtNo")})

    def _cancel(self, record: Record) -> Action:
        h = record.head
        return Action("cancel", ref={"copNo": h.get("copNo"), "invtNo": h.get("invtNo")})

    def _refund(self, record: Record) -> Action:
        h = record.head
        returned = {line.get("gnum", ""): line.get("qty") for line in record.lines}
        return Action("refund", ref={"copNo": h.get("copNo"), "invtNo": h.get("invtNo"),
                                     "lines": returned})  # fmt: skip

    # -- with the ledger -----------------------------------------------------------------

    def apply(self, actions: list[Action]) -> list[Finding]:
        """Record everything in one ledger transaction; return the findings raised now."""
        raised: list[Finding] = []
        with self.ledger.transaction():
            # The documents' current versions, read in one statement; a key written since
            # (the same document twice in a message) is read again.
            known = self.ledger.get_many(
                [(a.doc.kind, a.doc.key) for a in actions if a.kind == "document" and a.doc]
            )
            for action in actions:
                if action.kind == "document" and action.doc is not None:
                    raised += self._apply_document(action.doc, action.findings, known)
                elif action.kind == "receipt" and action.ref.get("copNo"):
                    if action.ref.get("invtNo"):
                        known.clear()
                        self.ledger.set_invt_no(action.ref["copNo"], action.ref["invtNo"])
                elif action.kind in ("cancel", "refund"):
                    known.clear()
                    raised += self._apply_reversal(action)
        return raised

    def _record(self, finding: Finding | None, code: str, keys: tuple[str, ...],
                kinds: tuple[str, ...] = ()) -> list[Finding]:  # fmt: skip
        if finding is None:
            self.ledger.resolve(finding_id(code, keys))
            return []
        finding = replace(finding, kinds=kinds) if kinds else finding
        return [finding] if self.ledger.record(finding) else []

    def _apply_document(
        self, doc: Doc, own: list[Finding], prefetched: dict[tuple[str, str], Doc | None]
    ) -> list[Finding]:
        raised: list[Finding] = []
        ident = (doc.kind, doc.key)
        # One use of the prefetched version: the put below makes it stale.
        known = prefetched.pop(ident) if ident in prefetched else self.ledger.get(*ident)
        if (
            doc.app_type == "1" and known is not None and known.app_type != "3"
            and self.ledger.status(doc.kind, doc.key) == "active" and known.guid != doc.guid
        ):  # fmt: skip
            duplicate = Finding(
                "DUPLICATE_DECLARATION", (doc.key, doc.guid), known.guid, doc.guid,
                f"{doc.kind} {doc.key}", f"{doc.kind} {doc.key}", time=doc.time,
                kinds=(doc.kind,),
            )  # fmt: skip
            return [duplicate] if self.ledger.record(duplicate) else []
        self.ledger.put(doc, "deleted" if doc.app_type == "3" else "active")
        for finding in own:
            raised += self._record(finding, finding.code, finding.keys, (doc.kind,))
        if doc.app_type == "3":
            raised += self._quota(doc)
            return raised
        raised += self._pairs(doc)
        if doc.kind == "inventory":
            raised += self._quota(doc)
        return raised

    def _pairs(self, doc: Doc) -> list[Finding]:
        """Check the document against each partner already known; record or resolve."""
        results: list[Finding] = []
        pairs: list[tuple[Doc, Doc, str]] = []
        if doc.kind == "order":
            for payment in self.ledger.partners("payment", order_key=doc.key):
                pairs.append((doc, payment, "payment"))
            for waybill in self.ledger.partners("waybill", order_no=doc.order_no):
                pairs.append((doc, waybill, "waybill"))
            for inventory in self.ledger.partners("inventory", order_key=doc.key):
                pairs.append((doc, inventory, "inventory"))
        else:
            orders = (
                self.ledger.partners("order", order_no=doc.order_no)
                if doc.kind == "waybill"
                else [o for o in [self.ledger.get("order", doc.order_key or "")] if o]
            )
            pairs.extend((order, doc, doc.kind) for order in orders)
        for order, other, kind in pairs:
            if kind == "payment":
                outcome = checks.payment_vs_order(order, other, self.tolerance)
            elif kind == "waybill":
                outcome = checks.waybill_vs_order(order, other)
            else:
                outcome = checks.inventory_vs_order(order, other)
            for code, finding in outcome.items():
                keys = (order.key, other.key)
                results += self._record(finding, code, keys, ("order", other.kind))
        return results

    def _quota(self, inventory: Doc) -> list[Finding]:
        if not inventory.buyer_hash or inventory.year is None:
            return []
        total, keys = self.ledger.yearly(inventory.buyer_hash, inventory.year)
        limit = self.limits.in_force(dt.date(inventory.year, 12, 31)).annual_per_person
        finding = checks.annual_quota(
            inventory.buyer_hash, inventory.facts.get("buyerIdMasked"), inventory.year, total,
            limit, keys,
        )  # fmt: skip
        keys_id = (f"buyer:{inventory.buyer_hash}", f"year:{inventory.year}")
        return self._record(finding, "ANNUAL_QUOTA_EXCEEDED", keys_id)

    def _apply_reversal(self, action: Action) -> list[Finding]:
        """CEB623 cancels a declared inventory, CEB625 returns some or all of its goods."""
        ref = action.ref
        inventory = (self.ledger.get("inventory", ref["copNo"]) if ref.get("copNo") else None) or (
            self.ledger.inventory_by_invt_no(ref["invtNo"]) if ref.get("invtNo") else None
        )
        if inventory is None:
            return []
        if action.kind == "cancel":
            self.ledger.set_status("inventory", inventory.key, "cancelled")
        else:
            values = inventory.facts.get("lineValues", {})
            returned = Decimal(0)
            for gnum, qty in (ref.get("lines") or {}).items():
                declared_qty, total = (dec(v) for v in values.get(gnum, [None, None]))
                if declared_qty and total is not None and dec(qty) is not None:
                    returned += total * min(dec(qty) or 0, declared_qty) / declared_qty
            remaining = (inventory.amount or Decimal(0)) - returned
            if not ref.get("lines") or remaining <= 0:
                self.ledger.set_status("inventory", inventory.key, "refunded")
            else:
                inventory.amount = remaining
                self.ledger.put(inventory, "active")
        return self._quota(inventory)

    def sweep(self, now: dt.datetime) -> list[Finding]:
        """Raise MISSING_PARTNER_DOCUMENT for documents still alone after the window."""
        cut_off = (now - self.partner_window).astimezone(dt.timezone(dt.timedelta(hours=8)))
        raised = []
        with self.ledger.transaction():
            stale = self.ledger.active_ids("MISSING_PARTNER_DOCUMENT")
            for kind, key, missing in self.ledger.missing_partners(cut_off.isoformat()):
                finding = Finding(
                    "MISSING_PARTNER_DOCUMENT", (key,), missing, [],
                    f"{kind} {key} 缺少 {'、'.join(missing)}",
                    f"{kind} {key} lacks {', '.join(missing)}", kinds=(kind,),
                )  # fmt: skip
                stale.discard(finding.id)
                if self.ledger.record(finding):
                    raised.append(finding)
            for finding_id_ in stale:
                self.ledger.resolve(finding_id_)
        return raised
