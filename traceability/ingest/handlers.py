"""The port through which features add document formats to ingest.

The core reads CEB messages and the enterprise filing list itself.  A feature that owns
another format (EPCIS documents, say) gives the ingestor a :class:`DocumentHandler`:
``detect`` claims a document from its first bytes, ``handle`` validates and stores it
whole or raises :class:`~traceability.ingest.ingestor.IngestError` naming the record.
"""

from __future__ import annotations

from typing import Protocol


class DocumentHandler(Protocol):
    def detect(self, data: bytes) -> str | None:
        """The format name (``EPCIS-JSON`` …) if this handler takes the document, else None."""
        ...

    def handle(self, data: bytes) -> int:
        """Store the document all-or-nothing; return how many records it held."""
        ...
