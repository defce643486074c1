"""Message formats, identifiers and reference data: pure functions, no store, web or CLI."""
