"""PIPL: personal data in clear, for public security only, with a reason, audited first.

The graph and the ledger hold only keyed hashes and masked forms; the originals are in
the regulator's archive (``<data_dir>/archive/<format>/<sha256>.xml``, encrypted at rest
when ``[privacy] archive_key`` is set: see :mod:`traceability.formats.archive`).  An
unmasking reads (and decrypts) the original message that carries the document and returns
its personal fields.
The audit entry is written before anything is returned: no entry, no data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traceability.accounts.store import AccountStore
from traceability.errors import InvalidInput, NotFound
from traceability.formats.archive import Archive
from traceability.formats.ceb.xml import MessageError, read_message

# kind -> (message code, key fields, personal fields)
KINDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "order": ("CEB311", ("ebpCode", "orderNo"), (
        "buyerName", "buyerIdType", "buyerIdNumber", "buyerTelephone", "consignee",
        "consigneeTelephone", "consigneeAddress")),
    "payment": ("CEB411", ("payCode", "payTransactionId"), (
        "payerName", "payerIdType", "payerIdNumber", "telephone")),
    "waybill": ("CEB511", ("logisticsCode", "logisticsNo"), (
        "consignee", "consigneeTelephone", "consigneeAddress")),
    "inventory": ("CEB621", ("copNo",), (
        "buyerName", "buyerIdType", "buyerIdNumber", "buyerTelephone", "consigneeAddress")),
}  # fmt: skip
MIN_REASON = 8
MAX_FILES = 200_000  # a scan bound: the archive has no index yet


def _find(archive: Archive, code: str, fields: tuple[str, ...], values: list[str],
          personal: tuple[str, ...]) -> dict[str, str] | None:  # fmt: skip
    needle = values[-1]
    patterns = (needle.encode("utf-8"), needle.encode("utf-16-le"), needle.encode("utf-16-be"))
    for count, path in enumerate(archive.files(code)):
        if count >= MAX_FILES:
            break
        data = archive.read(path)  # a wrong key fails here, clearly (ArchiveKeyError)
        if not any(p in data for p in patterns):
            continue
        try:
            message = read_message(data)
        except MessageError:
            continue
        for record in message.records:
            if [record.head.get(f, "") for f in fields] == values:
                return {name: record.head.get(name, "") for name in personal}
    return None


def unmask(store: AccountStore, archive: Archive | Path, actor: str, body: Any) -> dict[str, Any]:
    """``archive``: the site's :class:`Archive` (a bare folder reads unencrypted files only)."""
    if not isinstance(body, dict):
        raise InvalidInput('请求体应为 JSON：{"kind": "order", "key": "...", "reason": "..."}')
    kind, key = str(body.get("kind", "")), str(body.get("key", ""))
    reason, case = str(body.get("reason", "")).strip(), str(body.get("case", "")).strip()
    if kind not in KINDS:
        raise InvalidInput(f"kind 应为 {', '.join(KINDS)} 之一")
    if len(reason) < MIN_REASON:
        raise InvalidInput(f"须说明查询事由 (reason)，至少 {MIN_REASON} 个字")
    code, fields, personal = KINDS[kind]
    values = key.split(":", len(fields) - 1)
    if len(values) != len(fields) or not all(values):
        raise InvalidInput(f"{kind} 的 key 应为 {':'.join(fields)}")
    store.audit(actor, "pii.unmask", f"{kind}:{key}",
                {"reason": reason, "case": case, "fields": list(personal)})  # fmt: skip
    if not isinstance(archive, Archive):
        archive = Archive(archive)
    found = _find(archive, code, fields, values, personal)
    if found is None:
        raise NotFound(f"归档中未找到 {kind} {key} 的原始报文")
    return {"kind": kind, "key": key, "fields": found, "audited": True}
