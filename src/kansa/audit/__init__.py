"""Insider detection: explainable, causal findings over the access model.

Public API (other capabilities and the CLI call only these):
``run_audit``, ``list_findings``, ``explain``, ``triage``, ``evaluate``.
"""

from kansa.audit.evaluate import evaluate
from kansa.audit.run import explain, list_findings, run_audit, triage

__all__ = ["evaluate", "explain", "list_findings", "run_audit", "triage"]
