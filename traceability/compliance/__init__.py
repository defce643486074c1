"""Compliance checks on CEB documents: three-document matching, limits, identifiers."""

from traceability.compliance.engine import ComplianceEngine
from traceability.compliance.findings import FINDING_TYPES, Finding, Severity
from traceability.compliance.ledger import Ledger

__all__ = ["FINDING_TYPES", "ComplianceEngine", "Finding", "Ledger", "Severity"]
