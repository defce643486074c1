"""EPCIS events join the CEB graph: a trace runs from a manufacturer's commissioning
event through a transformation to a cross-border order, and on to customs and the buyer."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests import world_builder as wb
from traceability import epcis as epcis_doc
from traceability.analysis.trace import TraceService
from traceability.epcis import capture as capture_module
from traceability.epcis.capture import Capture
from traceability.epcis.errors import EpcisError
from traceability.epcis.store import EventStore
from traceability.formats.privacy import PersonalDataHasher
from traceability.store.sqlite import SQLiteGraphStore


def _production() -> list[dict[str, Any]]:
    """The hand-built world's production, as EPCIS 2.0 events (valid, with offsets)."""
    common = {"eventTimeZoneOffset": "+00:00", "bizStep": "commissioning",
              "readPoint": {"id": "urn:epc:id:sgln:9400001.00001.0"}}  # fmt: skip
    made = [
        {"type": "ObjectEvent", "action": "ADD", **common,
         "eventTime": f"2026-01-0{day}T00:00:00.000Z",
         "sourceList": [{"type": "owning_party", "source": wb.M1_PGLN}],
         "quantityList": [{"epcClass": wb.lgtin(wb.PW, lot), "quantity": 100, "uom": "KGM"}],
         "ilmd": {"cbvmda:lotNumber": lot, "cbvmda:itemExpirationDate": "2027-01-01"}}
        for lot, day in (("I1", 1), ("I2", 2))
    ]  # fmt: skip
    blended = [
        {"type": "TransformationEvent", **common,
         "eventTime": f"2026-01-1{day}T00:00:00.000Z",
         "sourceList": [{"type": "owning_party", "source": wb.M2_PGLN}],
         "inputQuantityList": [{"epcClass": wb.lgtin(wb.PW, source), "quantity": 50, "uom": "KGM"}],
         "outputQuantityList": [{"epcClass": wb.lgtin(wb.PF, out), "quantity": 500}]}
        for source, out, day in (("I1", "F1", 1), ("I2", "F2", 2))
    ]  # fmt: skip
    return made + blended


def _document(events: list[dict[str, Any]]) -> bytes:
    mda = epcis_doc.MDA
    vocabularies = [
        epcis_doc.vocabulary(epcis_doc.VTYPE_PARTY, {
            wb.M1_PGLN: {mda + "name": "Kiwi Whey Ltd", mda + "countryCode": "609"},
            wb.M2_PGLN: {mda + "name": "Alpen Formula GmbH", mda + "countryCode": "304"},
        }),
    ]  # fmt: skip
    return orjson.dumps(epcis_doc.document(events, vocabularies, "2026-02-01T00:00:00Z"))


@pytest.fixture
def world(tmp_path: Path) -> tuple[Capture, TraceService, wb.SmallWorld]:
    graph = SQLiteGraphStore(tmp_path / "qtrace.db")
    graph.ensure_schema()
    events = EventStore(tmp_path / "qtrace.db")
    small = wb.build_small_world(PersonalDataHasher(b"test-key-0123456789abcdef"))
    for batch in small.batches[1:]:  # the CEB documents; production comes as EPCIS
        graph.upsert(batch.nodes, batch.edges)
    capture = Capture(events, graph)
    capture.capture_bytes(_document(_production()))
    yield capture, TraceService(graph), small
    events.close()
    graph.close()


def _keys(trace: dict[str, Any], label: str) -> set[str]:
    return {n["key"] for n in trace["nodes"] if n["label"] == label}


def test_trace_from_order_back_reaches_the_commissioned_ingredient_and_its_maker(world) -> None:
    _, traces, small = world
    trace = traces.trace("order", small.orders["O1"], "back")
    assert {small.lots["F1"], small.lots["I1"]} <= _keys(trace, "Batch")
    assert {wb.M1_GLN, wb.M2_GLN} <= _keys(trace, "Enterprise")
    edges = {(e["type"]) for e in trace["edges"]}
    assert {"PRODUCED", "TRANSFORMED_INTO", "SOLD_IN"} <= edges
    makers = {n["props"].get("name") for n in trace["nodes"] if n["label"] == "Enterprise"}
    assert {"Kiwi Whey Ltd", "Alpen Formula GmbH"} <= makers  # from the document's master data


def test_trace_forward_from_ingredient_reaches_orders_customs_and_buyer(world) -> None:
    _, traces, small = world
    trace = traces.trace("batch", small.lots["I1"], "forward")
    assert {small.orders["O1"], small.orders["O2"]} <= _keys(trace, "Order")
    assert _keys(trace, "Clearance") and _keys(trace, "Buyer")


def test_capture_again_changes_nothing(world) -> None:
    capture, _, _ = world
    before = capture.graph.counts()
    result = capture.capture_bytes(_document(_production()))
    assert result.captured == [] and len(result.duplicates) == 4
    assert capture.graph.counts() == before


def test_event_with_error_declaration_contributes_nothing(world) -> None:
    capture, traces, small = world
    wrong = copy.deepcopy(_production()[2])
    wrong["eventTime"] = "2026-01-20T00:00:00.000Z"
    wrong["outputQuantityList"] = [{"epcClass": wb.lgtin(wb.PF, "F9"), "quantity": 1}]
    wrong["errorDeclaration"] = {
        "declarationTime": "2026-01-21T00:00:00Z",
        "reason": "incorrect_data",
    }
    result = capture.capture_bytes(_document([wrong]))
    assert len(result.captured) == 1
    trace = traces.trace("batch", small.lots["I1"], "forward")
    assert f"{wb.PF14}:F9" not in _keys(trace, "Batch")


def test_rollback_leaves_both_stores_untouched(world) -> None:
    capture, _, _ = world
    before = (capture.graph.counts(), capture.events.count())
    bad = _production()
    bad[1]["quantityList"][0]["quantity"] = "lots"
    with pytest.raises(EpcisError):
        capture.capture_bytes(
            _document([*bad, {**_production()[0], "eventTime": "2026-03-01T00:00:00Z"}])
        )
    assert (capture.graph.counts(), capture.events.count()) == before


def test_worker_processes_check_large_documents_like_the_inline_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pool starts only after PARALLEL_MIN_TOTAL_BYTES of input; this test wants it.
    monkeypatch.setattr(capture_module, "PARALLEL_MIN_TOTAL_BYTES", 0)
    """A document over the parallel threshold is checked by worker processes: same IDs,
    same rollback."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from bench_epcis import build

    (data,) = build(400, 400)
    assert len(data) >= capture_module.PARALLEL_MIN_BYTES
    results = []
    for workers in (0, 2):
        graph = SQLiteGraphStore(tmp_path / f"w{workers}.db")
        graph.ensure_schema()
        events = EventStore(tmp_path / f"w{workers}.db")
        capture = Capture(events, graph, workers=workers)
        try:
            results.append(sorted(capture.capture_bytes(data).captured))
            assert (capture._checkers is not None) == (workers > 0)  # the pool really ran
            broken = orjson.loads(data)
            broken["epcisBody"]["eventList"][399]["action"] = "MOVE"
            broken["epcisBody"]["eventList"][0]["eventTime"] = "2030-01-01T00:00:00Z"
            with pytest.raises(EpcisError) as caught:
                capture.capture_bytes(orjson.dumps(broken))
            assert any("/eventList/399" in p.pointer for p in caught.value.problems)
            assert events.count() == 400
        finally:
            capture.close()
            events.close()
            graph.close()
    assert results[0] == results[1] and len(results[0]) == 400
