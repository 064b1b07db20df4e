"""`kansa govern chains`: each owner's entrustment chains on a day, with what is wrong with them.

Cases behind it: pension and municipal data entry re-entrusted without approval to other firms,
one abroad; a contractor's admin temp reading clients' data for years. In both the paper and the
practice had drifted apart, and nobody held the two side by side. This view does: the chain as
the contracts draw it, each link with the access its organisation's staff actually made, and the
problems named with their reason — a step the parent contract does not allow, a link abroad, a
contract that ended while access went on, staff of an organisation no contract covers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from kansa.govern.basis import FAR_FUTURE, FAR_PAST, judged_day
from kansa.govern.links import Link, build_links, load_contracts, register_links, unregister_links
from kansa.govern.owners import organisations, select_owners
from kansa.govern.touches import TOUCH_TABLE, judge_touches
from kansa.model.workspace import Workspace

SEVERITY = {"unapproved_reentrustment": "high", "not_in_chain": "high", "expired_with_access": "high",
            "no_contract": "high", "before_start": "medium", "abroad": "medium", "scope_wider": "medium",
            "weaker_terms": "medium", "no_contract_registered": "low"}


def _day(d: date) -> date | None:
    return None if d in (FAR_PAST, FAR_FUTURE) else d


def _problem(code: str, reason: str) -> dict[str, Any]:
    return {"code": code, "severity": SEVERITY[code], "reason": reason}


def _stats(row: tuple[Any, ...] | None) -> dict[str, Any]:
    if row is None:
        return {"events": 0, "actors": 0, "days": 0, "first": None, "last": None}
    return {"events": int(row[0]), "actors": int(row[1]), "days": int(row[2]), "first": row[3], "last": row[4]}


def _link_problems(link: Link, country: str | None, by_class: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    c = link.contract
    out: list[dict[str, Any]] = []
    if link.parent_id is None and link.entrustor_id != link.owner_id:
        out.append(_problem("not_in_chain", f"{c.contract_id if c else '?'} names {link.owner_id}'s data, but "
                            f"{link.entrustor_id} holds it under no contract of {link.owner_id}"))
    elif not link.approved:
        allowed = ", ".join(link.parent_allowed) or "none"
        out.append(_problem("unapproved_reentrustment",
                            f"{link.entrustee_id} is not among the subcontractors {link.parent_contract_id} "
                            f"allows ({allowed})"))
    if c is None:
        out.append(_problem("no_contract_registered", f"{link.parent_contract_id} allows {link.entrustee_id}, "
                            "but the registry holds no contract with it"))
    if country and country.upper() != "JP":
        out.append(_problem("abroad", f"{link.entrustee_id} is in {country}: a transfer abroad (APPI Art. 28) "
                            "needs the persons' consent or an equivalent system"))
    if c is not None and link.parent_categories:
        wider = sorted(set(c.categories) - set(link.parent_categories))
        if wider:
            out.append(_problem("scope_wider", f"{c.contract_id} covers {', '.join(wider)}, which "
                                f"{link.parent_contract_id} does not hand on"))
    if c is not None and link.parent_terms:
        weaker = [t for t in link.parent_terms if t not in c.security_terms]
        if weaker:
            out.append(_problem("weaker_terms", f"{c.contract_id} lacks {', '.join(weaker)}, which "
                                f"{link.parent_contract_id} requires"))
    late = by_class.get("after_end")
    if late:
        out.append(_problem("expired_with_access", f"path ended {link.path_to}; {late['events']} event(s) by "
                            f"{late['actors']} of {link.entrustee_id}'s staff on {late['days']} day(s) after, "
                            f"last {late['last']}"))
    early = by_class.get("before_start")
    if early:
        out.append(_problem("before_start", f"in force from {link.path_from}; {early['events']} event(s) by "
                            f"{early['actors']} of {link.entrustee_id}'s staff before, first {early['first']}"))
    return out


def _node(link: Link, on: date, orgs: dict[str, tuple[str | None, str | None]],
          stats: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    c = link.contract
    name, country = orgs.get(link.entrustee_id, (None, None))
    by_class = stats.get(link.link_id, {})
    used = [by_class[k] for k in ("entitled", "unapproved") if k in by_class]
    access = {"events": sum(s["events"] for s in used), "days": sum(s["days"] for s in used),
              "first": min((s["first"] for s in used), default=None),
              "last": max((s["last"] for s in used), default=None)}
    return {
        "link_id": link.link_id, "depth": link.depth, "contract_id": c.contract_id if c else None,
        "entrustor": link.entrustor_id, "entrustee": link.entrustee_id, "entrustee_name": name,
        "country": country, "in_force": link.in_force(on), "approved": link.approved,
        "path_approved": link.path_approved,
        "valid_from": c.valid_from if c else None, "valid_to": c.valid_to if c else None,
        "path_from": _day(link.path_from), "path_to": _day(link.path_to),
        "categories": list(c.categories) if c else [], "purposes": list(c.purposes) if c else [],
        "security_terms": list(c.security_terms) if c else [],
        "allowed_subcontractors": list(c.allowed_subcontractors) if c else [],
        "access_in_force": access,
        "problems": _link_problems(link, country, by_class),
        "children": [],
    }


def chains(ws: Workspace, owner: str | None = None, on: date | None = None) -> dict[str, Any]:
    """Each owner's chains in force on ``on`` (default: the last day of the logs), as trees.

    A link shows when it is in force that day, or when access by its organisation's staff makes
    it a problem (unapproved, after its end, before its start) up to that day; its ancestors show
    with it. Access is counted from the logs up to ``on`` only.
    """
    day = judged_day(ws, on)
    owners = select_owners(ws, owner)
    contracts = load_contracts(ws.con)
    links = {o: build_links(contracts, o) for o in owners}
    register_links(ws.con, [x for ls in links.values() for x in ls])
    try:
        judge_touches(ws, None, day)
        rows = ws.con.execute(f"""
            SELECT link_id, class, sum(events), count(DISTINCT actor_id), count(DISTINCT day), min(day), max(day)
            FROM {TOUCH_TABLE} WHERE link_id IS NOT NULL AND class NOT IN ('owner', 'unknown_actor')
            GROUP BY ALL""").fetchall()
        outside = ws.con.execute(f"""
            SELECT owner_id, org, sum(events), count(DISTINCT actor_id), count(DISTINCT day), min(day), max(day)
            FROM {TOUCH_TABLE} WHERE class = 'no_contract' GROUP BY ALL ORDER BY owner_id, org""").fetchall()
        unknown = dict(ws.con.execute(f"""
            SELECT owner_id, sum(events) FROM {TOUCH_TABLE} WHERE class = 'unknown_actor' GROUP BY ALL""").fetchall())
    finally:
        unregister_links(ws.con)
    stats: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for link_id, cls, *figures in rows:
        stats[link_id][cls] = _stats(tuple(figures))
    orgs = organisations(ws)
    result: list[dict[str, Any]] = []
    counts: dict[str, int] = defaultdict(int)
    for o in owners:
        shown: set[str] = set()
        by_id = {x.link_id: x for x in links[o]}
        for x in links[o]:
            if x.in_force(day) or any(k in stats.get(x.link_id, {}) for k in ("unapproved", "after_end", "before_start")):
                cur: Link | None = x
                while cur is not None and cur.link_id not in shown:
                    shown.add(cur.link_id)
                    cur = by_id.get(cur.parent_id) if cur.parent_id else None
        nodes = {x.link_id: _node(x, day, orgs, stats) for x in links[o] if x.link_id in shown}
        roots: list[dict[str, Any]] = []
        for x in links[o]:  # parents come before children
            if x.link_id in nodes:
                (nodes[x.parent_id]["children"] if x.parent_id else roots).append(nodes[x.link_id])
        out_orgs = []
        for _owner, org, *figures in (r for r in outside if r[0] == o):
            s = _stats(tuple(figures))
            name, country = orgs.get(org, (None, None)) if org else (None, None)
            who = org or "(no employer in the registry)"
            out_orgs.append({"org": org, "name": name, "country": country, **s, "problems": [_problem(
                "no_contract", f"{s['events']} event(s) by {s['actors']} of {who}'s staff on {s['days']} day(s), "
                f"but no contract of {o} covers {who}")]})
        for n in nodes.values():
            for p in n["problems"]:
                counts[p["code"]] += 1
        if out_orgs:
            counts["no_contract"] += len(out_orgs)
        name, country = orgs.get(o, (None, None))
        result.append({"owner_id": o, "name": name, "country": country, "links": roots, "outside": out_orgs,
                       "unresolved_events": int(unknown.get(o, 0)),
                       "has_contracts": any(x.contract is not None and x.parent_id is None for x in links[o])})
    return {"on": day, "owners": result, "problems": dict(sorted(counts.items()))}
