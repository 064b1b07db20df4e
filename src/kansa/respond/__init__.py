"""Breach response: which reports an incident requires (APPI, My Number Act, GDPR), by when, and drafts.

Public API: ``assess(incident, today)``, ``load_incident(path)``, ``draft(incident, out_dir, ...)``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from kansa.respond.drafts import render_drafts, write_drafts
from kansa.respond.engine import assess_incident
from kansa.respond.incident import Incident, load_incident, parse_incident


def assess(incident: dict[str, Any] | Incident, today: date) -> dict[str, Any]:
    """Assess an incident (a mapping as in an incident YAML, or an Incident) as of ``today``."""
    inc = incident if isinstance(incident, Incident) else parse_incident(incident)
    return assess_incident(inc, today)


def draft(
    incident: dict[str, Any] | Incident, out_dir: Path, today: date, *, lang: str = "ja", pdf: bool = False
) -> dict[str, Any]:
    """Write PPC report (速報/確報) and notice drafts to ``out_dir`` as HTML (and PDF); return paths."""
    inc = incident if isinstance(incident, Incident) else parse_incident(incident)
    return write_drafts(inc, out_dir, today, lang=lang, pdf=pdf)


__all__ = ["Incident", "assess", "draft", "load_incident", "parse_incident", "render_drafts"]
