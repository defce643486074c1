"""China Customs cross-border e-commerce messages (海关跨境电商统一版 企业对接报文).

Field names and their order follow the published XSDs (2018 No.113 / 202205); the order
matters because the schemas use ``xs:sequence``.  Records are kept as ``dict[str, str]`` of
the raw element texts: typing and validation belong to the ingest layer, and an unknown
element is never dropped on the floor.
"""

from __future__ import annotations

from dataclasses import dataclass

CEB_NS = "http://www.chinaport.gov.cn/ceb"
DXP_NS = "http://www.chinaport.gov.cn/dxp"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"

BASE_TRANSFER_FIELDS = ("copCode", "copName", "dxpMode", "dxpId", "note")

ORDER_HEAD = (
    "guid", "appType", "appTime", "appStatus", "orderType", "orderNo", "ebpCode", "ebpName",
    "ebcCode", "ebcName", "goodsValue", "freight", "discount", "taxTotal", "acturalPaid",
    "currency", "buyerRegNo", "buyerName", "buyerTelephone", "buyerIdType", "buyerIdNumber",
    "payCode", "payName", "payTransactionId", "batchNumbers", "consignee",
    "consigneeTelephone", "consigneeAddress", "consigneeDistrict", "note",
)  # fmt: skip
ORDER_LIST = (
    "gnum", "itemNo", "itemName", "gmodel", "itemDescribe", "barCode", "unit", "qty", "price",
    "totalPrice", "currency", "country", "note",
)  # fmt: skip
PAYMENT_HEAD = (
    "guid", "appType", "appTime", "appStatus", "payCode", "payName", "payTransactionId",
    "orderNo", "ebpCode", "ebpName", "payerIdType", "payerIdNumber", "payerName", "telephone",
    "amountPaid", "currency", "payTime", "note",
)  # fmt: skip
LOGISTICS_HEAD = (
    "guid", "appType", "appTime", "appStatus", "logisticsCode", "logisticsName", "logisticsNo",
    "billNo", "orderNo", "freight", "insuredFee", "currency", "weight", "packNo", "goodsInfo",
    "consignee", "consigneeAddress", "consigneeTelephone", "note",
)  # fmt: skip
INVENTORY_HEAD = (
    "guid", "appType", "appTime", "appStatus", "orderNo", "ebpCode", "ebpName", "ebcCode",
    "ebcName", "logisticsNo", "logisticsCode", "logisticsName", "copNo", "preNo", "assureCode",
    "emsNo", "invtNo", "ieFlag", "declTime", "customsCode", "portCode", "ieDate", "buyerIdType",
    "buyerIdNumber", "buyerName", "buyerTelephone", "consigneeAddress", "agentCode",
    "agentName", "areaCode", "areaName", "tradeMode", "trafMode", "trafNo", "voyageNo",
    "billNo", "loctNo", "licenseNo", "country", "freight", "insuredFee", "currency",
    "wrapType", "packNo", "grossWeight", "netWeight", "note",
)  # fmt: skip
INVENTORY_LIST = (
    "gnum", "itemRecordNo", "itemNo", "itemName", "gcode", "gname", "gmodel", "barCode",
    "country", "tradeCountry", "currency", "qty", "unit", "qty1", "unit1", "qty2", "unit2",
    "price", "totalPrice", "note",
)  # fmt: skip
INVENTORY_RETURN = (
    "guid", "customsCode", "ebpCode", "ebcCode", "agentCode", "copNo", "preNo", "invtNo",
    "returnStatus", "returnTime", "returnInfo",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """One message type: its root, its repeated record element, head and line fields."""

    code: str
    record: str
    head: str | None
    head_fields: tuple[str, ...]
    lines: str | None = None
    line_fields: tuple[str, ...] = ()
    receipt: bool = False
    zh: str = ""

    @property
    def root(self) -> str:
        return f"{self.code}Message"


MESSAGES: dict[str, MessageSpec] = {
    spec.code: spec
    for spec in (
        MessageSpec("CEB311", "Order", "OrderHead", ORDER_HEAD, "OrderList", ORDER_LIST,
                    zh="电子订单"),
        MessageSpec("CEB411", "Payment", "PaymentHead", PAYMENT_HEAD, zh="支付单"),
        MessageSpec("CEB511", "Logistics", "LogisticsHead", LOGISTICS_HEAD, zh="物流运单"),
        MessageSpec("CEB621", "Inventory", "InventoryHead", INVENTORY_HEAD, "InventoryList",
                    INVENTORY_LIST, zh="进口申报清单"),
        MessageSpec("CEB622", "InventoryReturn", None, INVENTORY_RETURN, receipt=True,
                    zh="清单回执"),
    )
}  # fmt: skip

MAX_RECORDS_PER_MESSAGE = 100

RETURN_STATUS_ZH = {
    "1": "暂存",
    "2": "申报中",
    "120": "海关入库",
    "300": "人工审核",
    "399": "海关审结",
    "500": "查验",
    "501": "扣留移送通关",
    "502": "扣留移送缉私",
    "503": "扣留移送法规",
    "599": "其它扣留",
    "700": "退运",
    "800": "放行",
    "899": "结关",
}
