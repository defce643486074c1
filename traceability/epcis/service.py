"""The EPCIS feature's settings and service: one event store and one capture per process."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from traceability.epcis.capture import Capture
from traceability.epcis.store import EventStore
from traceability.services import Services


class EpcisSettings(BaseModel):
    """Section ``[epcis]`` of the settings tree."""

    model_config = ConfigDict(extra="forbid")

    # Largest EPCIS document accepted, in bytes.
    max_bytes: int = Field(50 * 1024 * 1024, ge=1024)
    # Worker processes that validate and hash large documents; empty = one per CPU.
    workers: int | None = Field(None, ge=0, le=64)


@dataclass
class EpcisServices:
    events: EventStore
    capture: Capture

    def close(self) -> None:
        self.capture.close()
        self.events.close()


def build(services: Services) -> EpcisServices:
    """Capture into the event store (embedded file) and the graph store."""
    settings = services.settings.section("epcis", EpcisSettings)
    events = EventStore(services.settings.embedded_db_path)
    capture = Capture(events, services.store, settings.max_bytes, settings.workers)
    return EpcisServices(events, capture)
