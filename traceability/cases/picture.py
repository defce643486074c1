"""The connecting subgraph of a network search as an inline SVG (no JavaScript, no CDN).

Columns are hop distances from the root; each box is a party or an identifier, shown
masked; each line is labelled with the relation (收货电话, 收货地址 …).  The same box
sizes and clipping as the trace picture (``traceability/app/web/picture.py``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from traceability.app.web.picture import BOX_H, BOX_W, GAP_X, GAP_Y, Box, Line, Picture, _clip
from traceability.app.web.picture import extent as _extent

COLOURS = {"buyer": "#f5f5f5", "phone": "#fde8d8", "address": "#e6f2f7",
           "enterprise": "#e8eefc", "legal_rep": "#efe6f7"}  # fmt: skip
MARGIN = 16
MAX_DRAWN = 120


def network_picture(subgraph: dict[str, Any], root: str) -> Picture:
    columns: dict[int, list[dict[str, Any]]] = defaultdict(list)
    nodes = sorted(subgraph["nodes"], key=lambda n: (n["depth"], n["kind"], n["id"]))
    drawn = nodes[:MAX_DRAWN]
    for node in drawn:
        columns[node["depth"]].append(node)
    position: dict[str, tuple[int, int]] = {}
    boxes = []
    for column in sorted(columns):
        for row, node in enumerate(columns[column]):
            x, y = MARGIN + column * (BOX_W + GAP_X), MARGIN + row * (BOX_H + GAP_Y)
            position[node["id"]] = (x, y)
            boxes.append(Box(node["id"], x, y, _clip(f"{node['kind_zh']} {node['display']}", 24),
                             _clip(f"{node['depth']} 跳", 28), COLOURS.get(node["kind"], "#fff"),
                             node["id"] == root))  # fmt: skip
    lines = []
    for edge in subgraph["edges"]:
        if edge["from"] in position and edge["to"] in position:
            (x1, y1), (x2, y2) = position[edge["from"]], position[edge["to"]]
            lines.append(Line(x1 + BOX_W, y1 + BOX_H // 2, x2, y2 + BOX_H // 2, edge["relation"]))
    tallest = max((len(c) for c in columns.values()), default=1)
    return Picture(
        width=_extent(max(len(columns), 1), BOX_W, GAP_X),
        height=_extent(tallest, BOX_H, GAP_Y),
        boxes=boxes,
        lines=lines,
        omitted=len(nodes) - len(drawn),
    )
