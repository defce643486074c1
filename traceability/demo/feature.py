"""The demo feature: ``qtrace generate``, ``qtrace demo`` and the console's example keys."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from traceability.demo.cli import demo, generate
from traceability.features import Feature
from traceability.services import Services


@functools.lru_cache(maxsize=8)
def _stories(manifest: Path, mtime: float) -> dict[str, Any]:
    stories: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))["stories"]
    return stories


def examples(services: Services) -> Iterator[dict[str, Any]]:
    """Story keys of the demo worlds in the data folder, as one-click console examples."""
    for manifest in sorted(services.settings.data_dir.glob("demo-world-*/manifest.json")):
        stories = _stories(manifest, manifest.stat().st_mtime)
        defective = stories["defective_lot"]
        yield {"title": "缺陷原料批次去向", "kind": "batch", "key": defective["batch"],
               "direction": "forward"}  # fmt: skip
        for order in defective["sample_orders"][:1]:
            yield {"title": "问题订单溯源", "kind": "order", "key": order, "direction": "back"}
        for name, title in (("payment_mismatch", "支付金额不符订单"),
                            ("consignee_mismatch", "收货人不一致订单"),
                            ("single_limit", "超单笔限值订单")):  # fmt: skip
            for order in stories.get(name, {}).get("orders", [])[:1]:
                yield {"title": title, "kind": "order", "key": order, "direction": "both"}
        yield {"title": "召回范围", "recall": defective["batch"]}


feature = Feature(
    name="demo",
    title="演示世界",
    commands=lambda: [generate, demo],
    examples=examples,
    requires=("opinions",),
)
