"""Reading what real senders produce: official samples, namespaces, BOMs, GB encodings,
the DxpMsg envelope, signatures - and refusing what must be refused."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from traceability.formats.ceb.parse import DEFAULT_MAX_BYTES, declared_encoding
from traceability.formats.ceb.spec import MESSAGES, FieldSpec, MessageSpec
from traceability.formats.ceb.validate import validate_record
from traceability.formats.ceb.xml import MessageError, Record, read_message, wrap_dxp, write_message

DATA = Path(__file__).parent / "data" / "ceb"
SAMPLES = sorted((DATA / "samples").glob("*.xml"))
SM2_SM3 = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"


def read(relative: str, **kwargs: int):
    return read_message((DATA / relative).read_bytes(), **kwargs)


# -- official samples (syntax examples: parser robustness only) --------------------------


def test_there_is_a_sample_for_every_type_except_the_tax_bill() -> None:
    codes = {p.name.removesuffix("Message.xml") for p in SAMPLES}
    assert codes == set(MESSAGES) - {"CEB816"}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_official_sample_parses(path: Path) -> None:
    message = read_message(path.read_bytes())
    assert message.spec.code == path.name.removesuffix("Message.xml")
    assert message.records and all(r.head for r in message.records)
    assert message.version == "1.0"
    if message.spec.lines:
        assert all(r.lines for r in message.records)
    if message.spec.has_base_transfer:  # requests: signed, with a sender
        assert message.signed and message.signature_method == SM2_SM3
        assert message.base_transfer["dxpMode"] == "DXP"
    else:  # receipts: unsigned, no BaseTransfer
        assert not message.signed and message.base_transfer == {}
        assert message.records[0].head["returnStatus"]


def test_sample_details_survive() -> None:
    order = read("samples/CEB311Message.xml").records[0]
    assert order.head["consignee"] == "焦洪宇" and order.head["ebpName"].startswith("东方物通")
    assert [line["gnum"] for line in order.lines] == ["1", "2"]
    inventory = read("samples/CEB621Message.xml").records[0]
    assert "tradeCountry" not in inventory.lines[1]  # optional element absent, not invented
    assert inventory.head["preNo"] == ""  # present but empty
    cancel = read("samples/CEB624Message.xml").records[0]
    assert cancel.head["copNo"] == "cop2016032210052"  # the sample's trailing tab is stripped
    assert read("samples/CEB514Message.xml").records[0].head["returnStatus"] == "18"


def test_duplicate_base_transfer_keeps_the_first_and_warns() -> None:
    message = read("samples/CEB303Message.xml")
    assert message.base_transfer["copCode"] == "1105910159"
    assert message.warnings == ["报文含多个 BaseTransfer，已取第一个"]


# -- namespaces, BOM, encodings ---------------------------------------------------------

ORDER_HEAD_EXPECTED = {"buyerName": "王镕", "consignee": "王镕",
                       "consigneeAddress": "河南省驻马店市驿城区文明路8号",
                       "ebpName": "中原跨境电商平台有限公司", "acturalPaid": "440.45"}  # fmt: skip


@pytest.mark.parametrize(
    ("fixture", "encoding"),
    [
        ("encodings/CEB311_utf8.xml", "UTF-8"),
        ("encodings/CEB311_bom.xml", "UTF-8"),
        ("encodings/CEB311_default_ns.xml", "UTF-8"),
        ("encodings/CEB311_no_ns.xml", "UTF-8"),
        ("encodings/CEB311_gbk.xml", "GBK"),
        ("encodings/CEB311_gb2312_label.xml", "GB2312"),
        ("encodings/CEB311_utf16.xml", "UTF-16"),
    ],
)
def test_every_variant_reads_to_the_same_chinese_text(fixture: str, encoding: str) -> None:
    message = read(fixture)
    head = message.records[0].head
    assert {k: head[k] for k in ORDER_HEAD_EXPECTED} == ORDER_HEAD_EXPECTED
    assert message.records[0].lines[0]["itemName"] == "婴儿配方奶粉（1段）"
    assert message.base_transfer["copName"] == "中原跨境电商平台有限公司"
    assert message.encoding == encoding
    assert message.records == read("encodings/CEB311_utf8.xml").records


def test_gbk_bytes_really_are_gbk() -> None:
    data = (DATA / "encodings/CEB311_gbk.xml").read_bytes()
    assert "王镕".encode("gbk") in data and "王镕".encode() not in data
    assert declared_encoding(data) == "GBK"
    # 镕 is outside GB2312: libxml2 alone would refuse the GB2312-labelled file
    with pytest.raises(UnicodeEncodeError):
        "镕".encode("gb2312")


def test_gb18030_four_byte_characters() -> None:
    data = (DATA / "encodings/CEB311_gb18030.xml").read_bytes()
    assert "𠮷".encode("gb18030") in data and len("𠮷".encode("gb18030")) == 4
    assert "陈䶮".encode("gb18030") in data
    head = read("encodings/CEB311_gb18030.xml").records[0].head
    assert head["buyerName"] == "陈䶮" and head["consignee"] == "陈䶮"
    assert head["consigneeAddress"] == "河南省驻马店市驿城区𠮷祥路8号"


def test_whitespace_before_the_declaration_is_tolerated() -> None:
    data = b"\r\n  " + (DATA / "encodings/CEB311_utf8.xml").read_bytes()
    assert read_message(data).records[0].head["buyerName"] == "王镕"


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("bad/CEB311_gbk_labelled_utf8.xml", "字节与声明的编码 UTF-8 不符"),
        ("bad/CEB311_gbk_invalid_bytes.xml", "声明编码为 GBK（按 GB18030 解码），第 32 行附近"),
    ],
)
def test_wrong_encoding_is_a_clear_chinese_error(fixture: str, expected: str) -> None:
    with pytest.raises(MessageError, match="报文编码错误") as caught:
        read(fixture)
    assert expected in str(caught.value)


def test_unsupported_encoding_label() -> None:
    data = b'<?xml version="1.0" encoding="x-no-such"?><CEB311Message/>'
    with pytest.raises(MessageError, match="编码不受支持"):
        read_message(data)


# -- DxpMsg envelope --------------------------------------------------------------------


def test_dxp_envelope_is_unwrapped_and_described() -> None:
    message = read("dxp/CEB311_gbk_in_dxp.xml")
    envelope = message.envelope
    assert envelope is not None
    assert (envelope.msg_type, envelope.sender_id, envelope.receiver_ids) == (
        "CEB311Message", "DXPENT0000000001", ("DXPEDCCEB0000002",))  # fmt: skip
    assert envelope.cop_msg_id == "0A1B2C3D-0000-4000-8000-0000000DXP01"
    assert (envelope.create_time, envelope.file_name) == ("2024-03-05T10:15:30",
                                                          "CEB311_20240305.xml")  # fmt: skip
    assert message.encoding == "GBK" and message.warnings == []
    assert message.records[0].head["buyerName"] == "王镕"


def test_dxp_msg_type_mismatch_is_a_warning() -> None:
    message = read("dxp/CEB311_msgtype_mismatch.xml")
    assert message.spec.code == "CEB311"
    assert message.warnings == ["DxpMsg 的 MsgType CEB621Message 与内层报文 CEB311Message 不一致"]


def test_wrap_dxp_round_trip_with_several_receivers() -> None:
    inner = (DATA / "samples/CEB622Message.xml").read_bytes()
    wrapped = wrap_dxp(inner, "CEB622Message", "EPORT", ["A1", "B2"])
    assert b"http://www.chinaport.gov.cn/dxp" in wrapped and base64.b64encode(inner) in wrapped
    message = read_message(wrapped)
    assert message.spec.code == "CEB622" and message.envelope.receiver_ids == ("A1", "B2")
    with pytest.raises(ValueError, match=r"1\.\.5"):
        wrap_dxp(inner, "CEB622Message", "EPORT", [f"R{i}" for i in range(6)])


DXP = '<dxp:DxpMsg ver="1.0" xmlns:dxp="http://www.chinaport.gov.cn/dxp">{}</dxp:DxpMsg>'
TRANS = "<dxp:TransInfo><dxp:SenderId>S</dxp:SenderId><dxp:MsgType>X</dxp:MsgType></dxp:TransInfo>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (TRANS, "缺少 TransInfo 或 Data"),
        (TRANS + "<dxp:Data>not base64!!</dxp:Data>", "不是合法的 Base64"),
        (TRANS + "<dxp:Data></dxp:Data>", "Data 为空"),
        (TRANS + "<dxp:Data>{nested}</dxp:Data>", "嵌套"),
        (TRANS + "<dxp:Data>{xxe}</dxp:Data>", "DTD"),
    ],
)
def test_bad_envelopes_are_refused(body: str, expected: str) -> None:
    nested = wrap_dxp((DATA / "samples/CEB622Message.xml").read_bytes(), "CEB622Message", "S", "R")
    xxe = (DATA / "bad/xxe.xml").read_bytes()
    body = body.format(nested=base64.b64encode(nested).decode(), xxe=base64.b64encode(xxe).decode())
    with pytest.raises(MessageError, match=expected):
        read_message(DXP.format(body).encode())


def test_wrapped_messages_obey_the_size_limit() -> None:
    wrapped = (DATA / "dxp/CEB311_gbk_in_dxp.xml").read_bytes()
    with pytest.raises(MessageError, match="报文过大"):
        read_message(wrapped, max_bytes=len(wrapped) - 1)
    assert read_message(wrapped, max_bytes=len(wrapped)).records


# -- signatures -------------------------------------------------------------------------


def test_signature_is_noted_and_left_out_of_the_records() -> None:
    text = (DATA / "encodings/CEB311_no_ns.xml").read_text(encoding="utf-8")
    signature = (
        '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
        '<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>'
        "</ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"
    )
    message = read_message(
        text.replace("</CEB311Message>", signature + "</CEB311Message>").encode()
    )
    assert message.signed and message.signature_method.endswith("#rsa-sha1")
    assert len(message.records) == 1 and "Signature" not in message.records[0].head
    assert not read("encodings/CEB311_no_ns.xml").signed


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["bad/xxe.xml", "bad/billion_laughs.xml"])
def test_dtds_and_entities_are_refused(fixture: str) -> None:
    with pytest.raises(MessageError, match="DTD"):
        read(fixture)


def test_dtd_hidden_in_utf16_is_refused_too() -> None:
    data = (DATA / "bad/xxe.xml").read_text(encoding="utf-8").encode("utf-16")
    with pytest.raises(MessageError, match="DTD"):
        read_message(data)


def test_oversize_input_is_refused_before_parsing() -> None:
    data = (DATA / "encodings/CEB311_utf8.xml").read_bytes()
    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024
    with pytest.raises(MessageError, match="报文过大"):
        read_message(data, max_bytes=len(data) - 1)
    assert read_message(data, max_bytes=len(data)).records


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "空报文"),
        (b"  \n ", "空报文"),
        (b"<ceb:CEB311Message", "XML 格式错误"),
        (b"<CEB999Message/>", "不支持的报文类型: CEB999Message"),
        (b"<Order/>", "不支持的报文类型: Order"),
        (b"<CEB311Message><BaseTransfer/></CEB311Message>", "没有 Order 记录"),
        (b"<CEB311Message><Order><OrderList/></Order></CEB311Message>", "Order 缺少 OrderHead"),
    ],
)
def test_malformed_messages(data: bytes, expected: str) -> None:
    with pytest.raises(MessageError, match=expected):
        read_message(data)


def _many(code: str, record: str, count: int) -> bytes:
    body = f"<{record}><guid>x</guid></{record}>" * count
    return f'<{code}Message xmlns="http://www.chinaport.gov.cn/ceb">{body}</{code}Message>'.encode()


def test_more_than_100_records_is_refused() -> None:
    assert len(read_message(_many("CEB622", "InventoryReturn", 100)).records) == 100
    with pytest.raises(MessageError, match="CEB622 报文记录数 101 超过上限 100"):
        read_message(_many("CEB622", "InventoryReturn", 101))


def test_one_delivery_per_message() -> None:
    sample = (DATA / "samples/CEB711Message.xml").read_text(encoding="utf-8")
    start, end = sample.index("<ceb:Delivery>"), sample.index("</ceb:Delivery>") + 15
    doubled = sample[:end] + sample[start:end] + sample[end:]
    with pytest.raises(MessageError, match="CEB711 报文记录数 2 超过上限 1"):
        read_message(doubled.encode())


# -- writing every message type ---------------------------------------------------------


def _valid(f: FieldSpec) -> str:
    kinds = {"decimal": "12.5", "int": "1", "datetime": "20240305101500", "date": "20240305",
             "datetime_ms": "20240305101500123", "receipt_time": "20240305101500123"}  # fmt: skip
    if f.kind in kinds:
        return kinds[f.kind]
    return "码" * min(f.max_length or 8, 8) if not f.exact else "9" * (f.max_length or 0)


def _records(spec: MessageSpec) -> list[Record]:
    head = {f.name: _valid(f) for f in spec.head_constraints}
    lines = [{f.name: _valid(f) for f in spec.line_constraints} for _ in range(2)]
    return [Record(head, lines if spec.lines else []) for _ in range(min(spec.max_records or 3, 3))]


@pytest.mark.parametrize("code", sorted(MESSAGES))
@pytest.mark.parametrize("encoding", ["UTF-8", "GB18030", "GBK"])
def test_write_then_read_every_message_type(code: str, encoding: str) -> None:
    spec = MESSAGES[code]
    records = _records(spec)
    base = {"copCode": "4101960001", "copName": "中原平台", "dxpMode": "DXP", "dxpId": "D1"}
    data = write_message(code, records, base, "0A1B2C3D-0000-4000-8000-000000000001",
                         encoding=encoding)  # fmt: skip
    assert data.startswith(f"<?xml version='1.0' encoding='{encoding}'?>".encode())
    message = read_message(data)
    assert message.spec is spec and message.encoding == encoding
    assert message.records == records
    assert all(validate_record(spec, r) == [] for r in message.records)
    assert (message.base_transfer.get("copName") == "中原平台") is spec.has_base_transfer


def test_write_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"1\.\.100"):
        write_message("CEB311", [], {})
    with pytest.raises(ValueError, match="unsupported output encoding"):
        write_message("CEB622", _records(MESSAGES["CEB622"]), {}, encoding="Big5")


def test_gbk_output_escapes_what_gbk_cannot_hold() -> None:
    spec = MESSAGES["CEB622"]
    record = _records(spec)[0]
    record.head["returnInfo"] = "放行 䶮"
    data = write_message("CEB622", [record], {}, encoding="GBK")
    assert "放行".encode("gbk") in data and b"&#19886;" in data
    assert read_message(data).records[0].head["returnInfo"] == "放行 䶮"
