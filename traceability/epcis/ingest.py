"""EPCIS documents in ``qtrace ingest``: the feature's document handler for the ingestor."""

from __future__ import annotations

import re

from traceability.epcis.capture import Capture
from traceability.epcis.errors import EpcisError
from traceability.ingest.ingestor import IngestError

_EVENT_POINTER = re.compile(r"/eventList/(\d+)")


class EpcisDocumentHandler:
    """Claims EPCIS JSON-LD and XML documents and captures them whole (schema, CBV, hash IDs,
    event store, graph)."""

    def __init__(self, capture: Capture) -> None:
        self.capture = capture

    def detect(self, data: bytes) -> str | None:
        head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"{"):
            return "EPCIS-JSON"
        if head.startswith(b"<") and b"EPCISDocument" in data[:2048]:
            return "EPCIS-XML"
        return None

    def handle(self, data: bytes) -> int:
        try:
            result = self.capture.capture_bytes(data)
        except EpcisError as exc:
            details = "；".join(str(p) for p in exc.problems[:3])
            reason = f"{exc.message}{'：' + details if details else ''}"
            event = _EVENT_POINTER.search(exc.problems[0].pointer) if exc.problems else None
            raise IngestError(reason, int(event.group(1)) + 1 if event else None) from None
        return result.events
