"""CBV 2.0 event hash IDs against the reference implementation's published vectors.

Every document in tests/data/epcis/reference/examples and .../custom_context must hash to
the IDs in its ``.hashes`` file, one per event in document order, whether it is the JSON-LD
or the XML serialisation; where the reference also published the pre-hash strings
(``.prehashes``), ours must be the same text.  Every document in expected_equal must give
one ID for all its events.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from traceability.app.cli import main
from traceability.epcis.hashing import canonical_number, canonical_time, hash_id, prehash
from traceability.epcis.parse import parse_document

DATA = Path(__file__).parent / "data" / "epcis" / "reference"
DOCUMENT_SUFFIXES = (".json", ".jsonld", ".xml")
EXAMPLES = sorted(p for p in (DATA / "examples").iterdir() if p.suffix in DOCUMENT_SUFFIXES)
CUSTOM = sorted(p for p in (DATA / "custom_context").iterdir() if p.suffix in DOCUMENT_SUFFIXES)
PREHASHES = sorted((DATA / "custom_context").glob("*.prehashes"))
EQUAL = sorted((DATA / "expected_equal").iterdir())


def _hashes(path: Path) -> list[str]:
    return [hash_id(e.body, e.namespaces) for e in parse_document(path.read_bytes()).events]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_published_vectors(path: Path) -> None:
    expected = path.with_suffix(".hashes").read_text().split()
    assert _hashes(path) == expected


@pytest.mark.parametrize("path", CUSTOM, ids=lambda p: p.name)
def test_custom_context_vectors(path: Path) -> None:
    """Extra @context prefixes, GS1 Web Vocabulary codes, nested master data, comments."""
    expected = path.with_suffix(".hashes").read_text().split()
    assert _hashes(path) == expected


@pytest.mark.parametrize("path", PREHASHES, ids=lambda p: p.name)
def test_published_prehash_strings(path: Path) -> None:
    expected = path.read_text().splitlines()
    hashes = path.with_suffix(".hashes").read_text().split()
    digests = [hashlib.sha256(line.encode()).hexdigest() for line in expected]
    assert [f"ni:///sha-256;{d}?ver=CBV2.0" for d in digests] == hashes  # vendored intact
    document = next(path.with_suffix(s) for s in DOCUMENT_SUFFIXES if path.with_suffix(s).exists())
    events = parse_document(document.read_bytes()).events
    assert [prehash(e.body, e.namespaces) for e in events] == expected


def test_custom_context_vectors_are_the_newest_set() -> None:
    names = {p.stem for p in CUSTOM}
    assert {"masterDataAvailableForWithVeryMixedVoc", "masterDataAvailableForWithMixedVoc",
            "masterDataAvailableForGS1WebVocOnly", "masterDataAvailableForIncludingGS1DEWebVoc",
            "masterDataAvailableForDeforestation", "ralfsChaosExample",
            "epcisDocWithDefaultSchemaInContext", "epcisEventWithCURIEs",
            "epcisDocHavingEventWithComment"} <= names  # fmt: skip


@pytest.mark.parametrize("path", EQUAL, ids=lambda p: p.name)
def test_expected_equal(path: Path) -> None:
    hashes = _hashes(path)
    assert len(hashes) > 1 and len(set(hashes)) == 1


def test_vectors_cover_every_event_type_in_both_syntaxes() -> None:
    seen: dict[str, set[str]] = {}
    for path in EXAMPLES:
        for event in parse_document(path.read_bytes()).events:
            seen.setdefault(event.type, set()).add("xml" if path.suffix == ".xml" else "json")
    for kind in ("ObjectEvent", "AggregationEvent", "TransactionEvent",
                 "TransformationEvent", "AssociationEvent"):  # fmt: skip
        assert seen[kind] == {"xml", "json"}, kind
    assert len(EXAMPLES) >= 30


def test_all_distinct_documents_give_distinct_ids() -> None:
    ids: dict[str, str] = {}
    for path in EXAMPLES:
        for h in _hashes(path):
            ids.setdefault(h, path.stem)
    by_stem = {p.stem for p in EXAMPLES}
    assert len(set(ids.values())) == len(by_stem)


def test_cli_prints_one_id_per_event_in_document_order() -> None:
    path = DATA / "examples" / "SensorDataExamples.xml"
    result = CliRunner().invoke(main, ["epcis", "hash", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == path.with_suffix(".hashes").read_text().split()


def test_cli_reports_a_bad_file_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(main, ["epcis", "hash", str(bad)])
    assert result.exit_code == 1
    assert "ValidationException" in result.output and "JSON" in result.output


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),
        ("2023-02-02T11:04:03.1414Z", "2023-02-02T11:04:03.141Z"),
        ("2020-01-01T00:59:59.9995+01:00", "2020-01-01T00:00:00.000Z"),
        ("2019-10-21T14:58:56+02:00", "2019-10-21T12:58:56.000Z"),
        ("2022-02-16T08:40:21.3142715Z", "2022-02-16T08:40:21.314Z"),
    ],
)
def test_timestamps_are_utc_milliseconds_rounded_half_up(raw: str, expected: str) -> None:
    assert canonical_time(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("26.0", "26"), ("0.100", "0.1"), ("+5", "5"), ("111100001111000011110000",
     "111100001111000011110000"), ("1e-05", "0.00001"), ("abc", "abc"), ("NaN", "NaN")],
)  # fmt: skip
def test_numbers_lose_trailing_zeros_exactly(raw: str, expected: str) -> None:
    assert canonical_number(raw) == expected


def test_event_id_record_time_and_error_declaration_do_not_change_the_hash() -> None:
    path = DATA / "examples" / "ReferenceEventHashAlgorithm.jsonld"
    event = parse_document(path.read_bytes()).events[0]
    base = prehash(event.body, event.namespaces)
    body = {
        **event.body,
        "eventID": "urn:uuid:1",
        "recordTime": "2030-01-01T00:00:00Z",
        "errorDeclaration": {"declarationTime": "2030-01-01T00:00:00Z", "reason": "did_not_occur"},
    }
    assert prehash(body, event.namespaces) == base


def _event(**members: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": "2024-03-01T10:00:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": ["https://id.gs1.org/01/06901234567892/21/A1"],
        "action": "OBSERVE",
        **members,
    }


NS = {"ex": "https://ns.example.com/epcis/", "gs1": "https://ref.gs1.org/voc/"}


def test_bare_gs1_code_under_a_code_list_property_is_its_iri() -> None:
    codes = [{"id": "https://id.gs1.org/414/6901234000004", "locationRoleType": "BACKROOM"}]
    spelled = [{"id": "https://id.gs1.org/414/6901234000004",
                "locationRoleType": "gs1:LocationRoleType-BACKROOM"}]  # fmt: skip
    bare = prehash(_event(**{"gs1:masterDataAvailableFor": codes}), NS)
    assert "locationRoleType=https://ref.gs1.org/voc/LocationRoleType-BACKROOM" in bare
    assert bare == prehash(_event(**{"gs1:masterDataAvailableFor": spelled}), NS)
    other = [{"id": "https://id.gs1.org/414/6901234000004", "locationRole": "BACKROOM"}]
    assert "locationRole=BACKROOM" in prehash(_event(**{"gs1:masterDataAvailableFor": other}), NS)


def test_bare_value_that_is_no_cbv_term_stays_bare() -> None:
    assert "bizStep=notifying" in prehash(_event(bizStep="notifying"), NS)
    assert "bizStep=https://ref.gs1.org/cbv/BizStep-receiving" in prehash(
        _event(bizStep="receiving"), NS
    )


def test_json_ld_id_and_type_inside_extensions_are_hashed_comments_are_not() -> None:
    data = [{"@id": "https://id.gs1.org/01/06901234567892", "@type": "gs1:Product"}]
    text = prehash(_event(**{"gs1:masterDataAvailableFor": data}), NS)
    assert "@id=https://id.gs1.org/01/06901234567892@type=https://ref.gs1.org/voc/Product" in text
    commented = _event(**{"rdfs:comment": "a note", "comment": "another"})
    assert prehash(commented, NS) == prehash(_event(), NS)


def test_sensor_report_biz_rules_is_hashed_as_the_reference_does() -> None:
    """bizRules is no member of the CBV 2.0 sensorReport order: it follows the reference."""
    report = {"type": "Temperature", "value": 4.5, "uom": "CEL",
              "bizRules": "https://example.com/rules/cold-chain"}  # fmt: skip
    alone = prehash(_event(sensorElementList=[{"sensorReport": [report]}]), NS)
    assert alone.endswith(
        "sensorElementListsensorElementsensorReportbizRules=https://example.com/rules/cold-chain"
    )
    extended = {**report, "ex:probe": "p1"}  # an extension in the element takes precedence
    with_extension = prehash(_event(sensorElementList=[{"sensorReport": [extended]}]), NS)
    assert with_extension.endswith(
        "sensorElementsensorReport{https://ns.example.com/epcis/}probe=p1"
    )
    assert "bizRules" not in with_extension
