"""Turn CEB records and the enterprise filing list into graph nodes and edges.

Each function maps one business record to the nodes and edges it asserts.  A record may
name partners it does not carry (an inventory names its order and waybill); those become
edges to nodes known only by key, which the store creates and later records fill in.
Personal data is hashed and masked here, before anything reaches a store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from traceability.analysis.keys import normalize_gtin
from traceability.errors import InvalidInput
from traceability.formats.ceb.times import ceb_time
from traceability.formats.ceb.xml import Record
from traceability.formats.privacy import (
    PersonalDataHasher,
    mask_address,
    mask_name,
    mask_phone,
    mask_resident_id,
)
from traceability.formats.reference import customs_office_name, district_info
from traceability.store.port import Edge, Node, NodeRef, clean_props


class MappingError(InvalidInput):
    """A record lacks what is needed to place it in the graph."""


@dataclass(slots=True)
class GraphBatch:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def node(self, label: str, key: str, **props: Any) -> NodeRef:
        self.nodes.append(Node(label, key, clean_props(props)))
        return NodeRef(label, key)

    def edge(self, rel_type: str, src: NodeRef, dst: NodeRef, **props: Any) -> None:
        self.edges.append(Edge(rel_type, src, dst, clean_props(props)))

    def extend(self, other: GraphBatch) -> None:
        self.nodes.extend(other.nodes)
        self.edges.extend(other.edges)


def amount(value: str | None, name: str) -> str | None:
    """A N19,5 amount, kept as a canonical decimal string (never a float)."""
    if value is None or value == "":
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise MappingError(f"{name} 不是数字: {value!r}") from None
    if not number.is_finite():
        raise MappingError(f"{name} 不是有限数值: {value!r}")
    return format(number.normalize(), "f")


def _require(fields: dict[str, str], *names: str) -> None:
    missing = [n for n in names if not fields.get(n)]
    if missing:
        raise MappingError(f"缺少必填字段: {', '.join(missing)}")


def _enterprise(batch: GraphBatch, code: str | None, name: str | None) -> NodeRef | None:
    if not code:
        return None
    return batch.node("Enterprise", code, name=name or None, customsCode=code)


class CebMapper:
    """Maps CEB records of each message type to graph records.

    ``copno_for_invt_no`` resolves a customs inventory number to the declarant's copNo (the
    inventory's business key) for messages that name only the former (CEB623, CEB816).
    """

    def __init__(
        self,
        hasher: PersonalDataHasher,
        copno_for_invt_no: Callable[[str], str | None] | None = None,
    ) -> None:
        self.hasher = hasher
        self.copno_for_invt_no = copno_for_invt_no

    def _inventory_key(self, head: dict[str, str]) -> str | None:
        if head.get("copNo"):
            return head["copNo"]
        if head.get("invtNo") and self.copno_for_invt_no is not None:
            return self.copno_for_invt_no(head["invtNo"])
        return None

    def _person(self, batch: GraphBatch, id_number: str, name: str, phone: str) -> NodeRef:
        return batch.node(
            "Buyer",
            self.hasher.id_hash(id_number),
            nameMasked=mask_name(name),
            idMasked=mask_resident_id(id_number),
            phoneMasked=mask_phone(phone) if phone else None,
            phoneHash=self.hasher.phone_hash(phone) if phone else None,
        )

    def _consignee(self, batch: GraphBatch, head: dict[str, str], district: str | None) -> NodeRef:
        """The consignee named by a CEB311 or CEB511 head (both use the same field names)."""
        name = head["consignee"]
        phone = head.get("consigneeTelephone", "")
        address = head.get("consigneeAddress", "")
        return batch.node(
            "Consignee",
            self.hasher.consignee_hash(name, phone, address),
            nameMasked=mask_name(name),
            phoneMasked=mask_phone(phone),
            phoneHash=self.hasher.phone_hash(phone),
            addressMasked=mask_address(address),
            addressHash=self.hasher.address_hash(address),
            district=district or None,
        )

    def order(self, record: Record) -> GraphBatch:
        h = record.head
        _require(h, "orderNo", "ebpCode")
        batch = GraphBatch()
        lines = sorted(record.lines, key=lambda line: int(line.get("gnum") or 0))
        lots = [lot.strip() for lot in (h.get("batchNumbers") or "").split(",")]
        order = batch.node(
            "Order",
            f"{h['ebpCode']}:{h['orderNo']}",
            orderNo=h["orderNo"],
            ebpCode=h["ebpCode"],
            ebcCode=h.get("ebcCode") or None,
            orderType=h.get("orderType") or None,
            time=ceb_time(h.get("appTime")),
            goodsValue=amount(h.get("goodsValue"), "goodsValue"),
            freight=amount(h.get("freight"), "freight"),
            discount=amount(h.get("discount"), "discount"),
            taxTotal=amount(h.get("taxTotal"), "taxTotal"),
            acturalPaid=amount(h.get("acturalPaid"), "acturalPaid"),
            currency=h.get("currency") or None,
            buyerIdHash=(
                self.hasher.id_hash(h["buyerIdNumber"]) if h.get("buyerIdNumber") else None
            ),
            # The buyer as declared on this order, masked: what a recall notice lists.
            buyerNameMasked=mask_name(h["buyerName"]) if h.get("buyerName") else None,
            buyerIdMasked=(
                mask_resident_id(h["buyerIdNumber"]) if h.get("buyerIdNumber") else None
            ),
            buyerPhoneMasked=mask_phone(h["buyerTelephone"]) if h.get("buyerTelephone") else None,
            **_declaration(h),
            batchNumbers=h.get("batchNumbers") or None,
            linesJson=json.dumps(
                [
                    {
                        "gnum": line.get("gnum"),
                        "gtin": line.get("barCode"),
                        "itemName": line.get("itemName"),
                        "qty": line.get("qty"),
                        "unit": line.get("unit"),
                        "price": amount(line.get("price"), "price"),
                        "totalPrice": amount(line.get("totalPrice"), "totalPrice"),
                        "country": line.get("country"),
                    }
                    for line in lines
                ],
                ensure_ascii=False,
            ),
        )
        for rel, code, name in (
            ("ON_PLATFORM", h.get("ebpCode"), h.get("ebpName")),
            ("SOLD_BY", h.get("ebcCode"), h.get("ebcName")),
        ):
            enterprise = _enterprise(batch, code, name)
            if enterprise:
                batch.edge(rel, order, enterprise)
        if h.get("buyerIdNumber"):  # import orders; export orders name no buyer ID
            buyer = self._person(
                batch, h["buyerIdNumber"], h.get("buyerName", ""), h.get("buyerTelephone", "")
            )
            batch.edge("PLACED_BY", order, buyer)
        if h.get("consignee"):
            district = h.get("consigneeDistrict") or None
            consignee = self._consignee(batch, h, district)
            batch.edge("SHIP_TO", order, consignee)
            if district:
                batch.edge(
                    "LOCATED_IN",
                    consignee,
                    batch.node("District", district, **district_info(district)),
                )
        if h.get("payCode") and h.get("payTransactionId"):
            payment = NodeRef("Payment", f"{h['payCode']}:{h['payTransactionId']}")
            batch.edge("PAID_WITH", order, payment)
        for index, line in enumerate(lines):
            gtin = _gtin_or_none(line.get("barCode"))
            lot = lots[index] if index < len(lots) else ""
            if gtin is None:
                continue
            product = batch.node(
                "Product",
                gtin,
                name=line.get("itemName") or None,
                originCountry=line.get("country") or None,
                unit=line.get("unit") or None,
            )
            if lot:
                lot_ref = batch.node("Batch", f"{gtin}:{lot}", gtin=gtin, lot=lot)
                batch.edge("HAS_BATCH", product, lot_ref)
                batch.edge("SOLD_IN", lot_ref, order, gnum=line.get("gnum"), qty=line.get("qty"))
        return batch

    def payment(self, record: Record) -> GraphBatch:
        h = record.head
        _require(h, "payCode", "payTransactionId", "orderNo", "ebpCode", "payerIdNumber")
        batch = GraphBatch()
        payment = batch.node(
            "Payment",
            f"{h['payCode']}:{h['payTransactionId']}",
            payCode=h["payCode"],
            payTransactionId=h["payTransactionId"],
            orderNo=h["orderNo"],
            ebpCode=h["ebpCode"],
            amountPaid=amount(h.get("amountPaid"), "amountPaid"),
            currency=h.get("currency") or None,
            time=ceb_time(h.get("payTime") or h.get("appTime")),
            payerIdHash=self.hasher.id_hash(h["payerIdNumber"]),
            **_declaration(h),
        )
        batch.edge("PAID_WITH", NodeRef("Order", f"{h['ebpCode']}:{h['orderNo']}"), payment)
        enterprise = _enterprise(batch, h["payCode"], h.get("payName"))
        if enterprise:
            batch.edge("PROCESSED_BY", payment, enterprise)
        payer = self._person(
            batch, h["payerIdNumber"], h.get("payerName", ""), h.get("telephone", "")
        )
        batch.edge("PAID_BY", payment, payer)
        return batch

    def waybill(self, record: Record) -> GraphBatch:
        h = record.head
        _require(h, "logisticsCode", "logisticsNo")
        batch = GraphBatch()
        waybill = batch.node(
            "Waybill",
            f"{h['logisticsCode']}:{h['logisticsNo']}",
            logisticsCode=h["logisticsCode"],
            logisticsNo=h["logisticsNo"],
            billNo=h.get("billNo") or None,
            orderNo=h.get("orderNo") or None,
            freight=amount(h.get("freight"), "freight"),
            insuredFee=amount(h.get("insuredFee"), "insuredFee"),
            weight=amount(h.get("weight"), "weight"),
            time=ceb_time(h.get("appTime")),
            **_declaration(h),
        )
        enterprise = _enterprise(batch, h["logisticsCode"], h.get("logisticsName"))
        if enterprise:
            batch.edge("CARRIED_BY", waybill, enterprise)
        if h.get("consignee"):
            consignee = self._consignee(batch, h, None)
            batch.edge("DELIVERED_TO", waybill, consignee)
        return batch

    def inventory(self, record: Record) -> GraphBatch:
        h = record.head
        _require(h, "copNo", "orderNo", "ebpCode")
        batch = GraphBatch()
        inventory = batch.node(
            "Inventory",
            h["copNo"],
            copNo=h["copNo"],
            preNo=h.get("preNo") or None,
            invtNo=h.get("invtNo") or None,
            orderNo=h["orderNo"],
            ebpCode=h["ebpCode"],
            tradeMode=h.get("tradeMode") or None,
            ieFlag=h.get("ieFlag") or None,
            customsCode=h.get("customsCode") or None,
            portCode=h.get("portCode") or None,
            country=h.get("country") or None,
            freight=amount(h.get("freight"), "freight"),
            insuredFee=amount(h.get("insuredFee"), "insuredFee"),
            time=ceb_time(h.get("declTime") or h.get("appTime")),
            buyerIdHash=(
                self.hasher.id_hash(h["buyerIdNumber"]) if h.get("buyerIdNumber") else None
            ),
            **_declaration(h),
            linesJson=json.dumps(
                [
                    {
                        "gnum": line.get("gnum"),
                        "gcode": line.get("gcode"),
                        "gname": line.get("gname"),
                        "gtin": line.get("barCode"),
                        "qty": line.get("qty"),
                        "totalPrice": amount(line.get("totalPrice"), "totalPrice"),
                        "country": line.get("country"),
                    }
                    for line in record.lines
                ],
                ensure_ascii=False,
            ),
        )
        order = NodeRef("Order", f"{h['ebpCode']}:{h['orderNo']}")
        batch.edge("DECLARED_IN", order, inventory)
        if h.get("logisticsCode") and h.get("logisticsNo"):
            waybill = NodeRef("Waybill", f"{h['logisticsCode']}:{h['logisticsNo']}")
            batch.edge("INVENTORY_WAYBILL", inventory, waybill)
            batch.edge("SHIPPED_AS", order, waybill)
        for rel, code, name in (
            ("DECLARED_BY", h.get("agentCode"), h.get("agentName")),
            ("GUARANTEED_BY", h.get("assureCode"), None),
            ("STORED_AT", h.get("areaCode"), h.get("areaName")),
        ):
            enterprise = _enterprise(batch, code, name)
            if enterprise:
                batch.edge(rel, inventory, enterprise)
        if h.get("customsCode"):
            port = batch.node("Port", h["customsCode"], name=customs_office_name(h["customsCode"]))
            batch.edge("DECLARED_AT", inventory, port)
        for line in record.lines:
            gtin = _gtin_or_none(line.get("barCode"))
            if gtin:
                batch.node(
                    "Product",
                    gtin,
                    hsCode=line.get("gcode") or None,
                    name=line.get("gname") or None,
                    originCountry=line.get("country") or None,
                )
        return batch

    def inventory_return(self, record: Record) -> GraphBatch:
        h = record.head
        _require(h, "copNo", "returnStatus")
        batch = GraphBatch()
        status = h["returnStatus"]
        # Receipts overwrite the status; seen<code> keeps when each outcome (inspection 500,
        # detention 5xx, return 700, release 800) was reached, for statistics and risk.
        history = {f"seen{status}": ceb_time(h.get("returnTime"))} if status.isdigit() else {}
        clearance = batch.node(
            "Clearance",
            h["copNo"],
            copNo=h["copNo"],
            returnStatus=status,
            returnInfo=h.get("returnInfo") or None,
            time=ceb_time(h.get("returnTime")),
            customsCode=h.get("customsCode") or None,
            **history,
        )
        inventory = batch.node(
            "Inventory", h["copNo"], preNo=h.get("preNo") or None, invtNo=h.get("invtNo") or None
        )
        batch.edge("CLEARED_AS", inventory, clearance)
        return batch

    # -- status messages: receipts, cancellations, returns, deliveries, tax -------------------

    @staticmethod
    def _status(label: str, key_fields: tuple[str, ...], prefix: str, record: Record,
                key: str | None = None, **extra: Any) -> GraphBatch:  # fmt: skip
        """Merge a receipt-like status onto the document it names (nothing if unnamed)."""
        h = record.head
        batch = GraphBatch()
        if key is None and all(h.get(f) for f in key_fields):
            key = ":".join(h[f] for f in key_fields)
        if key:
            batch.node(
                label, key,
                **{f"{prefix}Status": h.get("returnStatus") or None,
                   f"{prefix}Time": ceb_time(h.get("returnTime")) if h.get("returnTime") else None,
                   f"{prefix}Info": h.get("returnInfo") or None},
                **extra,
            )  # fmt: skip
        return batch

    def order_return(self, record: Record) -> GraphBatch:
        return self._status("Order", ("ebpCode", "orderNo"), "orderReturn", record)

    def payment_return(self, record: Record) -> GraphBatch:
        return self._status("Payment", ("payCode", "payTransactionId"), "paymentReturn", record)

    def logistics_return(self, record: Record) -> GraphBatch:
        return self._status("Waybill", ("logisticsCode", "logisticsNo"), "logisticsReturn", record)

    def logistics_status(self, record: Record) -> GraphBatch:
        h = record.head
        signed = h.get("logisticsStatus") == "S"
        return self._status(
            "Waybill", ("logisticsCode", "logisticsNo"), "logisticsState", record,
            logisticsStatus=h.get("logisticsStatus") or None,
            signedTime=ceb_time(h.get("logisticsTime") or h.get("appTime")) if signed else None,
        )  # fmt: skip

    def inventory_cancel(self, record: Record) -> GraphBatch:
        return self._status(
            "Inventory", ("copNo",), "cancel", record, self._inventory_key(record.head),
            cancelled=True,
            cancelReason=record.head.get("reason") or None,
        )  # fmt: skip

    def inventory_cancel_return(self, record: Record) -> GraphBatch:
        return self._status(
            "Inventory", ("copNo",), "cancelReturn", record, self._inventory_key(record.head)
        )

    def inventory_refund(self, record: Record) -> GraphBatch:
        return self._status(
            "Inventory", ("copNo",), "refund", record, self._inventory_key(record.head),
            refundDeclared=True,
            refundReason=record.head.get("reason") or None,
        )  # fmt: skip

    def inventory_refund_return(self, record: Record) -> GraphBatch:
        return self._status(
            "Inventory", ("copNo",), "refundReturn", record, self._inventory_key(record.head)
        )

    def delivery(self, record: Record) -> GraphBatch:
        """CEB711: a master bill (入库单) groups parcels by their waybill numbers."""
        h = record.head
        batch = GraphBatch()
        for line in record.lines:
            if h.get("logisticsCode") and line.get("logisticsNo"):
                batch.node(
                    "Waybill", f"{h['logisticsCode']}:{line['logisticsNo']}",
                    deliveryCopNo=h.get("copNo") or None, deliveryBillNo=h.get("billNo") or None,
                )  # fmt: skip
        return batch

    def tax(self, record: Record) -> GraphBatch:
        """CEB816: the tax bill of a declared inventory (named by its invtNo)."""
        h = record.head
        batch = GraphBatch()
        props = {
            "taxNo": h.get("taxNo") or None,
            "customsTax": amount(h.get("customsTax"), "customsTax"),
            "valueAddedTax": amount(h.get("valueAddedTax"), "valueAddedTax"),
            "consumptionTax": amount(h.get("consumptionTax"), "consumptionTax"),
            "taxInvtNo": h.get("invtNo") or None,
        }
        cop_no = self._inventory_key(h)
        if cop_no:
            batch.node("Inventory", cop_no, **props)
        return batch

    def map(self, code: str, record: Record) -> GraphBatch:
        handler = {
            "CEB311": self.order,
            "CEB303": self.order,
            "CEB312": self.order_return,
            "CEB411": self.payment,
            "CEB412": self.payment_return,
            "CEB511": self.waybill,
            "CEB505": self.waybill,
            "CEB512": self.logistics_return,
            "CEB513": self.logistics_status,
            "CEB621": self.inventory,
            "CEB603": self.inventory,
            "CEB622": self.inventory_return,
            "CEB623": self.inventory_cancel,
            "CEB624": self.inventory_cancel_return,
            "CEB625": self.inventory_refund,
            "CEB626": self.inventory_refund_return,
            "CEB711": self.delivery,
            "CEB816": self.tax,
        }.get(code)
        if handler is None:
            return GraphBatch()  # a receipt of a receipt: archived, nothing to add to the graph
        return handler(record)


def _declaration(head: dict[str, str]) -> dict[str, Any]:
    """appType 1 new, 2 change, 3 delete: a deleted document stays, marked, for the record."""
    app_type = head.get("appType") or "1"
    return {"appType": app_type, "deleted": app_type == "3", "guid": head.get("guid") or None}


def _gtin_or_none(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalize_gtin(value)
    except ValueError:
        return None
