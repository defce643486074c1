"""An errorDeclaration that arrives after its event withdraws the event's edges from traces."""

from __future__ import annotations

import json
from pathlib import Path

from config import load_settings
from tests.world_builder import M2_PGLN, PF, PW, build_small_world, lgtin
from traceability.epcis import document
from traceability.services import build_services
from traceability.store.port import Direction, Edge, Node


def transformation(source: str, out: str, day: int, declared: bool = False) -> dict:
    event = {
        "type": "TransformationEvent", "bizStep": "commissioning",
        "eventTime": f"2026-01-1{day}T00:00:00.000Z", "eventTimeZoneOffset": "+00:00",
        "sourceList": [{"type": "owning_party", "source": M2_PGLN}],
        "inputQuantityList": [{"epcClass": lgtin(PW, source), "quantity": 50, "uom": "KGM"}],
        "outputQuantityList": [{"epcClass": lgtin(PF, out), "quantity": 500}],
    }  # fmt: skip
    if declared:
        event["errorDeclaration"] = {
            "declarationTime": "2026-02-01T00:00:00.000Z", "reason": "incorrect_data",
        }  # fmt: skip
    return event


def test_late_error_declaration_cuts_the_chain(tmp_path: Path, hasher) -> None:
    services = build_services(load_settings(environ={"QTRACE_DATA_DIR": str(tmp_path)}))
    world = build_small_world(hasher)
    for batch in world.batches:  # the CEB side of the small world, and its lots
        services.store.upsert(
            [n for n in batch.nodes if n.label != "Batch" or not n.key.endswith(("F1", "F2"))],
            [e for e in batch.edges if e.type != "TRANSFORMED_INTO"],
        )
    assert services.trace.recall([world.lots["I1"]])["summary"]["orders"] == 0
    capture = services.feature("epcis").capture
    events = [transformation("I1", "F1", 1), transformation("I2", "F2", 2)]
    payload = json.dumps(document(events, [], "2026-01-20T00:00:00.000Z")).encode()
    assert capture.capture_bytes(payload).ok
    assert services.trace.recall([world.lots["I1"]])["summary"]["orders"] == 2

    declared = [transformation("I1", "F1", 1, declared=True)]
    payload = json.dumps(document(declared, [], "2026-02-01T00:00:00.000Z")).encode()
    result = capture.capture_bytes(payload)
    assert len(result.declared) == 1
    assert services.trace.recall([world.lots["I1"]])["summary"]["orders"] == 0
    forward = services.trace.trace("batch", world.lots["I1"], "forward")
    assert world.lots["F1"] not in {n["key"] for n in forward["nodes"]}
    # The other transformation is untouched.
    assert services.trace.recall([world.lots["I2"]])["summary"]["orders"] == 2
    services.close()


def test_retracted_edges_are_not_walked_by_any_store(store) -> None:
    a, b = Node("Batch", "01234567890128:A"), Node("Batch", "01234567890128:B")
    store.upsert([a, b], [Edge("TRANSFORMED_INTO", a.ref, b.ref, {"eventID": "e1"})])
    assert len(store.subgraph(a.ref, Direction.FORWARD, 5, 100).nodes) == 2
    store.upsert([], [Edge("TRANSFORMED_INTO", a.ref, b.ref, {"errorDeclared": True})])
    assert set(store.subgraph(a.ref, Direction.FORWARD, 5, 100).nodes) == {a.ref}
    assert set(store.subgraph(b.ref, Direction.BACKWARD, 5, 100).nodes) == {b.ref}
    assert store.recall_rows([a.ref], 5) == []
