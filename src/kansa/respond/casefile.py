"""Incidents kept in the workspace: open, update, mark obligations done, show, list.

Why in the workspace and not only as YAML files: the clock runs from the day the organisation
learned of the leak, and what is due, overdue and done must be visible to whoever opens kansa
next. Every change is stored with who and when and sealed into the ledger (kansa.ledger.journal),
so a later reader can prove when the organisation knew what.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace
from kansa.respond.deadlines import STATES, deadlines
from kansa.respond.drafts import write_drafts
from kansa.respond.engine import assess_incident
from kansa.respond.incident import evidence_findings, parse_incident
from kansa.respond.store import dumps, ensure, plain, rows


def _journal(ws: Workspace, payload: dict[str, Any], actor: str) -> int | None:
    """Seal a change into the ledger; None when the ledger is not available in this build."""
    try:
        from kansa.ledger import journal
    except ImportError:
        return None
    return int(journal(ws, "incident", payload, actor))


Write = tuple[str, list[Any]]


def _record(ws: Workspace, incident_id: str, version: int, actor: str, action: str, changes: dict[str, Any],
            writes: list[Write]) -> int | None:
    """Seal a change into the ledger, then store it and its effects in one transaction.

    Sealed first: a change is never stored without its ledger leaf. If storing then fails, the
    ledger holds the intended change and the table lacks it — a gap a reviewer can find by
    comparing the two; an unsealed row could not be told from one added later.
    """
    leaf = _journal(ws, {"incident_id": incident_id, "version": version, "action": action,
                         "changes": plain(changes)}, actor)
    con = ws.con
    con.execute("BEGIN TRANSACTION")
    try:
        for sql, params in writes:
            con.execute(sql, params)
        con.execute("INSERT INTO respond_incident_changes VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [incident_id, version, datetime.now(UTC), actor, action, dumps(changes), leaf])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return leaf


def _facts(ws: Workspace, incident_id: str) -> tuple[dict[str, Any], int]:
    got = rows(ensure(ws), "SELECT facts, version FROM respond_incidents WHERE incident_id = ?", [incident_id])
    if not got:
        known = [r["incident_id"] for r in rows(ws.con, "SELECT incident_id FROM respond_incidents ORDER BY 1")]
        hint = f" (known: {', '.join(known[-5:])})" if known else " (no incidents yet: kansa incident open)"
        raise KansaError(f"no incident {incident_id!r}{hint}")
    return json.loads(got[0]["facts"]), int(got[0]["version"])


def _without_staff(facts: dict[str, Any]) -> dict[str, Any]:
    """Audit findings are stored as the incident keeps them (no actor): the register names no staff."""
    if facts.get("findings") is None:
        return facts
    return {**facts, "findings": evidence_findings(facts["findings"])}


def open_incident(ws: Workspace, facts: dict[str, Any], actor: str) -> dict[str, Any]:
    """Store a new incident (facts as in an incident YAML); returns {"incident_id", "version", "ledger_leaf"}."""
    if not actor:
        raise KansaError("who is opening the incident? (--by NAME)")
    facts = _without_staff(plain(facts))
    year = str(parse_incident(facts).discovered_at.year)  # refuses bad facts before anything is stored
    con = ensure(ws)
    n = rows(con, "SELECT count(*) AS n FROM respond_incidents WHERE incident_id LIKE ?", [f"INC-{year}-%"])[0]["n"]
    incident_id = f"INC-{year}-{int(n) + 1:03d}"
    now = datetime.now(UTC)
    leaf = _record(ws, incident_id, 1, actor, "open", facts,
                   [("INSERT INTO respond_incidents VALUES (?, ?, ?, ?, 1, ?)", [incident_id, now, actor, now, dumps(facts)])])
    return {"incident_id": incident_id, "version": 1, "ledger_leaf": leaf}


def update_incident(ws: Workspace, incident_id: str, changes: dict[str, Any], actor: str) -> dict[str, Any]:
    """Change facts (a key set to None means "unknown again"); returns the new version."""
    if not actor:
        raise KansaError("who is changing the incident? (--by NAME)")
    if not changes:
        raise KansaError("nothing to change: give --set KEY=VALUE or --file")
    facts, version = _facts(ws, incident_id)
    changes = _without_staff(plain(changes))
    if "categories" in changes and facts.get("categories_from") and "categories_from" not in changes:
        changes["categories_from"] = None  # the officer's list replaces the registry's
    new = {**facts, **changes}
    parse_incident(new)
    before = {k: facts.get(k) for k in changes}
    version += 1
    leaf = _record(ws, incident_id, version, actor, "update", {"set": changes, "before": before},
                   [("UPDATE respond_incidents SET facts = ?, version = ?, updated_at = ? WHERE incident_id = ?",
                     [dumps(new), version, datetime.now(UTC), incident_id])])
    return {"incident_id": incident_id, "version": version, "ledger_leaf": leaf}


def mark_done(ws: Workspace, incident_id: str, obligation_id: str, actor: str, *, on: date | None = None,
              note: str = "") -> dict[str, Any]:
    """Record that an obligation was met (e.g. the 速報 was filed) on ``on`` (default today)."""
    if not actor:
        raise KansaError("who marks it done? (--by NAME)")
    facts, version = _facts(ws, incident_id)
    known = {o["id"] for o in assess_incident(parse_incident(facts), max(on or date.today(), _learned(facts)))["obligations"]}
    if obligation_id not in known:
        raise KansaError(f"{incident_id} has no obligation {obligation_id!r} (it has: {', '.join(sorted(known)) or 'none'})")
    day = on or date.today()
    if day < _learned(facts):
        raise KansaError(f"--on {day.isoformat()} is before the organisation learned of the incident")
    version += 1
    now = datetime.now(UTC)
    leaf = _record(ws, incident_id, version, actor, "done",
                   {"obligation": obligation_id, "done_on": day.isoformat(), "note": note}, [
                       ("DELETE FROM respond_obligations_done WHERE incident_id = ? AND obligation_id = ?",
                        [incident_id, obligation_id]),
                       ("INSERT INTO respond_obligations_done VALUES (?, ?, ?, ?, ?, ?)",
                        [incident_id, obligation_id, day, now, actor, note]),
                       ("UPDATE respond_incidents SET version = ?, updated_at = ? WHERE incident_id = ?",
                        [version, now, incident_id]),
                   ])
    return {"incident_id": incident_id, "version": version, "obligation": obligation_id,
            "done_on": day.isoformat(), "ledger_leaf": leaf}


def _learned(facts: dict[str, Any]) -> date:
    return parse_incident(facts).discovered_at.date()


def _done(ws: Workspace, incident_id: str) -> dict[str, date]:
    return {r["obligation_id"]: r["done_on"] for r in rows(
        ws.con, "SELECT obligation_id, done_on FROM respond_obligations_done WHERE incident_id = ?", [incident_id])}


def get_incident(ws: Workspace, incident_id: str, today: date | None = None) -> dict[str, Any]:
    """Facts, assessment, deadlines and full history of one incident as of ``today``."""
    facts, version = _facts(ws, incident_id)
    inc = parse_incident(facts)
    day = max(today or date.today(), inc.discovered_at.date())
    history = rows(ws.con, "SELECT version, changed_at, actor, action, changes, ledger_leaf "
                           "FROM respond_incident_changes WHERE incident_id = ? ORDER BY version", [incident_id])
    for h in history:
        h["changes"] = json.loads(h["changes"])
        h["changed_at"] = h["changed_at"].astimezone(ws.timezone).isoformat()  # the officer's local time
    done = _done(ws, incident_id)
    return {
        "incident_id": incident_id, "version": version, "facts": facts, "today": day.isoformat(),
        "assessment": assess_incident(inc, day),
        "deadlines": deadlines(inc, day, done=done),
        "history": history,
    }


def list_incidents(ws: Workspace, today: date | None = None) -> list[dict[str, Any]]:
    """Every incident with its obligations' state (overdue, due, to confirm, done) as of ``today``."""
    out: list[dict[str, Any]] = []
    for r in rows(ensure(ws), "SELECT incident_id, facts, version, opened_by, updated_at FROM respond_incidents "
                              "ORDER BY incident_id"):
        inc = parse_incident(json.loads(r["facts"]))
        day = max(today or date.today(), inc.discovered_at.date())
        dl = deadlines(inc, day, done=_done(ws, r["incident_id"]))
        counts = {s: sum(1 for d in dl if d["state"] == s) for s in STATES}
        result = assess_incident(inc, day)
        out.append({
            "incident_id": r["incident_id"], "title": inc.title, "learned_at": inc.discovered_at.date().isoformat(),
            "version": r["version"], "updated_at": r["updated_at"].astimezone(ws.timezone).isoformat(), "reportable": result["reportable"],
            "questions": len(result["questions"]), "counts": counts, "deadlines": dl,
        })
    return out


def draft_incident(ws: Workspace, incident_id: str, out_dir: Path, today: date | None = None, *,
                   lang: str = "ja", pdf: bool = False, actor: str = "") -> dict[str, Any]:
    """Write the drafts of a stored incident, with its done obligations and its change history.

    With ``actor``, that drafts were made (files, as-of day) is kept in the history and the ledger.
    """
    got = get_incident(ws, incident_id, today)
    inc = parse_incident(got["facts"])
    day = date.fromisoformat(got["today"])
    result = write_drafts(inc, out_dir, day, lang=lang, pdf=pdf, done=_done(ws, incident_id), history=got["history"])
    if actor:
        _record(ws, incident_id, got["version"] + 1, actor, "draft",
                {"files": [Path(f).name for f in result["files"]], "as_of": day.isoformat(), "lang": lang},
                [("UPDATE respond_incidents SET version = ? WHERE incident_id = ?", [got["version"] + 1, incident_id])])
    return {"incident_id": incident_id, **result}


def entrustors_from_workspace(ws: Workspace, facts: dict[str, Any], entrustee: str | None = None) -> dict[str, Any]:
    """Name the entrustors of an incident opened from a trace, from the workspace's contracts.

    A trace names data *owners*; whom an entrustee must notify is whoever entrusted the data under
    a contract covering that owner (often the owner itself, sometimes a prime contractor). With
    ``entrustee`` (this organisation's org id) only contracts to it count; without, the top of each
    owner's chain (an entrustor that is nobody's entrustee for that owner). Each entrustor carries
    its sector, the persons matched to its owners and the data categories of the matched datasets
    (registry), so kansa can say whether it must report. Without categories given, the incident's
    categories are those of the matched datasets ("categories_from: registry"): what may have
    leaked, which the officer narrows. Owners without a contract are their own entrustors.
    """
    owners = [o for o in facts.get("owners") or [] if isinstance(o, dict) and o.get("owner")]
    if not owners:
        return facts
    con = ws.con
    orgs = {r["org_id"]: r for r in rows(con, "SELECT org_id, name, sector FROM organisations")}
    contracts = rows(con, "SELECT entrustor_id, entrustee_id, owners FROM contracts")
    registry = rows(con, "SELECT dataset_id, owner_id, name, categories FROM datasets")
    if entrustee is not None and entrustee not in orgs:
        raise KansaError(f"--as {entrustee!r}: no such organisation in the workspace registry")
    persons: dict[str, int] = {}
    categories: dict[str, set[str]] = {}
    for o in owners:
        oid = str(o["owner"])
        ids = set(o.get("dataset_ids") or [])
        held = {c for d in registry
                if d["dataset_id"] in ids or (not ids and d["owner_id"] == oid and d["name"] == o.get("dataset"))
                for c in d["categories"] or []}
        covering = [c for c in contracts if oid in (c["owners"] or [])]
        if entrustee is not None:
            chosen = {c["entrustor_id"] for c in covering if c["entrustee_id"] == entrustee}
        else:
            downstream = {c["entrustee_id"] for c in covering}
            chosen = {c["entrustor_id"] for c in covering if c["entrustor_id"] not in downstream}
        for e in sorted(chosen or {oid}):
            persons[e] = persons.get(e, 0) + int(o.get("records") or 0)
            categories.setdefault(e, set()).update(held)
        if oid in orgs:
            o["owner_name"] = orgs[oid]["name"]
    details = [{"name": orgs[e]["name"] if e in orgs else e, "org_id": e,
                "sector": orgs[e]["sector"] if e in orgs else None, "persons": n,
                "categories": sorted(categories.get(e, set())) or None}
               for e, n in sorted(persons.items(), key=lambda kv: (-kv[1], kv[0]))]
    out = {**facts, "owners": owners, "entrustors": details}
    every = sorted({c for cs in categories.values() for c in cs})
    if "categories" not in facts and every:
        # what the matched datasets hold: it may have leaked ("おそれ"); the officer narrows it
        out["categories"] = every
        out["categories_from"] = "registry"
    if entrustee is not None and entrustee in orgs:
        out.setdefault("controller_name", orgs[entrustee]["name"])
        out.setdefault("sector", orgs[entrustee]["sector"] or facts.get("sector"))
    parse_incident(out)
    return out


def open_from_trace(ws: Workspace, trace: dict[str, Any], learned_at: date, actor: str, *,
                    entrustee: str | None = None, today: date | None = None, **facts: Any) -> dict[str, Any]:
    """One call for a demo or a script: trace result → incident facts (entrustors from the contracts)
    → stored incident → what is due. Returns {"incident_id", "facts", "reportable", "questions",
    "entrustor_duties", "deadlines", "lines"} (``lines``: one printable line per obligation, then one
    per entrustor that likely must report itself)."""
    from kansa.respond.deadlines import countdown_lines, entrustor_lines
    from kansa.respond.fromtrace import incident_from_trace

    got = incident_from_trace(trace, learned_at, **facts)
    if "entrustors" not in facts and "owner" not in facts:
        got = entrustors_from_workspace(ws, got, entrustee)
    opened = open_incident(ws, got, actor)
    shown = get_incident(ws, opened["incident_id"], today or learned_at)
    a = shown["assessment"]
    # the facts as stored (what the register keeps: audit findings without actors, plain JSON values)
    return {"incident_id": opened["incident_id"], "facts": shown["facts"], "reportable": a["reportable"],
            "questions": [q["text"] for q in a["questions"]], "entrustor_duties": a["entrustor_duties"],
            "deadlines": shown["deadlines"],
            "lines": countdown_lines(shown["deadlines"]) + entrustor_lines(a["entrustor_duties"])}
