"""The single source of truth for the chain graph's shape; see :mod:`graph_schema.schema`."""

from graph_schema.schema import (
    INTERNAL_LABELS,
    ROLES,
    SCHEMA,
    STAGE_ORDER,
    Flow,
    GraphSchema,
    Label,
    RelType,
    Role,
    Stage,
    UndeclaredError,
)

__all__ = [
    "INTERNAL_LABELS",
    "ROLES",
    "SCHEMA",
    "STAGE_ORDER",
    "Flow",
    "GraphSchema",
    "Label",
    "RelType",
    "Role",
    "Stage",
    "UndeclaredError",
]
