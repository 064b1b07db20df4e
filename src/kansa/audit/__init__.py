"""Insider detection: explainable, causal findings over the access model, merged into cases.

Public API (other capabilities and the CLI call only these):
``run_audit``, ``list_findings``, ``explain``, ``triage``, ``evaluate``, ``list_cases``,
``show_case``, ``confirm``, ``dismiss``.
"""

from kansa.audit.cases import confirm, dismiss, list_cases, show_case
from kansa.audit.evaluate import evaluate
from kansa.audit.run import explain, list_findings, run_audit, triage

__all__ = [
    "confirm",
    "dismiss",
    "evaluate",
    "explain",
    "list_cases",
    "list_findings",
    "run_audit",
    "show_case",
    "triage",
]
