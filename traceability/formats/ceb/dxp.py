"""The DXP transport envelope (``DxpMsg``, 中国电子口岸数据交换平台客户端传输报文).

Messages fetched from the exchange platform arrive wrapped: ``TransInfo`` says who sent
what to whom, ``Data`` carries the business XML in Base64, ``AddInfo`` and an envelope
``ds:Signature`` are optional.  The envelope is unwrapped here; the caller parses the
payload with the same protections and size limit as any other message.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from traceability.formats.ceb.parse import MessageError, local_name
from traceability.formats.ceb.spec import DXP_NS

CHINA_TZ = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class DxpEnvelope:
    """``TransInfo`` (and what else the envelope says) of a received ``DxpMsg``."""

    msg_type: str
    sender_id: str
    receiver_ids: tuple[str, ...]
    cop_msg_id: str
    create_time: str
    file_name: str = ""
    signed: bool = False


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def unwrap(root: etree._Element) -> tuple[DxpEnvelope, bytes]:
    """The envelope's transport facts and its decoded payload (not yet parsed: the caller
    parses it like any message, so the same size limit and protections apply)."""
    parts = {local_name(child.tag): child for child in root if isinstance(child.tag, str)}
    info = parts.get("TransInfo")
    data = parts.get("Data")
    if info is None or data is None:
        raise MessageError("DxpMsg 传输报文缺少 TransInfo 或 Data")
    fields = {local_name(c.tag): c for c in info if isinstance(c.tag, str)}
    receivers = fields.get("ReceiverIds")
    receiver_ids = tuple(
        _text(r) for r in (receivers if receivers is not None else ()) if isinstance(r.tag, str)
    )
    encoded = "".join((data.text or "").split())
    try:
        payload = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise MessageError("DxpMsg 的 Data 不是合法的 Base64 编码") from None
    if not payload:
        raise MessageError("DxpMsg 的 Data 为空")
    add = parts.get("AddInfo")
    file_name = ""
    if add is not None:
        file_name = next(
            (_text(c) for c in add if isinstance(c.tag, str) and local_name(c.tag) == "FileName"),
            "",
        )
    envelope = DxpEnvelope(
        msg_type=_text(fields.get("MsgType")),
        sender_id=_text(fields.get("SenderId")),
        receiver_ids=receiver_ids,
        cop_msg_id=_text(fields.get("CopMsgId")),
        create_time=_text(fields.get("CreatTime")),
        file_name=file_name,
        signed="Signature" in parts,
    )
    return envelope, payload


def wrap_dxp(
    data: bytes,
    msg_type: str,
    sender: str,
    receiver: str | Sequence[str],
    *,
    cop_msg_id: str | None = None,
    created: dt.datetime | None = None,
    file_name: str | None = None,
) -> bytes:
    """Wrap a business message in a ``DxpMsg`` envelope, as a client node sends it.

    ``receiver`` may be one id or up to five (the schema's limit).
    """
    receivers = [receiver] if isinstance(receiver, str) else list(receiver)
    if not 1 <= len(receivers) <= 5:
        raise ValueError(f"a DxpMsg has 1..5 receivers, got {len(receivers)}")
    when = created or dt.datetime.now(CHINA_TZ).replace(microsecond=0)
    q = f"{{{DXP_NS}}}"
    root = etree.Element(f"{q}DxpMsg", nsmap={"dxp": DXP_NS}, ver="1.0")
    info = etree.SubElement(root, f"{q}TransInfo")
    etree.SubElement(info, f"{q}CopMsgId").text = cop_msg_id or str(uuid.uuid4())
    etree.SubElement(info, f"{q}SenderId").text = sender
    ids = etree.SubElement(info, f"{q}ReceiverIds")
    for rid in receivers:
        etree.SubElement(ids, f"{q}ReceiverId").text = rid
    etree.SubElement(info, f"{q}CreatTime").text = when.replace(tzinfo=None).isoformat()
    etree.SubElement(info, f"{q}MsgType").text = msg_type
    etree.SubElement(root, f"{q}Data").text = base64.b64encode(data).decode("ascii")
    if file_name:
        add = etree.SubElement(root, f"{q}AddInfo")
        etree.SubElement(add, f"{q}FileName").text = file_name
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
