"""The statistics feature (统计监测体系).  Filled in by issue #14."""

from __future__ import annotations

from traceability.features import Feature

feature = Feature(name="statistics", title="统计监测")
