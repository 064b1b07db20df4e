"""Rules engine: which breach-reporting duties an incident triggers, by when, and why.

Why rules as data (rules.yaml): the law changes (APPI 2022, the 2024 rule amendment) and
organisations add their own duties (contracts, ordinances); editing a reviewed YAML file with a
citation per rule is safer than editing code. Every obligation carries the triggers that fired,
their legal basis and a plain reason, so an officer can check the assessment, not just trust it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from kansa.model.errors import KansaError
from kansa.respond.calendar import add_business_days, add_calendar_days
from kansa.respond.incident import Incident

Condition = dict[str, Any]


@dataclass(frozen=True)
class RuleSet:
    triggers: tuple[dict[str, Any], ...]
    obligations: tuple[dict[str, Any], ...]


@lru_cache(maxsize=1)
def load_rules() -> RuleSet:
    """The packaged rule set (kansa/respond/rules.yaml)."""
    text = resources.files("kansa.respond").joinpath("rules.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return RuleSet(tuple(data["triggers"]), tuple(data["obligations"]))


def facts_of(incident: Incident) -> dict[str, Any]:
    """The values conditions may read; GDPR high risk defaults to the APPI aggravating facts."""
    high = incident.gdpr_high_risk
    if high is None:
        high = incident.sensitive or incident.property_damage or incident.wrongful_purpose
    return {
        "sensitive": incident.sensitive,
        "property_damage": incident.property_damage,
        "wrongful_purpose": incident.wrongful_purpose,
        "my_number": incident.my_number,
        "my_number_public": incident.my_number_public,
        "gdpr": incident.gdpr,
        "gdpr_unlikely_risk": incident.gdpr_unlikely_risk,
        "gdpr_high_risk": high,
        # "発生したおそれがある" counts: a possible upper bound decides the thresholds.
        "persons": max(incident.persons, incident.persons_upper or 0),
    }


def holds(cond: Condition, facts: dict[str, Any]) -> bool:
    """Evaluate one condition of the small rule language."""
    if "flag" in cond:
        return bool(facts[cond["flag"]])
    if "persons_over" in cond:
        return int(facts["persons"]) > int(cond["persons_over"])
    if "all" in cond:
        return all(holds(c, facts) for c in cond["all"])
    if "any" in cond:
        return any(holds(c, facts) for c in cond["any"])
    if "not" in cond:
        return not holds(cond["not"], facts)
    raise ValueError(f"unknown condition {cond!r}")


def _deadline(spec: dict[str, Any], incident: Incident, today: date) -> dict[str, Any]:
    kind = spec["kind"]
    start: datetime = incident.discovered_at
    out: dict[str, Any] = {"kind": kind, "note_ja": spec.get("note_ja", ""), "note_en": spec.get("note_en", "")}
    due: date | None = None
    if kind == "calendar_days":
        days = int(spec["days"])
        if incident.wrongful_purpose and "days_if_wrongful" in spec:
            days = int(spec["days_if_wrongful"])
        due = add_calendar_days(start.date(), days, roll_to_open_day=bool(spec.get("roll_to_open_day")))
        out["days"] = days
        if spec.get("roll_to_open_day") and due != start.date() + timedelta(days=days):
            out["rolled_from"] = (start.date() + timedelta(days=days)).isoformat()
    elif kind == "business_days":
        due = add_business_days(start.date(), int(spec["days"]))
        out["days"] = int(spec["days"])
    elif kind == "hours":
        due_at = start + timedelta(hours=int(spec["hours"]))
        out["due_at"] = due_at.isoformat()
        due = due_at.date()
    elif kind != "asap":
        raise ValueError(f"unknown deadline kind {kind!r}")
    out["due"] = due.isoformat() if due else None
    out["days_left"] = (due - today).days if due else None
    out["overdue"] = bool(due and due < today)
    return out


def assess_incident(incident: Incident, today: date) -> dict[str, Any]:
    """Evaluate every rule against ``incident`` as of ``today``."""
    if today < incident.discovered_at.date():
        raise KansaError(
            f"--today {today.isoformat()} is before discovered_at {incident.discovered_at.date().isoformat()}"
        )
    rules = load_rules()
    facts = facts_of(incident)
    kind = incident.controller_kind
    triggers: list[dict[str, Any]] = []
    fired: set[str] = set()
    for t in rules.triggers:
        if kind not in t["kinds"]:
            continue
        met = holds(t["when"], facts)
        if met:
            fired.add(t["id"])
        triggers.append({"id": t["id"], "met": met, "basis": t["basis"], "why_ja": t["why_ja"], "why_en": t["why_en"]})
    obligations: list[dict[str, Any]] = []
    for o in rules.obligations:
        if kind not in o["kinds"]:
            continue
        if "gdpr_role" in o and o["gdpr_role"] != incident.gdpr_role:
            continue
        because = [t for t in triggers if t["met"] and t["id"] in o["if_any"]]
        if not because:
            continue
        obligations.append({
            "id": o["id"],
            "to": o["to"],
            "title_ja": o["title_ja"],
            "title_en": o["title_en"],
            "basis": o["basis"],
            "deadline": _deadline(o["deadline"], incident, today),
            "because": [{"trigger": t["id"], "basis": t["basis"], "why_ja": t["why_ja"], "why_en": t["why_en"]} for t in because],
        })
    notes: list[str] = []
    if kind == "entrustee" and any(o["id"] == "appi.notify_entrustor" for o in obligations):
        notes.append("委託先は委託元へ通知すれば委員会報告・本人通知の義務を免れる (APPI Art. 26(1) proviso); "
                     "the entrustor must then report.")
    if not obligations:
        notes.append("No statutory report triggered; record the incident and keep evidence. "
                     "法定の報告義務は発生していません（記録・証拠保全は継続）。")
    return {
        "incident": incident.to_dict(),
        "today": today.isoformat(),
        "action_required": bool(obligations),
        "reportable": any(o["id"].endswith("_report") or o["id"].startswith("gdpr.art33") for o in obligations),
        "triggers": triggers,
        "obligations": obligations,
        "overdue": [o["id"] for o in obligations if o["deadline"]["overdue"]],
        "notes": notes,
    }
