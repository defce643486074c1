"""CBV 2.0 event hash IDs against the reference implementation's published vectors.

Every document in tests/data/epcis/reference/examples must hash to the IDs in its
``.hashes`` file, one per event in document order, whether it is the JSON-LD or the XML
serialisation; every document in expected_equal must give one ID for all its events.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from traceability.app.cli import main
from traceability.epcis.hashing import canonical_number, canonical_time, hash_id, prehash
from traceability.epcis.parse import parse_document

DATA = Path(__file__).parent / "data" / "epcis" / "reference"
EXAMPLES = sorted(p for p in (DATA / "examples").iterdir() if p.suffix != ".hashes")
EQUAL = sorted((DATA / "expected_equal").iterdir())


def _hashes(path: Path) -> list[str]:
    return [hash_id(e.body, e.namespaces) for e in parse_document(path.read_bytes()).events]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_published_vectors(path: Path) -> None:
    expected = path.with_suffix(".hashes").read_text().split()
    assert _hashes(path) == expected


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
