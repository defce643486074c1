"""The risk feature (风险防控): collect, assess, warn, review.  Filled in by issue #9."""

from __future__ import annotations

from traceability.features import Feature

feature = Feature(name="risk", title="风险预警")
