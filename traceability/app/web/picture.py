"""Lay a trace out as a picture: upstream columns on the left, downstream on the right.

Columns come from the trace (a longest-path layering computed with networkx); this module
only places boxes within columns and draws edges between them, as data for an inline SVG
template, so the console needs no JavaScript library and no CDN.

``Picture.width``/``height`` are the drawing's exact extent (boxes plus margins, no gap
after the last column), used as the SVG's ``viewBox``; the page scales the SVG down to fit
its column (see ``console.css``) and scrolls only when that would make the text too small.
Labels are clipped by display width (a CJK character is about twice a Latin one) so that
no text runs out of its box, or out of the picture in the right-most column.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from traceability.analysis.describe import describe

BOX_W, BOX_H = 176, 46
GAP_X, GAP_Y = 64, 14
MARGIN = 16
MAX_DRAWN = 240
# Display-width budgets, in half-width units (one Latin character = 1, one CJK = 2),
# for the text inside a box: 12px titles and 10px subtitles, 8px padding each side.
TITLE_UNITS, SUBTITLE_UNITS = 24, 28

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


def _units(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` display units, an ellipsis (2 units) marking the cut."""
    if sum(_units(c) for c in text) <= limit:
        return text
    used, kept = 2, []
    for char in text:
        used += _units(char)
        if used > limit:
            break
        kept.append(char)
    return "".join(kept).rstrip() + "…"


def extent(count: int, size: int, gap: int) -> int:
    """Length of ``count`` boxes of ``size`` with ``gap`` between them, plus both margins."""
    return MARGIN * 2 + count * size + max(count - 1, 0) * gap


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
                    node["id"], x, y, _clip(f"{node['labelZh']} {text}", TITLE_UNITS),
                    _clip(node["key"], SUBTITLE_UNITS), LABEL_COLOURS.get(node["label"], "#ffffff"),
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
        width=extent(max(len(order), 1), BOX_W, GAP_X),
        height=extent(tallest, BOX_H, GAP_Y),
        boxes=boxes,
        lines=lines,
        omitted=len(nodes) - len(drawn),
    )
