"""Code may only use labels and relationship types that graph_schema declares."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from graph_schema import INTERNAL_LABELS, SCHEMA, Flow

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p for folder in ("traceability", "graph_schema", "alerts", "sentiment", "bench")
    for p in (ROOT / folder).rglob("*.py")
)  # fmt: skip
LABEL_CALLS = {"node", "Node", "NodeRef", "iter_nodes"}
REL_CALLS = {"edge", "Edge", "iter_edges", "rel"}


def _first_string_arg(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def used_names() -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    labels, rels = set(), set()
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            value = _first_string_arg(node)
            if value is None:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if name in LABEL_CALLS:
                labels.add((value, where))
            elif name in REL_CALLS:
                rels.add((value, where))
        # Relationship types and labels named inside SQL and Cypher text.
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"type\s*=\s*'([A-Z_]+)'|-\[\w*:([A-Z_]+)", text):
            rels.add((match.group(1) or match.group(2), f"{path.relative_to(ROOT)} (query)"))
        for match in re.finditer(r"\(\w+:([A-Z][a-z][A-Za-z]*)[\s{)]", text):
            labels.add((match.group(1), f"{path.relative_to(ROOT)} (query)"))
    return labels, rels


def test_every_used_label_and_relationship_is_declared() -> None:
    labels, rels = used_names()
    assert labels and rels  # the scan itself must find the uses
    undeclared = [
        f"label {n} at {w}"
        for n, w in labels
        if n not in SCHEMA.labels and n not in INTERNAL_LABELS
    ]
    undeclared += [f"relationship {n} at {w}" for n, w in rels if n not in SCHEMA.relationships]
    assert not undeclared, "\n".join(sorted(undeclared))


def test_scan_would_catch_an_undeclared_name(tmp_path: Path) -> None:
    probe = 'batch.node("Parcel", "k")\nbatch.edge("TELEPORTED_TO", a, b)\n'
    tree = ast.parse(probe)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    found = {_first_string_arg(c) for c in calls}
    assert {"Parcel", "TELEPORTED_TO"} <= found
    assert "Parcel" not in SCHEMA.labels and "TELEPORTED_TO" not in SCHEMA.relationships


def test_every_relationship_has_a_flow_and_valid_ends() -> None:
    for rel in SCHEMA.relationships.values():
        assert rel.flow in Flow
        assert rel.source in SCHEMA.labels and rel.target in SCHEMA.labels
