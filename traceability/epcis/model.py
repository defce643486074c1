"""The normalised form every EPCIS event is turned into, whatever syntax it came in.

An event is kept as a JSON-LD object in the shape of the EPCIS 2.0 JSON binding (standard
CBV values as bare terms, quantities as numbers), with extension members named
``prefix:local``.  ``namespaces`` binds each prefix the event uses, so the event can be
hashed, stored and served on its own, outside the document it came in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)


@dataclass(slots=True)
class Event:
    body: dict[str, Any]
    namespaces: dict[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return str(self.body.get("type", ""))


@dataclass(slots=True)
class Document:
    """A parsed EPCIS document: its events in order, its master data, how it came."""

    events: list[Event]
    raw: dict[str, Any]
    syntax: str  # "json" or "xml"
    namespaces: dict[str, str] = field(default_factory=dict)
    vocabularies: list[dict[str, Any]] = field(default_factory=list)
    kind: str = "EPCISDocument"
