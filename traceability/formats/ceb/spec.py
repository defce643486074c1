"""China Customs cross-border e-commerce messages (海关跨境电商统一版 企业对接报文).

Field names, their order and their constraints are transcribed from the published XSDs
(海关跨境进口/出口业务节点报文定义 202205; the import structures are unchanged since 2018
No.113).  Order matters because the schemas use ``xs:sequence``; constraints matter because
the e-port rejects what breaks them, and a regulator wants to know before it does.

Records stay ``dict[str, str]`` of the raw element texts: typing belongs to the mapping
layer, checking to :mod:`traceability.formats.ceb.validate`, and an unknown element is never
dropped on the floor.

How a constraint is read off the schema:

* ``xs:length`` gives an exact length, ``xs:maxLength`` a maximum (in characters);
* ``xs:decimal`` with ``totalDigits 19 / fractionDigits 5`` is an N19,5 amount or quantity;
* ``xs:int`` (optionally with ``totalDigits``) is an integer of at most that many digits;
* times documented ``YYYYMMDDhhmmss`` (length 14), ``YYYYMMDDhhmmssSSS`` (17) and dates
  ``YYYYMMDD`` (8) get a format check;
* an element without ``minOccurs="0"`` is required to carry a value, except where the
  schema says ``minLength 0`` outright, or (in ``BaseTransfer``) puts ``minLength 1`` on
  some siblings but not on the field, which is how it says "may be empty".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CEB_NS = "http://www.chinaport.gov.cn/ceb"
DXP_NS = "http://www.chinaport.gov.cn/dxp"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"

MAX_RECORDS_PER_MESSAGE = 100

Kind = Literal["text", "decimal", "int", "datetime", "datetime_ms", "date", "receipt_time"]
"""``decimal`` is N19,5; ``datetime`` YYYYMMDDhhmmss; ``datetime_ms`` YYYYMMDDhhmmssSSS;
``date`` YYYYMMDD; ``receipt_time`` either of the two time forms (receipts vary)."""

DECIMAL_TOTAL_DIGITS = 19
DECIMAL_FRACTION_DIGITS = 5


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One element of a record, with the schema's constraints on its text."""

    name: str
    max_length: int | None
    required: bool
    kind: Kind = "text"
    min_length: int = 0

    @property
    def exact(self) -> bool:
        return self.max_length is not None and self.min_length == self.max_length


_KINDS: dict[str, Kind] = {
    "d": "decimal", "i": "int", "t": "datetime", "T": "datetime_ms", "D": "date",
}  # fmt: skip


def _table(text: str) -> tuple[FieldSpec, ...]:
    """Parse ``name:size:flags`` cells: size ``60`` (max), ``=36`` (exact), ``3-4``
    (range) or empty; flags ``!`` (required) plus a kind letter from ``_KINDS``."""
    fields = []
    for cell in text.split():
        name, size, flags = cell.split(":")
        low, high = 0, None
        if size.startswith("="):
            low = high = int(size[1:])
        elif "-" in size:
            low_text, high_text = size.split("-")
            low, high = int(low_text), int(high_text)
        elif size:
            high = int(size)
        kind: Kind = next((_KINDS[f] for f in flags if f in _KINDS), "text")
        fields.append(FieldSpec(name, high, "!" in flags, kind, low))
    return tuple(fields)


def _names(fields: tuple[FieldSpec, ...]) -> tuple[str, ...]:
    return tuple(f.name for f in fields)


# -- import (进口) -------------------------------------------------------------------------

ORDER_HEAD_SPEC = _table("""
    guid:=36:! appType:=1:! appTime::!t appStatus:3:! orderType:=1:! orderNo:60:!
    ebpCode:18:! ebpName:100:! ebcCode:18:! ebcName:100:! goodsValue::!d freight::!d
    discount::!d taxTotal::!d acturalPaid::!d currency:=3:! buyerRegNo:60:! buyerName:60:!
    buyerTelephone:30:! buyerIdType:=1:! buyerIdNumber:60:! payCode:18: payName:100:
    payTransactionId:60: batchNumbers:100: consignee:100:! consigneeTelephone:50:!
    consigneeAddress:200:! consigneeDistrict:=6: note:1000:
""")
ORDER_LIST_SPEC = _table("""
    gnum:10:!i itemNo:30: itemName:250:! gmodel:510:! itemDescribe:1000: barCode:50:
    unit:=3:! qty::!d price::!d totalPrice::!d currency:=3:! country:=3:! note:1000:
""")
ORDER_RETURN_SPEC = _table("""
    guid:=36:! ebpCode:18:! ebcCode:18:! orderNo:60:! returnStatus:10:! returnTime::!T
    returnInfo:1000:!
""")
PAYMENT_HEAD_SPEC = _table("""
    guid:=36:! appType:=1:! appTime::!t appStatus:3:! payCode:18:! payName:100:!
    payTransactionId:60:! orderNo:60:! ebpCode:18:! ebpName:100:! payerIdType:=1:!
    payerIdNumber:60:! payerName:60:! telephone:60: amountPaid::!d currency:=3:!
    payTime::!t note:1000:
""")
PAYMENT_RETURN_SPEC = _table("""
    guid:=36:! payCode:18:! payTransactionId:60:! returnStatus:10:! returnTime::!T
    returnInfo:1000:!
""")
LOGISTICS_HEAD_SPEC = _table("""
    guid:=36:! appType:=1:! appTime::!t appStatus:3:! logisticsCode:18:! logisticsName:100:!
    logisticsNo:60:! billNo:37: orderNo:60:! freight::d insuredFee::d currency:=3:!
    weight::!d packNo:9:!i goodsInfo:200: consignee:100:! consigneeAddress:200:!
    consigneeTelephone:50:! note:1000:
""")
LOGISTICS_RETURN_SPEC = _table("""
    guid:=36:! logisticsCode:18:! logisticsNo:60:! returnStatus:10:! returnTime::!T
    returnInfo:1000:!
""")
LOGISTICS_STATUS_SPEC = _table("""
    guid:=36:! appType:=1:! appTime::!t appStatus:3:! logisticsCode:18:! logisticsName:100:!
    logisticsNo:60:! logisticsStatus:=1:! logisticsTime::!t note:1000:
""")
LOGISTICS_STATUS_RETURN_SPEC = _table("""
    guid:=36:! logisticsCode:18:! logisticsNo:60:! logisticsStatus:=1:! returnStatus:10:!
    returnTime::!T returnInfo:1000:!
""")
INVENTORY_HEAD_SPEC = _table("""
    guid:=36:! appType:=1:! appTime::!t appStatus:3:! orderNo:60:! ebpCode:18:!
    ebpName:100:! ebcCode:18:! ebcName:100:! logisticsNo:60:! logisticsCode:18:!
    logisticsName:100:! copNo:20: preNo:18: assureCode:30:! emsNo:30: invtNo:18: ieFlag:=1:!
    declTime::!D customsCode:=4:! portCode:=4:! ieDate::D buyerIdType:=1:! buyerIdNumber:60:!
    buyerName:60:! buyerTelephone:30:! consigneeAddress:200:! agentCode:18:! agentName:100:!
    areaCode:18: areaName:100: tradeMode:=4:! trafMode:=1:! trafNo:100: voyageNo:32:
    billNo:37: loctNo:10: licenseNo:19: country:=3:! freight::!d insuredFee::!d currency:=3:!
    wrapType:=1: packNo:9:!i grossWeight::!d netWeight::!d note:1000:
""")
INVENTORY_LIST_SPEC = _table("""
    gnum:10:!i itemRecordNo:30: itemNo:20: itemName:250: gcode:=10:! gname:250:! gmodel:510:!
    barCode:50: country:=3:! tradeCountry:3: currency:=3:! qty::!d unit:=3:! qty1::!d
    unit1:=3:! qty2::d unit2:=3: price::!d totalPrice::!d note:1000:
""")
INVENTORY_RETURN_SPEC = _table("""
    guid:=36:! customsCode:=4: ebpCode:18: ebcCode:18: agentCode:18: copNo:20:! preNo:=18:!
    invtNo:=18: returnStatus:10:! returnTime::!T returnInfo:1000:!
""")
INVT_CANCEL_SPEC = _table("""
    guid:=36:! appType:=1:! appTime::!t appStatus:3:! customsCode:=4:! orderNo:60:!
    ebpCode:18:! ebpName:100:! ebcCode:18:! ebcName:100:! logisticsNo:60:!
    logisticsCode:18:! logisticsName:100:! copNo:20: preNo:18: invtNo:18:! buyerIdType:=1:!
    buyerIdNumber:60:! buyerName:60:! buyerTelephone:30:! agentCode:18:! agentName:100:!
    reason:1000:! note:1000:
""")
INVT_CANCEL_RETURN_SPEC = _table("""
    guid:=36:! customsCode:=4: agentCode:18: ebpCode:18: ebcCode:18: copNo:20:! preNo:=18:!
    invtNo:=18: returnStatus:10:! returnTime::!T returnInfo:1000:!
""")
INVT_REFUND_HEAD_SPEC = INVT_CANCEL_SPEC  # the XSD defines the same sequence for both
INVT_REFUND_LIST_SPEC = _table("""
    gnum:10:!i gcode:=10:! gname:250:! qty::!d unit:=3:! note:1000:
""")
INVT_REFUND_RETURN_SPEC = INVT_CANCEL_RETURN_SPEC
DELIVERY_HEAD_SPEC = _table("""
    guid:=36:! appType:=1:! appTime::!t appStatus:3:! customsCode:=4:! copNo:20: preNo:18:
    rkdNo:18: operatorCode:18:! operatorName:100:! ieFlag:=1:! trafMode:=1:! trafNo:100:!
    voyageNo:32:! billNo:37:! logisticsCode:18:! logisticsName:100:! unloadLocation:100:
    note:1000:
""")
DELIVERY_LIST_SPEC = _table("gnum:10:!i logisticsNo:60:! note:1000:")
DELIVERY_RETURN_SPEC = _table("""
    guid:=36:! customsCode:=4: operatorCode:18: copNo:20: preNo:18: rkdNo:18:
    returnStatus:10:! returnTime::!T returnInfo:1000:!
""")
TAX_HEAD_SPEC = _table("""
    guid:=36:! returnTime::!T invtNo:18:! taxNo:50:! customsTax::!d valueAddedTax::!d
    consumptionTax::!d status:=1:! entDutyNo:50: note:1000: assureCode:64: ebcCode:64:
    logisticsCode:64: agentCode:18: customsCode:=4:
""")
TAX_LIST_SPEC = _table("""
    gnum:10:!i gcode:=10:! taxPrice::!d customsTax::!d valueAddedTax::!d consumptionTax::!d
""")
BASE_TRANSFER_SPEC = _table("copCode:18:! copName:100: dxpMode:=3:! dxpId:30: note:1000:")

# -- export (出口) -------------------------------------------------------------------------

EXPORT_ORDER_HEAD_SPEC = _table("""
    guid:=36:! appType:=1:! appTime::!t appStatus:=1:! orderType:=1:! orderNo:60:!
    ebpCode:18:! ebpName:100:! ebcCode:18:! ebcName:100:! goodsValue::!d freight::!d
    currency:=3:! note:1000:
""")
EXPORT_ORDER_LIST_SPEC = _table("""
    gnum:5:!i itemNo:30:! itemName:250:! itemDescribe:1000: barCode:50: unit:=3:!
    currency:=3:! qty::!d price::!d totalPrice::!d note:1000:
""")
EXPORT_ORDER_RETURN_SPEC = _table("""
    guid:=36:! ebpCode:18:! ebcCode:18:! orderNo:60:! returnStatus:10:! returnTime::!T
    returnInfo:1000:
""")
EXPORT_LOGISTICS_SPEC = _table("""
    guid:=36:! appType:=1:! appTime::!t appStatus:=1:! logisticsCode:18:! logisticsName:100:!
    logisticsNo:32:! freight::!d insuredFee::!d currency:=3:! grossWeight::!d packNo:9:!i
    goodsInfo:200:! ebcCode:18: ebcName:100: ebcTelephone:50: note:1000:
""")
EXPORT_LOGISTICS_RETURN_SPEC = _table("""
    guid:=36:! logisticsCode:18:! logisticsNo:32:! returnStatus:10:! returnTime::!T
    returnInfo:1000:
""")
EXPORT_INVENTORY_HEAD_SPEC = _table("""
    guid:=36:! appType:=1:! appTime::!t appStatus:=1:! customsCode:=4:! ebpCode:18:!
    ebpName:100: orderNo:60:! logisticsCode:18:! logisticsName:100: logisticsNo:32:!
    copNo:30:! preNo:=18: invtNo:20: ieFlag:=1:! portCode:=4:! ieDate::!D
    statisticsFlag:=1:! agentCode:18:! agentName:100: ebcCode:18: ebcName:100:
    ownerCode:18:! ownerName:100:! iacCode:18: iacName:100: emsNo:30: tradeMode:=4:!
    trafMode:=1:! trafName:100: voyageNo:32: billNo:37: totalPackageNo:37: loctNo:10:
    licenseNo:19: country:=3:! POD:3-4:! freight::!d fCurrency:=3:! fFlag:=1:!
    insuredFee::!d iCurrency:=3:! iFlag:=1:! wrapType:=1:! packNo:9:!i grossWeight::!d
    netWeight::!d note:1000:
""")
EXPORT_INVENTORY_LIST_SPEC = _table("""
    gnum:5:!i itemNo:20:! itemRecordNo:30: itemName:250: gcode:=10:! gname:250:!
    gmodel:250:! barCode:50:! country:=3:! currency:=3:! qty::!d qty1::!d qty2::d unit:=3:!
    unit1:=3:! unit2:3: price::!d totalPrice::!d note:1000:
""")
EXPORT_INVENTORY_RETURN_SPEC = _table("""
    guid:=36:! agentCode:18:! copNo:30:! preNo:=18:! invtNo:20:! ebcCode:18:! ebpCode:18:!
    orderNo:60:! statisticsFlag:=1:! returnStatus:10:! returnTime::!T returnInfo:1000:
""")

# Field-name tuples in schema order: the writer, the generator and the mapping use these.
BASE_TRANSFER_FIELDS = _names(BASE_TRANSFER_SPEC)
ORDER_HEAD = _names(ORDER_HEAD_SPEC)
ORDER_LIST = _names(ORDER_LIST_SPEC)
ORDER_RETURN = _names(ORDER_RETURN_SPEC)
PAYMENT_HEAD = _names(PAYMENT_HEAD_SPEC)
PAYMENT_RETURN = _names(PAYMENT_RETURN_SPEC)
LOGISTICS_HEAD = _names(LOGISTICS_HEAD_SPEC)
LOGISTICS_RETURN = _names(LOGISTICS_RETURN_SPEC)
LOGISTICS_STATUS = _names(LOGISTICS_STATUS_SPEC)
LOGISTICS_STATUS_RETURN = _names(LOGISTICS_STATUS_RETURN_SPEC)
INVENTORY_HEAD = _names(INVENTORY_HEAD_SPEC)
INVENTORY_LIST = _names(INVENTORY_LIST_SPEC)
INVENTORY_RETURN = _names(INVENTORY_RETURN_SPEC)
INVT_CANCEL = _names(INVT_CANCEL_SPEC)
INVT_CANCEL_RETURN = _names(INVT_CANCEL_RETURN_SPEC)
INVT_REFUND_HEAD = _names(INVT_REFUND_HEAD_SPEC)
INVT_REFUND_LIST = _names(INVT_REFUND_LIST_SPEC)
INVT_REFUND_RETURN = _names(INVT_REFUND_RETURN_SPEC)
DELIVERY_HEAD = _names(DELIVERY_HEAD_SPEC)
DELIVERY_LIST = _names(DELIVERY_LIST_SPEC)
DELIVERY_RETURN = _names(DELIVERY_RETURN_SPEC)
TAX_HEAD = _names(TAX_HEAD_SPEC)
TAX_LIST = _names(TAX_LIST_SPEC)
EXPORT_ORDER_HEAD = _names(EXPORT_ORDER_HEAD_SPEC)
EXPORT_ORDER_LIST = _names(EXPORT_ORDER_LIST_SPEC)
EXPORT_ORDER_RETURN = _names(EXPORT_ORDER_RETURN_SPEC)
EXPORT_LOGISTICS = _names(EXPORT_LOGISTICS_SPEC)
EXPORT_LOGISTICS_RETURN = _names(EXPORT_LOGISTICS_RETURN_SPEC)
EXPORT_INVENTORY_HEAD = _names(EXPORT_INVENTORY_HEAD_SPEC)
EXPORT_INVENTORY_LIST = _names(EXPORT_INVENTORY_LIST_SPEC)
EXPORT_INVENTORY_RETURN = _names(EXPORT_INVENTORY_RETURN_SPEC)


def _relaxed(fields: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
    """Receipts are what customs sent: record them, do not argue with them.

    ``returnStatus`` is an opaque code (values outside the documented list occur),
    ``returnTime`` comes with or without milliseconds, ``returnInfo`` may be empty and
    fixed-length codes are only held to their maximum.
    """
    relaxed = []
    for f in fields:
        if f.name == "returnStatus":
            f = FieldSpec(f.name, None, True)
        elif f.name == "returnTime":
            f = FieldSpec(f.name, None, True, "receipt_time")
        elif f.name == "returnInfo":
            f = FieldSpec(f.name, f.max_length, False)
        elif f.exact or f.min_length:
            f = FieldSpec(f.name, f.max_length, f.required, f.kind)
        relaxed.append(f)
    return tuple(relaxed)


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """One message type: its root, its repeated record element, head and line fields.

    ``head`` is None for flat records (the record element holds the fields itself).
    ``receipt`` marks messages customs sends back (no ``BaseTransfer``; fields relaxed).
    """

    code: str
    record: str
    head: str | None
    head_fields: tuple[str, ...]
    lines: str | None = None
    line_fields: tuple[str, ...] = ()
    receipt: bool = False
    zh: str = ""
    head_constraints: tuple[FieldSpec, ...] = ()
    line_constraints: tuple[FieldSpec, ...] = ()
    direction: Literal["I", "E"] = "I"
    max_records: int | None = MAX_RECORDS_PER_MESSAGE
    min_lines: int = 0
    max_lines: int | None = None

    @property
    def root(self) -> str:
        return f"{self.code}Message"

    @property
    def has_base_transfer(self) -> bool:
        return not self.receipt


def _message(
    code: str,
    zh: str,
    record: str,
    head: str | None,
    head_spec: tuple[FieldSpec, ...],
    lines: str | None = None,
    line_spec: tuple[FieldSpec, ...] = (),
    *,
    receipt: bool = False,
    direction: Literal["I", "E"] = "I",
    max_records: int | None = MAX_RECORDS_PER_MESSAGE,
    max_lines: int | None = 99,
) -> MessageSpec:
    if receipt:
        head_spec, line_spec = _relaxed(head_spec), _relaxed(line_spec)
    return MessageSpec(
        code, record, head, _names(head_spec), lines, _names(line_spec), receipt, zh,
        head_spec, line_spec, direction, max_records,
        min_lines=1 if lines else 0, max_lines=max_lines if lines else None,
    )  # fmt: skip


MESSAGES: dict[str, MessageSpec] = {
    spec.code: spec
    for spec in (
        # import
        _message("CEB311", "电子订单", "Order", "OrderHead", ORDER_HEAD_SPEC,
                 "OrderList", ORDER_LIST_SPEC),
        _message("CEB312", "电子订单回执", "OrderReturn", None, ORDER_RETURN_SPEC,
                 receipt=True),
        _message("CEB411", "支付单", "Payment", "PaymentHead", PAYMENT_HEAD_SPEC),
        _message("CEB412", "支付单回执", "PaymentReturn", None, PAYMENT_RETURN_SPEC,
                 receipt=True),
        _message("CEB511", "物流运单", "Logistics", "LogisticsHead", LOGISTICS_HEAD_SPEC),
        _message("CEB512", "物流运单回执", "LogisticsReturn", None, LOGISTICS_RETURN_SPEC,
                 receipt=True),
        _message("CEB513", "物流运单状态", "LogisticsStatus", None, LOGISTICS_STATUS_SPEC),
        _message("CEB514", "物流运单状态回执", "LogisticsStatusReturn", None,
                 LOGISTICS_STATUS_RETURN_SPEC, receipt=True),
        _message("CEB621", "进口申报清单", "Inventory", "InventoryHead", INVENTORY_HEAD_SPEC,
                 "InventoryList", INVENTORY_LIST_SPEC),
        _message("CEB622", "清单回执", "InventoryReturn", None, INVENTORY_RETURN_SPEC,
                 receipt=True),
        _message("CEB623", "撤销申请单", "InvtCancel", None, INVT_CANCEL_SPEC),
        _message("CEB624", "撤销申请单回执", "InvtCancelReturn", None,
                 INVT_CANCEL_RETURN_SPEC, receipt=True),
        _message("CEB625", "退货申请单", "InvtRefund", "InvtRefundHead", INVT_REFUND_HEAD_SPEC,
                 "InvtRefundList", INVT_REFUND_LIST_SPEC),
        _message("CEB626", "退货申请单回执", "InvtRefundReturn", None,
                 INVT_REFUND_RETURN_SPEC, receipt=True),
        # one Delivery per message, any number of parcels under it
        _message("CEB711", "入库明细单", "Delivery", "DeliveryHead", DELIVERY_HEAD_SPEC,
                 "DeliveryList", DELIVERY_LIST_SPEC, max_records=1, max_lines=None),
        _message("CEB712", "入库明细单回执", "DeliveryReturn", None, DELIVERY_RETURN_SPEC,
                 receipt=True),
        # sent by customs like a receipt: no BaseTransfer, any number of Tax records
        _message("CEB816", "电子税单", "Tax", "TaxHeadRd", TAX_HEAD_SPEC, "TaxListRd",
                 TAX_LIST_SPEC, receipt=True, max_records=None),
        # export
        _message("CEB303", "出口电子订单", "Order", "OrderHead", EXPORT_ORDER_HEAD_SPEC,
                 "OrderList", EXPORT_ORDER_LIST_SPEC, direction="E", max_lines=100),
        _message("CEB304", "出口电子订单回执", "OrderReturn", None, EXPORT_ORDER_RETURN_SPEC,
                 receipt=True, direction="E"),
        _message("CEB505", "出口物流运单", "Logistics", None, EXPORT_LOGISTICS_SPEC,
                 direction="E"),
        _message("CEB506", "出口物流运单回执", "LogisticsReturn", None,
                 EXPORT_LOGISTICS_RETURN_SPEC, receipt=True, direction="E"),
        _message("CEB603", "出口申报清单", "Inventory", "InventoryHead",
                 EXPORT_INVENTORY_HEAD_SPEC, "InventoryList", EXPORT_INVENTORY_LIST_SPEC,
                 direction="E", max_lines=100),
        _message("CEB604", "出口清单回执", "InventoryReturn", None,
                 EXPORT_INVENTORY_RETURN_SPEC, receipt=True, direction="E"),
    )
}  # fmt: skip

RETURN_STATUS_ZH = {
    "1": "暂存",
    "2": "申报中",
    "3": "发送海关成功",
    "4": "发送海关失败",
    "100": "海关退单",
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

FIELD_ZH = {
    "guid": "系统唯一序号", "appTime": "报送时间", "orderNo": "订单编号",
    "ebpCode": "电商平台代码", "ebpName": "电商平台名称", "ebcCode": "电商企业代码",
    "ebcName": "电商企业名称", "goodsValue": "商品价格", "freight": "运杂费",
    "discount": "非现金抵扣金额", "taxTotal": "代扣税款", "acturalPaid": "实际支付金额",
    "currency": "币制", "buyerName": "订购人姓名", "buyerIdNumber": "订购人证件号码",
    "buyerTelephone": "订购人电话", "payCode": "支付企业代码",
    "payTransactionId": "支付交易编号", "consignee": "收货人姓名",
    "consigneeTelephone": "收货人电话", "consigneeAddress": "收货地址",
    "consigneeDistrict": "收货地址行政区划代码", "gnum": "商品序号", "itemName": "商品名称",
    "gmodel": "规格型号", "barCode": "条形码", "unit": "计量单位", "qty": "数量",
    "price": "单价", "totalPrice": "总价", "country": "国家（地区）代码",
    "amountPaid": "支付金额", "payTime": "支付时间", "payerIdNumber": "支付人证件号码",
    "logisticsCode": "物流企业代码", "logisticsNo": "物流运单编号", "weight": "毛重",
    "insuredFee": "保价费", "copNo": "企业内部编号", "preNo": "预录入编号",
    "invtNo": "清单编号", "declTime": "申报日期", "customsCode": "申报海关代码",
    "portCode": "口岸海关代码", "gcode": "海关商品编码", "gname": "商品名称",
    "tradeMode": "贸易方式", "grossWeight": "毛重", "netWeight": "净重",
    "returnStatus": "回执状态", "returnTime": "回执时间", "returnInfo": "回执信息",
    "taxNo": "电子税单编号", "customsTax": "应征关税", "valueAddedTax": "应征增值税",
    "consumptionTax": "应征消费税", "logisticsTime": "物流状态时间",
}  # fmt: skip
