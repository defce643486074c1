"""The enterprise filing list (企业备案名录): ties customs codes to USCCs and names.

CEB messages name enterprises by their 10-character customs registration code; the
responsibility chain must also show the unified social credit code.  Regulators receive
both from the customs enterprise filing, exchanged as a CSV with this header.
"""

from __future__ import annotations

import csv
import io

from traceability.formats.identifiers import is_valid_customs_code, is_valid_uscc
from traceability.ingest.mapping import GraphBatch, MappingError

REGISTRY_FILE = "enterprises.csv"
REGISTRY_HEADER = ("海关编码", "统一社会信用代码", "企业名称", "角色")


def is_registry(data: bytes) -> bool:
    first_line = data.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    return first_line.decode("utf-8", "replace").strip().split(",") == list(REGISTRY_HEADER)


def read_registry(data: bytes) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MappingError("企业备案名录应为 UTF-8 编码的 CSV") from None
    rows = list(csv.reader(io.StringIO(text)))
    return [dict(zip(REGISTRY_HEADER, row, strict=False)) for row in rows[1:] if any(row)]


def registry_row(row: dict[str, str]) -> GraphBatch:
    code, uscc = row.get("海关编码", "").strip(), row.get("统一社会信用代码", "").strip()
    if not is_valid_customs_code(code):
        raise MappingError(f"海关编码无效: {code!r}")
    if uscc and not is_valid_uscc(uscc):
        raise MappingError(f"统一社会信用代码校验失败: {uscc!r}")
    batch = GraphBatch()
    batch.node("Enterprise", code, customsCode=code, uscc=uscc or None,
               name=row.get("企业名称", "").strip() or None)  # fmt: skip
    return batch
