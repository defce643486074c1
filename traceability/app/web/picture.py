"""Lay a trace out as a picture: upstream columns on the left, downstream on the right.

Columns come from the trace (a longest-path layering computed with networkx); this module
only places boxes within columns and draws edges between them, as data for an inline SVG
template, so the console needs no JavaScript library and no CDN.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from traceability.analysis.describe import describe

BOX_W, BOX_H = 176, 46
GAP_X, GAP_Y = 64, 14
MARGIN = 16
MAX_DRAWN = 240

LABEL_COLOURS = {
    "Enterprise": "#e8eefc",
    "Product": "#eaf6ea",
    "Batch": "#d9f0d9",
    "Order": "#fff3d6",
    "Payment": "#fde8d8",
    "Waybill": "#e6f2f7",
    "Inventory": "#efe6f7",
    "Clearance": "#f3e3ef",
    "Buyer": "#f5f5f5",
    "Consignee": "#f5f5f5",
    "District": "#fafafa",
    "Port": "#e8eefc",
}


@dataclass(frozen=True, slots=True)
class Box:
    id: str
    x: int
    y: int
    title: str
    subtitle: str
    fill: str
    root: bool


@dataclass(frozen=True, slots=True)
class Line:
    x1: int
    y1: int
    x2: int
    y2: int
    label: str


@dataclass(frozen=True, slots=True)
class Picture:
    width: int
    height: int
    boxes: list[Box]
    lines: list[Line]
    omitted: int


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lay_out(result: dict[str, Any]) -> Picture:
    nodes = sorted(result["nodes"], key=lambda n: (n["depth"], n["label"], n["key"]))
    drawn = nodes[:MAX_DRAWN]
    columns: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for node in drawn:
        columns[node["column"]].append(node)
    order = sorted(columns)
    position: dict[str, tuple[int, int]] = {}
    boxes = []
    root_id = result["root"]["id"]
    for index, column in enumerate(order):
        for row, node in enumerate(sorted(columns[column], key=lambda n: (n["label"], n["key"]))):
            x = MARGIN + index * (BOX_W + GAP_X)
            y = MARGIN + row * (BOX_H + GAP_Y)
            position[node["id"]] = (x, y)
            text = describe(node["label"], node["key"], node["props"])
            boxes.append(
                Box(
                    node["id"], x, y, _clip(f"{node['labelZh']} {text}", 16),
                    _clip(node["key"], 26), LABEL_COLOURS.get(node["label"], "#ffffff"),
                    node["id"] == root_id,
                )
            )  # fmt: skip
    lines = []
    for edge in result["edges"]:
        if edge["from"] in position and edge["to"] in position:
            (x1, y1), (x2, y2) = position[edge["from"]], position[edge["to"]]
            if x2 > x1:
                lines.append(Line(x1 + BOX_W, y1 + BOX_H // 2, x2, y2 + BOX_H // 2, edge["typeZh"]))
            else:
                lines.append(Line(x1 + BOX_W // 2, y1 + BOX_H, x2 + BOX_W // 2, y2, edge["typeZh"]))
    tallest = max((len(c) for c in columns.values()), default=1)
    return Picture(
        width=MARGIN * 2 + len(order) * (BOX_W + GAP_X),
        height=MARGIN * 2 + tallest * (BOX_H + GAP_Y),
        boxes=boxes,
        lines=lines,
        omitted=len(nodes) - len(drawn),
    )
