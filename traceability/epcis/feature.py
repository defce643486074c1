"""The EPCIS 2.0 feature: the ``/epcis`` REST binding, ``qtrace epcis`` and EPCIS ingest."""

from __future__ import annotations

from traceability.epcis.cli import epcis_group
from traceability.epcis.ingest import EpcisDocumentHandler
from traceability.epcis.openapi import openapi_paths
from traceability.epcis.service import EpcisServices, EpcisSettings, build
from traceability.epcis.web import epcis
from traceability.features import Feature
from traceability.services import Services


def _handlers(services: Services) -> list[EpcisDocumentHandler]:
    service: EpcisServices = services.feature("epcis")
    return [EpcisDocumentHandler(service.capture)]


feature = Feature(
    name="epcis",
    title="EPCIS 2.0 事件",
    settings=EpcisSettings,
    build=build,
    commands=lambda: [epcis_group],
    blueprints=lambda: [epcis],
    openapi_paths=openapi_paths,
    ingest=_handlers,
)
