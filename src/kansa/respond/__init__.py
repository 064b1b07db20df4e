"""Breach response: which reports an incident requires (APPI, My Number Act, GDPR), by when, and drafts.

Public API: ``assess(incident, today)``, ``load_incident(path)``, ``draft(incident, out_dir, ...)``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from kansa.respond.engine import assess_incident
from kansa.respond.incident import Incident, load_incident, parse_incident


def assess(incident: dict[str, Any] | Incident, today: date) -> dict[str, Any]:
    """Assess an incident (a mapping as in an incident YAML, or an Incident) as of ``today``."""
    inc = incident if isinstance(incident, Incident) else parse_incident(incident)
    return assess_incident(inc, today)


__all__ = ["Incident", "assess", "load_incident", "parse_incident"]
