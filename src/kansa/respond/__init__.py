"""Breach response: which reports an incident requires (APPI, My Number Act, GDPR), by when, and drafts.

kansa drafts; a person decides. Public API:
``assess(incident, today)``, ``deadlines(incident, today, done=None)``, ``countdown_lines(rows)``, ``load_incident(path)``,
``parse_incident(mapping)``, ``draft(incident, out_dir, today, ...)``,
``incident_from_trace(trace, learned_at, **facts)`` and the workspace incident register:
``open_incident``, ``update_incident``, ``mark_done``, ``get_incident``, ``list_incidents``,
``draft_incident``, ``entrustors_from_workspace``, ``open_from_trace`` (one call for the demo).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from kansa.respond.casefile import (
    draft_incident,
    entrustors_from_workspace,
    get_incident,
    list_incidents,
    mark_done,
    open_from_trace,
    open_incident,
    update_incident,
)
from kansa.respond.deadlines import countdown_lines
from kansa.respond.deadlines import deadlines as _deadlines
from kansa.respond.drafts import render_drafts, write_drafts
from kansa.respond.engine import assess_incident
from kansa.respond.fromtrace import incident_from_trace
from kansa.respond.incident import Incident, load_incident, parse_incident


def _inc(incident: dict[str, Any] | Incident) -> Incident:
    return incident if isinstance(incident, Incident) else parse_incident(incident)


def assess(incident: dict[str, Any] | Incident, today: date) -> dict[str, Any]:
    """Assess an incident (a mapping as in an incident YAML, or an Incident) as of ``today``."""
    return assess_incident(_inc(incident), today)


def deadlines(
    incident: dict[str, Any] | Incident, today: date, done: dict[str, date] | None = None
) -> list[dict[str, Any]]:
    """The countdown: each obligation with state overdue | due | asap | to_confirm | done, due day, days left."""
    return _deadlines(_inc(incident), today, done=done)


def draft(
    incident: dict[str, Any] | Incident, out_dir: Path, today: date, *, lang: str = "ja", pdf: bool = False
) -> dict[str, Any]:
    """Write PPC report (速報/確報), notice and timeline drafts to ``out_dir`` as HTML (and PDF)."""
    return write_drafts(_inc(incident), out_dir, today, lang=lang, pdf=pdf)


__all__ = [
    "Incident", "assess", "countdown_lines", "deadlines", "draft", "draft_incident", "entrustors_from_workspace", "get_incident", "incident_from_trace", "list_incidents",
    "load_incident", "mark_done", "open_from_trace", "open_incident", "parse_incident", "render_drafts", "update_incident",
]
