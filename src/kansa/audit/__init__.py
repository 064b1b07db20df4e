"""Insider detection: explainable, causal findings over the access model, merged into cases.

Public API (other capabilities and the CLI call only these):
``run_audit``, ``list_findings``, ``explain``, ``triage``, ``evaluate``, ``list_cases``,
``show_case``, ``confirm``, ``dismiss``, ``export_ocsf``, ``write_report``.
"""

from kansa.audit.cases import confirm, dismiss, list_cases, show_case
from kansa.audit.evaluate import evaluate
from kansa.audit.ocsf import export_ocsf
from kansa.audit.report import write_report
from kansa.audit.run import explain, list_findings, run_audit, triage

__all__ = [
    "confirm",
    "dismiss",
    "evaluate",
    "explain",
    "export_ocsf",
    "list_cases",
    "list_findings",
    "run_audit",
    "show_case",
    "triage",
    "write_report",
]
