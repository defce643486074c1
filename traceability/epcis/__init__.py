"""GS1 EPCIS 2.0 / CBV 2.0: capture, validation, event hash IDs, event store and query.

Modules, in the order data flows through them:

* :mod:`.parse` / :mod:`.xml` read JSON-LD and XML into one normalised event form;
* :mod:`.validate` checks documents against the official JSON Schema and the CBV lists;
* :mod:`.hashing` computes the CBV 2.0 canonical event hash ID that keys every event;
* :mod:`.store` keeps events in the embedded SQLite file beside the graph;
* :mod:`.graph` maps events to graph records (lots, products, enterprises);
* :mod:`.capture` runs capture jobs (validate everything, then write, idempotently);
* :mod:`.query`, :mod:`.web`, :mod:`.cli` are the REST binding and the command line.

The document writer's names (``document``, ``vocabulary`` …) are importable from here.
"""

from traceability.epcis.errors import EpcisError
from traceability.epcis.writer import (
    EPCIS_CONTEXT,
    MDA,
    VTYPE_CLASS,
    VTYPE_PARTY,
    document,
    idpat_to_gtin,
    master_data,
    read_document,
    vocabulary,
)

__all__ = [
    "EPCIS_CONTEXT",
    "MDA",
    "VTYPE_CLASS",
    "VTYPE_PARTY",
    "EpcisError",
    "document",
    "idpat_to_gtin",
    "master_data",
    "read_document",
    "vocabulary",
]
