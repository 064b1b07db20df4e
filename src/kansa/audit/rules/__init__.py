"""The insider detectors, one small module each, and their registry.

Every rule is ``rule(con, cutoff, cfg) -> list[Finding]`` (see ``registry``): causal (bounded by
``cutoff``; baselines for day D use only days before D), explained (figures, evidence event ids,
a reason in Japanese and English) and configured from YAML (``kansa.audit.config``).

``RULES`` maps names to those functions; ``run_rules(con, cutoff, RULES, names)`` applies the
workspace's configuration (enabled rules, thresholds, scopes, exemptions). ``ALL_RULES`` keeps the
older two-argument call ``fn(con, cutoff)`` working, with the configuration applied inside.
"""

from __future__ import annotations

from collections.abc import Callable

from kansa.audit.finding import Finding
from kansa.audit.rules.audit_off import audit_off
from kansa.audit.rules.bulk import bulk_pull
from kansa.audit.rules.contracts import after_end, unregistered_subcontractor
from kansa.audit.rules.curiosity import curiosity
from kansa.audit.rules.no_task import no_task
from kansa.audit.rules.off_hours import off_hours_terminal
from kansa.audit.rules.registry import RuleFn, RuleRun, compat, filter_findings, run_rules, workspace_root
from kansa.audit.rules.silence import audit_silence
from kansa.audit.rules.slow_leak import slow_leak
from kansa.audit.rules.usb import usb_after_download, usb_unexplained

RULES: dict[str, RuleFn] = {
    "bulk_pull": bulk_pull,
    "no_task": no_task,
    "curiosity": curiosity,
    "usb_after_download": usb_after_download,
    "audit_off": audit_off,
    "slow_leak": slow_leak,
    "unregistered_subcontractor": unregistered_subcontractor,
    "after_end": after_end,
    "audit_silence": audit_silence,
    "usb_unexplained": usb_unexplained,
    "off_hours_terminal": off_hours_terminal,
}

ALL_RULES: dict[str, Callable[..., list[Finding]]] = {name: compat(name, RULES) for name in RULES}

__all__ = ["ALL_RULES", "RULES", "RuleFn", "RuleRun", "filter_findings", "run_rules", "workspace_root"]
