"""Findings: what customs would reject or question, with stable codes and bilingual text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class FindingType:
    code: str
    severity: Severity
    zh: str
    en: str


_TYPES = [
    FindingType("ORDER_ARITHMETIC", Severity.MEDIUM,
                "订单实付金额与 货值+运费+税款−优惠 不符",
                "Order acturalPaid differs from goodsValue + freight + taxTotal - discount"),
    FindingType("ORDER_GOODS_VALUE", Severity.MEDIUM,
                "订单货值与表体商品总价之和不符",
                "Order goodsValue differs from the sum of its line totals"),
    FindingType("LINE_TOTAL", Severity.MEDIUM,
                "商品行总价不等于 单价×数量",
                "A line's totalPrice differs from price x qty"),
    FindingType("PAYMENT_AMOUNT_MISMATCH", Severity.HIGH,
                "支付单支付金额与订单实付金额不符",
                "Payment amountPaid differs from the order's acturalPaid"),
    FindingType("CONSIGNEE_MISMATCH", Severity.MEDIUM,
                "运单收货人信息与订单不一致",
                "Waybill consignee differs from the order"),
    FindingType("INVENTORY_LINES_MISMATCH", Severity.MEDIUM,
                "清单表体与订单表体不能按商品序号一一对应，或商品名称不一致",
                "Inventory lines do not map 1:1 to order lines by gnum, or gname differs"),
    FindingType("BUYER_PAYER_MISMATCH", Severity.HIGH,
                "订购人与支付人不是同一人",
                "Buyer and payer differ"),
    FindingType("SINGLE_LIMIT_EXCEEDED", Severity.HIGH,
                "单次交易金额超过跨境电商零售进口单次限值",
                "Single transaction over the cross-border retail import limit"),
    FindingType("ANNUAL_QUOTA_EXCEEDED", Severity.HIGH,
                "订购人年度交易累计金额超过年度限值",
                "Buyer's declared total in the calendar year is over the annual quota"),
    FindingType("BAD_ID_NUMBER", Severity.MEDIUM,
                "身份证件号码校验位错误或格式无效",
                "Resident ID number has a bad check character or format"),
    FindingType("BAD_USCC", Severity.MEDIUM,
                "统一社会信用代码校验位错误或格式无效",
                "Unified social credit code has a bad check character or format"),
    FindingType("BAD_HS_CODE", Severity.MEDIUM,
                "商品编码 (HS) 不是 10 位数字",
                "HS code is not 10 digits"),
    FindingType("MISSING_PARTNER_DOCUMENT", Severity.MEDIUM,
                "超过时限仍缺少对应单证（三单不全）",
                "A partner document is still missing after the time window"),
    FindingType("DUPLICATE_DECLARATION", Severity.MEDIUM,
                "对仍有效的单证重复申报新增",
                "A new declaration repeats an active document"),
]  # fmt: skip

FINDING_TYPES: dict[str, FindingType] = {t.code: t for t in _TYPES}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    keys: tuple[str, ...]
    expected: Any
    actual: Any
    detail_zh: str = ""
    detail_en: str = ""
    time: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The document kind of each leading key (order, payment, waybill, inventory), if known.
    kinds: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """Stable identity: the same problem on the same records is one finding."""
        basis = "\x1f".join([self.code, *sorted(self.keys)])
        return hashlib.sha1(basis.encode()).hexdigest()[:20]

    @property
    def type(self) -> FindingType:
        return FINDING_TYPES[self.code]

    def as_json(self) -> dict[str, Any]:
        kind = self.type
        return {
            "id": self.id,
            "code": self.code,
            "severity": kind.severity.value,
            "keys": list(self.keys),
            "expected": self.expected,
            "actual": self.actual,
            "message_zh": kind.zh + (f"：{self.detail_zh}" if self.detail_zh else ""),
            "message_en": kind.en + (f": {self.detail_en}" if self.detail_en else ""),
            "time": self.time,
            "records": [
                {"kind": doc_kind, "key": key}
                for doc_kind, key in zip(self.kinds, self.keys, strict=False)
            ],
            **({"extra": self.extra} if self.extra else {}),
        }
