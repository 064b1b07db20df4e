"""`kansa govern access`: who may read which owner's personal data, against who did.

"May read" is the registry's answer, the composition of three facts on a day: the person is
employed (actors.valid_from..valid_to), acts for an organisation the owner's chain entitles that
day (the owner itself, or a link whose whole path is approved and in force), and holds an
assignment for that owner's data that day (their own, or their team's; an assignment naming no
owner covers every owner the organisation is entitled for; a service account — an application
or a backup job acting for people — needs no assignment of its own). "Did read" is the event log. The two
gaps are what a privacy officer acts on: reading without entitlement (with the first missing fact
as reason) and entitlement never used in the window (least privilege: access to take away).
Only ids and counts are shown — never the records themselves.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Final

from kansa.govern.basis import ACTING_ORGS_SQL, FAR_FUTURE, FAR_PAST, SHOWN_ORG_SQL, judged_day
from kansa.govern.links import LINKS_VIEW, build_links, load_contracts, register_links, unregister_links
from kansa.govern.owners import select_owners
from kansa.govern.touches import TOUCH_TABLE, judge_touches
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace

DEFAULT_WINDOW_DAYS: Final = 90   # a quarter: long enough for monthly and quarterly work to show use
BROADEST: Final = 10      # people listed by breadth of entitlement: a screen's worth
REASONS: Final = ("unknown_actor", "no_contract", "unapproved", "after_end", "before_start", "not_employed",
                  "no_assignment")

# A day of access by an organisation the chain entitles still needs the person employed and
# assigned that day; other days keep the chain's verdict.
_VERDICT_SQL = f"""
    SELECT t.actor_id, t.owner_id, t.org, t.role, t.day, t.events,
        CASE WHEN t.class NOT IN ('owner', 'entitled') THEN t.class
             WHEN t.day < coalesce(t.employed_from, DATE '{FAR_PAST}')
               OR t.day > coalesce(t.employed_to, DATE '{FAR_FUTURE}') THEN 'not_employed'
             WHEN coalesce(t.role, '') <> 'service' AND NOT EXISTS (
                 SELECT 1 FROM assignments s
                 WHERE (s.actor_id = t.actor_id OR (s.actor_id IS NULL AND s.team = t.team))
                   AND (s.owner_id IS NULL OR s.owner_id = t.owner_id)
                   AND t.day BETWEEN coalesce(s.valid_from, DATE '{FAR_PAST}')
                                 AND coalesce(s.valid_to, DATE '{FAR_FUTURE}')) THEN 'no_assignment'
             ELSE 'entitled' END AS verdict
    FROM {TOUCH_TABLE} t
"""

# Entitled on at least one day of the window: employment ∩ organisation entitlement ∩ assignment ∩
# window is not empty. Assignments are joined by person and by team separately (an OR join would
# compare every assignment with every person).
_MAY_READ_SQL = f"""
WITH ent AS (
    SELECT owner_id, entrustee_id AS org, path_from AS f, path_to AS t FROM {LINKS_VIEW} WHERE path_approved
    UNION ALL SELECT o, o, DATE '{FAR_PAST}', DATE '{FAR_FUTURE}' FROM unnest(?::VARCHAR[]) u(o)
),
people AS (
    SELECT a.actor_id, a.team, {SHOWN_ORG_SQL} AS org, a.role, {ACTING_ORGS_SQL} AS orgs,
           coalesce(a.valid_from, DATE '{FAR_PAST}') AS af, coalesce(a.valid_to, DATE '{FAR_FUTURE}') AS at
    FROM actors a
),
tasks AS (
    SELECT p.actor_id, s.owner_id, s.valid_from, s.valid_to FROM people p JOIN assignments s ON s.actor_id = p.actor_id
    UNION ALL
    SELECT p.actor_id, s.owner_id, s.valid_from, s.valid_to FROM people p JOIN assignments s
        ON s.actor_id IS NULL AND s.team = p.team
    UNION ALL
    SELECT actor_id, NULL, NULL, NULL FROM people WHERE role = 'service'
),
spans AS (
    SELECT p.actor_id, p.org, p.role, e.owner_id,
           greatest(p.af, e.f, coalesce(k.valid_from, DATE '{FAR_PAST}'), ?::DATE) AS lo,
           least(p.at, e.t, coalesce(k.valid_to, DATE '{FAR_FUTURE}'), ?::DATE) AS hi
    FROM people p JOIN ent e ON list_contains(p.orgs, e.org)
    JOIN tasks k ON k.actor_id = p.actor_id AND (k.owner_id IS NULL OR k.owner_id = e.owner_id)
)
SELECT actor_id, owner_id, any_value(org), any_value(role), min(lo), max(hi), bool_or(hi = ?::DATE)
FROM spans WHERE lo <= hi GROUP BY actor_id, owner_id
"""


def _check_actor(ws: Workspace, actor: str | None) -> None:
    if actor is None:
        return
    row = ws.con.execute("SELECT (SELECT count(*) FROM actors WHERE actor_id = $a) + "
                         "(SELECT count(*) FROM access_events WHERE actor_id = $a)", {"a": actor}).fetchone()
    if row is None or not row[0]:
        raise KansaError(f"unknown actor {actor!r} (neither in the registry nor in the logs)")


def _default_start(ws: Workspace, day: date) -> date:
    """The window's first day: ``DEFAULT_WINDOW_DAYS`` back, but not before the logs begin — days
    with no logs would make every entitlement of those days look unused."""
    row = ws.con.execute("SELECT CAST(min(ts) AS DATE) FROM access_events").fetchone()
    first: date | None = row[0] if row else None
    back = day - timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    return max(back, first) if first is not None and first <= day else back


def access(ws: Workspace, owner: str | None = None, actor: str | None = None, on: date | None = None,
           since: date | None = None) -> dict[str, Any]:
    """Entitlement against use per person and owner, over ``since``..``on`` (default: the last
    ``DEFAULT_WINDOW_DAYS`` days up to the last day of the logs, from the first day of the logs)."""
    day = judged_day(ws, on)
    start = since if since is not None else _default_start(ws, day)
    if start > day:
        raise KansaError(f"--since {start} is after --on {day}")
    owners = select_owners(ws, owner)
    _check_actor(ws, actor)
    contracts = load_contracts(ws.con)
    register_links(ws.con, [x for o in owners for x in build_links(contracts, o)])
    try:
        judge_touches(ws, start, day)
        reads = ws.con.execute(f"""
            SELECT actor_id, owner_id, any_value(org), any_value(role), verdict, sum(events), count(DISTINCT day),
                   min(day), max(day)
            FROM ({_VERDICT_SQL}) WHERE list_contains(?, owner_id) AND (? IS NULL OR actor_id = ?)
            GROUP BY actor_id, owner_id, verdict""", [owners, actor, actor]).fetchall()
        may = ws.con.execute(f"SELECT * FROM ({_MAY_READ_SQL}) WHERE ? IS NULL OR actor_id = ?",
                             [owners, start, day, day, actor, actor]).fetchall()
    finally:
        unregister_links(ws.con)
    accounts: dict[str, list[str]] = defaultdict(list)
    for system, account, actor_id in ws.con.execute(
            "SELECT system, account, actor_id FROM accounts WHERE actor_id IS NOT NULL ORDER BY ALL").fetchall():
        accounts[actor_id].append(f"{system}:{account}")

    cells: dict[tuple[str | None, str], dict[str, Any]] = {}

    def cell(actor_id: str | None, owner_id: str, org: str | None, role: str | None) -> dict[str, Any]:
        key = (actor_id, owner_id)
        if key not in cells:
            cells[key] = {"actor": actor_id, "org": org, "role": role, "owner": owner_id, "may_read": False,
                          "entitled_from": None, "entitled_to": None, "entitled_on_day": False,
                          "events": 0, "days": 0, "first": None, "last": None, "without_entitlement": {}}
        return cells[key]

    for actor_id, owner_id, org, role, lo, hi, on_day in may:
        c = cell(actor_id, owner_id, org, role)
        c.update(may_read=True, entitled_from=lo, entitled_to=hi, entitled_on_day=bool(on_day))
    for actor_id, owner_id, org, role, verdict, events, days, first, last in reads:
        c = cell(actor_id, owner_id, org, role)
        c["events"] += int(events)
        c["days"] += int(days)   # days of one verdict never overlap another's (one verdict per day)
        c["first"] = first if c["first"] is None else min(c["first"], first)
        c["last"] = last if c["last"] is None else max(c["last"], last)
        if verdict != "entitled":
            c["without_entitlement"][verdict] = int(events)
    rows = sorted(cells.values(), key=lambda c: (c["owner"], c["actor"] or ""))
    for c in rows:
        off = sum(c["without_entitlement"].values())
        c["status"] = ("unused" if c["events"] == 0 else "without_entitlement" if off == c["events"]
                       else "partly_without_entitlement" if off else "used")
    summary = []
    for o in owners:
        mine = [c for c in rows if c["owner"] == o]
        reasons: dict[str, int] = defaultdict(int)
        for c in mine:
            for k, v in c["without_entitlement"].items():
                reasons[k] += v
        summary.append({
            "owner": o, "may_read": sum(c["may_read"] for c in mine), "did_read": sum(c["events"] > 0 for c in mine),
            "used": sum(c["status"] == "used" for c in mine), "unused": sum(c["status"] == "unused" for c in mine),
            "without_entitlement_actors": sum(c["status"] in ("without_entitlement", "partly_without_entitlement")
                                              for c in mine),
            "without_entitlement_events": dict(sorted(reasons.items())),
        })
    revoke = [{"actor": c["actor"], "owner": c["owner"], "org": c["org"], "accounts": accounts.get(c["actor"], [])}
              for c in rows if c["status"] == "unused"]
    return {"on": day, "since": start, "owners": summary, "cells": rows, "revoke": revoke,
            "broadest": _broadest(rows)}


def _broadest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The people entitled to the most owners' data, with how many of those they read.

    Breadth is the contractor-admin case: one person whose duty names no owner may read every
    client's data, and the need for that is worth asking even when each read looks routine.
    """
    per: dict[str, dict[str, Any]] = {}
    for c in rows:
        if c["actor"] is None or not c["may_read"]:
            continue
        p = per.setdefault(c["actor"], {"actor": c["actor"], "org": c["org"], "role": c["role"],
                                        "may_read_owners": 0, "read_owners": 0})
        p["may_read_owners"] += 1
        p["read_owners"] += c["events"] > 0
    ranked = sorted(per.values(), key=lambda p: (-p["may_read_owners"], p["read_owners"], p["actor"]))
    return ranked[:BROADEST]
