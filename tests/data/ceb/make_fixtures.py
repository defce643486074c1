"""Regenerate the hand-made fixtures in this folder (the official samples are vendored).

Run from the repository root: ``.venv/bin/python tests/data/ceb/make_fixtures.py``.
Every fixture is one consistent CEB311 order (arithmetic adds up) whose Chinese names
exercise the encodings: 镕 is in GBK but not GB2312; 䶮 (U+4DAE, two bytes) and 𠮷
(U+20BB7, four bytes) exist only in GB18030.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from traceability.formats.ceb.xml import wrap_dxp

HERE = Path(__file__).parent
CEB = "http://www.chinaport.gov.cn/ceb"

ORDER = """<?xml version="1.0" encoding="{encoding}"?>
<ceb:CEB311Message guid="0A1B2C3D-0000-4000-8000-000000000311" version="1.0" xmlns:ceb="{ns}">
  <ceb:Order>
    <ceb:OrderHead>
      <ceb:guid>0A1B2C3D-0000-4000-8000-000000000001</ceb:guid>
      <ceb:appType>1</ceb:appType>
      <ceb:appTime>20240305101500</ceb:appTime>
      <ceb:appStatus>2</ceb:appStatus>
      <ceb:orderType>I</ceb:orderType>
      <ceb:orderNo>ZY2024030500000001</ceb:orderNo>
      <ceb:ebpCode>4101960001</ceb:ebpCode>
      <ceb:ebpName>中原跨境电商平台有限公司</ceb:ebpName>
      <ceb:ebcCode>4101960002</ceb:ebcCode>
      <ceb:ebcName>天中进口商贸有限公司</ceb:ebcName>
      <ceb:goodsValue>398.00</ceb:goodsValue>
      <ceb:freight>10.00</ceb:freight>
      <ceb:discount>0</ceb:discount>
      <ceb:taxTotal>32.45</ceb:taxTotal>
      <ceb:acturalPaid>440.45</ceb:acturalPaid>
      <ceb:currency>142</ceb:currency>
      <ceb:buyerRegNo>U000000001</ceb:buyerRegNo>
      <ceb:buyerName>{buyer}</ceb:buyerName>
      <ceb:buyerTelephone>13800000000</ceb:buyerTelephone>
      <ceb:buyerIdType>1</ceb:buyerIdType>
      <ceb:buyerIdNumber>41172819900101002X</ceb:buyerIdNumber>
      <ceb:payCode>4101960003</ceb:payCode>
      <ceb:payName>豫付支付有限公司</ceb:payName>
      <ceb:payTransactionId>P2024030510150001</ceb:payTransactionId>
      <ceb:batchNumbers>LOT2401,LOT2402</ceb:batchNumbers>
      <ceb:consignee>{buyer}</ceb:consignee>
      <ceb:consigneeTelephone>13800000000</ceb:consigneeTelephone>
      <ceb:consigneeAddress>河南省驻马店市驿城区{street}路8号</ceb:consigneeAddress>
      <ceb:consigneeDistrict>411702</ceb:consigneeDistrict>
      <ceb:note></ceb:note>
    </ceb:OrderHead>
    <ceb:OrderList>
      <ceb:gnum>1</ceb:gnum>
      <ceb:itemNo>SKU000001</ceb:itemNo>
      <ceb:itemName>婴儿配方奶粉（1段）</ceb:itemName>
      <ceb:gmodel>800克/罐</ceb:gmodel>
      <ceb:barCode>4512345678906</ceb:barCode>
      <ceb:unit>007</ceb:unit>
      <ceb:qty>2</ceb:qty>
      <ceb:price>99.00</ceb:price>
      <ceb:totalPrice>198.00</ceb:totalPrice>
      <ceb:currency>142</ceb:currency>
      <ceb:country>116</ceb:country>
    </ceb:OrderList>
    <ceb:OrderList>
      <ceb:gnum>2</ceb:gnum>
      <ceb:itemNo>SKU000002</ceb:itemNo>
      <ceb:itemName>保湿面霜</ceb:itemName>
      <ceb:gmodel>50毫升/瓶</ceb:gmodel>
      <ceb:barCode>4512345678913</ceb:barCode>
      <ceb:unit>007</ceb:unit>
      <ceb:qty>1</ceb:qty>
      <ceb:price>200.00</ceb:price>
      <ceb:totalPrice>200.00</ceb:totalPrice>
      <ceb:currency>142</ceb:currency>
      <ceb:country>116</ceb:country>
    </ceb:OrderList>
  </ceb:Order>
  <ceb:BaseTransfer>
    <ceb:copCode>4101960001</ceb:copCode>
    <ceb:copName>中原跨境电商平台有限公司</ceb:copName>
    <ceb:dxpMode>DXP</ceb:dxpMode>
    <ceb:dxpId>DXPENT0000000001</ceb:dxpId>
  </ceb:BaseTransfer>
</ceb:CEB311Message>
"""


def order(encoding: str = "UTF-8", buyer: str = "王镕", street: str = "文明") -> str:
    return ORDER.format(encoding=encoding, ns=CEB, buyer=buyer, street=street)


def default_ns(text: str) -> str:
    return text.replace("ceb:", "").replace("xmlns:ceb=", "xmlns=")


def no_ns(text: str) -> str:
    return text.replace("ceb:", "").replace(f' xmlns:ceb="{CEB}"', "")


def main() -> None:
    enc, dxp, bad = HERE / "encodings", HERE / "dxp", HERE / "bad"
    for folder in (enc, dxp, bad):
        folder.mkdir(exist_ok=True)
    utf8 = order().encode("utf-8")
    (enc / "CEB311_utf8.xml").write_bytes(utf8)
    (enc / "CEB311_bom.xml").write_bytes(b"\xef\xbb\xbf" + utf8)
    (enc / "CEB311_default_ns.xml").write_bytes(default_ns(order()).encode("utf-8"))
    (enc / "CEB311_no_ns.xml").write_bytes(no_ns(order()).encode("utf-8"))
    (enc / "CEB311_gbk.xml").write_bytes(order("GBK").encode("gbk"))
    # A GB2312 label on GBK bytes (镕 is not in GB2312): what Windows tools really produce.
    (enc / "CEB311_gb2312_label.xml").write_bytes(order("GB2312").encode("gbk"))
    (enc / "CEB311_gb18030.xml").write_bytes(
        order("GB18030", buyer="陈䶮", street="𠮷祥").encode("gb18030")
    )
    (enc / "CEB311_utf16.xml").write_bytes(order("UTF-16").encode("utf-16"))
    # Wrong encodings: GBK bytes labelled UTF-8, and bytes GB18030 cannot decode.
    (bad / "CEB311_gbk_labelled_utf8.xml").write_bytes(order("UTF-8").encode("gbk"))
    broken = order("GBK").encode("gbk").replace("文明".encode("gbk"), b"\x81\x20\xff")
    (bad / "CEB311_gbk_invalid_bytes.xml").write_bytes(broken)
    (bad / "xxe.xml").write_bytes(
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        b'<CEB311Message xmlns="http://www.chinaport.gov.cn/ceb"><Order><OrderHead>'
        b"<orderNo>&e;</orderNo></OrderHead></Order></CEB311Message>\n"
    )
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    (bad / "billion_laughs.xml").write_bytes(
        f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY l0 "lol">{lol}]>\n'
        "<CEB311Message><Order><OrderHead><orderNo>&l9;</orderNo></OrderHead></Order>"
        "</CEB311Message>\n".encode()
    )
    created = dt.datetime(2024, 3, 5, 10, 15, 30)
    (dxp / "CEB311_gbk_in_dxp.xml").write_bytes(
        wrap_dxp(
            order("GBK").encode("gbk"), "CEB311Message", "DXPENT0000000001",
            "DXPEDCCEB0000002", cop_msg_id="0A1B2C3D-0000-4000-8000-0000000DXP01",
            created=created, file_name="CEB311_20240305.xml",
        )
    )  # fmt: skip
    (dxp / "CEB311_msgtype_mismatch.xml").write_bytes(
        wrap_dxp(utf8, "CEB621Message", "DXPENT0000000001", "DXPEDCCEB0000002",
                 cop_msg_id="mismatch", created=created)
    )  # fmt: skip


if __name__ == "__main__":
    main()
