"""The countdown: every obligation of an incident with its state on a given day.

Why a separate view of the assessment: officers act on "what is overdue, what is due this week,
what is done", not on rules. The same list feeds `kansa incident list`, the HTML drafts'
countdown and the demo's summary, so they cannot disagree.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from kansa.respond.engine import assess_incident
from kansa.respond.incident import Incident

STATES = ("overdue", "due", "asap", "advised", "to_confirm", "done")
_ORDER = {s: i for i, s in enumerate(STATES)}


def deadlines(incident: Incident, today: date, done: dict[str, date] | None = None) -> list[dict[str, Any]]:
    """Obligations with state overdue | due | asap (no fixed day) | advised (not statutory, kansa
    advises it) | to_confirm (facts unknown) | done.

    ``done`` maps obligation id → the day it was met. Sorted: overdue first, then by due day.
    """
    done = done or {}
    result = assess_incident(incident, today)
    out: list[dict[str, Any]] = []
    for o in result["obligations"]:
        d = o["deadline"]
        if o["id"] in done:
            state = "done"
        elif o["status"] == "unknown":
            state = "to_confirm"
        elif o["status"] == "advised":
            state = "advised"
        elif d["overdue"]:
            state = "overdue"
        elif d["due"] is None:
            state = "asap"
        else:
            state = "due"
        done_on = done.get(o["id"])
        late = bool(done_on and d["due"] and done_on.isoformat() > d["due"])
        out.append({
            "id": o["id"], "title_ja": o["title_ja"], "title_en": o["title_en"], "to": o["to"],
            "recipients": o["recipients"], "status": o["status"], "state": state, "due": o["due"],
            "days_left": d["days_left"], "done_on": done_on.isoformat() if done_on else None, "late": late,
            "basis": o["basis"], "how_computed": o["how_computed"], "how_computed_ja": o["how_computed_ja"],
        })
    out.sort(key=lambda r: (_ORDER[r["state"]], r["due"] or "9999", r["id"]))
    return out


def countdown_lines(rows: list[dict[str, Any]], lang: str = "en") -> list[str]:
    """One line per obligation for a terminal or a log: state, title, recipient, due day, days left."""
    out: list[str] = []
    for r in rows:
        title = r["title_ja"] if lang == "ja" else r["title_en"]
        who = "、".join(r["recipients"]) if r["recipients"] else r["to"]
        if r["state"] == "done":
            when = f"done {r['done_on']}" + (" (after the due day)" if r["late"] else "")
        elif r["state"] == "advised":
            when = f"advised, by {r['due']} ({r['days_left']} days left)"
        elif r["state"] == "to_confirm":
            when = f"if the open questions confirm it: due {r['due'] or 'promptly'}"
        elif r["due"] is None:
            when = "promptly (no fixed day)"
        elif r["days_left"] is not None and r["days_left"] < 0:
            when = f"due {r['due']}, {-r['days_left']} days OVERDUE"
        else:
            when = f"due {r['due']}, {r['days_left']} days left"
        out.append(f"[{r['state']}] {title} → {who}: {when}")
    return out


def entrustor_lines(duties: list[dict[str, Any]]) -> list[str]:
    """One line per entrustor whose own duty to report is likely or still open.

    Why beside the countdown: an entrustee's own list may hold only "notify the entrustor", while
    the entrustor (a city, an insurer) then has its own 速報 clock; saying so is what makes the
    contractor call today rather than at the end of the month.
    """
    out: list[str] = []
    for d in duties:
        if d["reportable"] is False:
            continue
        persons = "?" if d["persons"] is None else f"{d['persons']:,}"
        who = f"{d['name']} ({d['sector'] or 'sector ?'}, {persons} persons)"
        if d["reportable"] is True:
            out.append(f"[entrustor] {who} will likely have to report itself ({', '.join(d['grounds'])}): tell it now")
        else:
            out.append(f"[entrustor] {who} may have to report itself (open: {', '.join(d['unknown'])})")
    return out
