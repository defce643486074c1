"""Compliance checks on CEB documents: three-document matching, limits, identifiers."""

from traceability.analysis.compliance.engine import ComplianceEngine
from traceability.analysis.compliance.findings import FINDING_TYPES, Finding, Severity
from traceability.analysis.compliance.ledger import Ledger

__all__ = ["FINDING_TYPES", "ComplianceEngine", "Finding", "Ledger", "Severity"]
