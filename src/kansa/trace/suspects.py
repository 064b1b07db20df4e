"""Who could have produced the leaked list: accounts whose touched people explain it.

Raw coverage ("touched most of the leaked people") is a bad ranking: a nightly backup job
exports every record of every owner and so "covers" every leak, while the insider's pulls may
have gone unlogged. Each candidate is therefore described by three figures and ranked on
evidence, not on coverage alone:

* **coverage** — share of the leaked people the actor could have had (touched one by one, or by
  a bulk export of that owner's data, capped by the rows the export returned when the log says);
* **precision** — share of the people the actor touched (in the leaked owners' data) that
  leaked. A bulk export names nobody: it gets the precision of a random pick (leaked rows of
  that owner / rows exported), and adds to coverage only;
* **significance** — −log10 of the hypergeometric tail P(X ≥ k): drawing the actor's n touched
  people at random out of the N indexed people of the leaked owners, how likely is it to hit at
  least k of the K leaked ones. Touching everything (a backup) gives 0: no information.
  Touching exactly the leaked people gives a large figure.

Endpoint evidence comes beside it: copies to removable media by the same person after he
accessed the leaked owners' data (``CARRY_HOURS``), which count even when the database access
itself left no audit line (as in the NTT West case).

With connection logging on (contract C1: ``login``/``logout`` events per database session), a
copy that follows a *silent* session — the person connected, yet no audit line of his appears
until he disconnected (``SET pgaudit.log = 'none'``) — is counted apart.

Tiers, set from these reasons: 0 — had the leaked owners' data and then copied files to
removable media; 1 — copied files to removable media after a silent database session (an
unlogged pull carried out: the NTT West pattern); 2 — touches pick out the leaked people far
beyond chance (significance ≥ ``SIGNIFICANT``) — a strong pointer, yet work can explain it: a
campaign that calls a slice of the list touches the same slice an insider pulls; 3 — other
copies to removable media; 4 — the rest. Within a tier: significance, then coverage, then
removable-media evidence; people before service accounts.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from scipy.stats import hypergeom

from kansa.model.workspace import Workspace

TOP = 10
SIGNIFICANT = 3.0
"""−log10 p: one chance in a thousand that random touches hit as many leaked people."""
CARRY_HOURS = 24
"""A removable-media copy within this many hours after the actor's access counts as carrying
that access out (a pull after hours, copied to a stick before the next working day ends)."""
_AGGREGATE_ONLY = r"^\s*select\s+count\s*\("
# An export that names no subjects (COPY ... TO, a bulk SELECT) may have carried the leaked people
# out; aggregate-only statements return no personal data, whatever the source called them.


def significance(population: int, leaked: int, drawn: int, hits: int) -> float:
    """−log10 P(X ≥ hits) for X ~ Hypergeometric(population, leaked, drawn); 0 when nothing hit."""
    if hits <= 0 or population <= 0:
        return 0.0
    drawn = min(drawn, population)
    leaked = min(leaked, population)
    p = float(hypergeom.sf(hits - 1, population, leaked, drawn))
    if p <= 0.0:
        return 300.0
    return round(max(0.0, -math.log10(p)), 2)


def rank_suspects(
    ws: Workspace, leaked: pd.DataFrame, owner_sizes: dict[str, int], until: datetime | None = None
) -> dict[str, Any]:
    """Suspects for the leaked (owner_id, subject_id) pairs; ``owner_sizes``: people indexed per owner.

    Returns {"suspects": [...], "unexplained": n} where ``unexplained`` counts leaked people no
    logged access (one by one or bulk) could have carried.
    """
    if leaked.empty:
        return {"suspects": [], "unexplained": 0}
    pairs = leaked[["owner_id", "subject_id"]].drop_duplicates()
    per_owner: dict[str, int] = {str(k): int(v) for k, v in pairs.groupby("owner_id").size().items()}
    total = len(pairs)
    population = sum(max(owner_sizes.get(o, 0), n) for o, n in per_owner.items())
    cutoff = until or datetime(9999, 1, 1, tzinfo=UTC)
    con = ws.con.cursor()  # own cursor: the shared connection may hold an unfetched result
    con.register("leaked_subjects", pairs)
    try:
        direct = con.execute(
            """
            WITH touched AS (
                SELECT DISTINCT coalesce(e.actor_id, 'account:' || coalesce(e.account, '?')) AS actor,
                       s.owner_id, s.subject_id, e.event_id, e.action, e.ts
                FROM access_subjects s JOIN access_events e ON e.event_id = s.event_id
                WHERE e.ts < ? AND s.owner_id IN (SELECT owner_id FROM leaked_subjects)
            )
            SELECT t.actor,
                   count(DISTINCT (t.owner_id, t.subject_id)) AS touched,
                   count(DISTINCT (t.owner_id, t.subject_id)) FILTER (WHERE l.subject_id IS NOT NULL) AS hits,
                   count(DISTINCT t.event_id) FILTER (WHERE l.subject_id IS NOT NULL) AS events,
                   count(DISTINCT t.event_id) FILTER (WHERE l.subject_id IS NOT NULL
                                                      AND t.action IN ('export', 'print')) AS exports,
                   min(t.ts) FILTER (WHERE l.subject_id IS NOT NULL),
                   max(t.ts) FILTER (WHERE l.subject_id IS NOT NULL)
            FROM touched t LEFT JOIN leaked_subjects l
              ON l.owner_id = t.owner_id AND l.subject_id = t.subject_id
            GROUP BY t.actor
            """,
            [cutoff],
        ).fetchall()
        bulk = con.execute(
            f"""
            SELECT coalesce(e.actor_id, 'account:' || coalesce(e.account, '?')) AS actor,
                   e.owner_id, count(*) AS n, min(e.ts), max(e.ts),
                   -- rows the exports returned, when every one of them says (NULL: unknown)
                   CASE WHEN bool_and(e.row_count IS NOT NULL) THEN sum(e.row_count) END AS rows_out
            FROM access_events e
            WHERE e.action IN ('export', 'print') AND e.ts < ?
              AND e.owner_id IN (SELECT DISTINCT owner_id FROM leaked_subjects)
              AND NOT EXISTS (SELECT 1 FROM access_subjects s WHERE s.event_id = e.event_id)
              AND NOT regexp_matches(coalesce(e.statement, ''), '{_AGGREGATE_ONLY}', 'i')
            GROUP BY 1, 2
            """,
            [cutoff],
        ).fetchall()
        # removable-media copies, and how many of them followed the same person's access to the
        # leaked owners' data within CARRY_HOURS
        usb = con.execute(
            f"""
            WITH acc AS (
                SELECT DISTINCT e.actor_id, e.ts FROM access_events e
                WHERE e.actor_id IS NOT NULL AND e.ts < ?
                  AND e.owner_id IN (SELECT DISTINCT owner_id FROM leaked_subjects)
                  AND e.action NOT IN ('login', 'logout')
            ),
            sessions AS (  -- database sessions from connection logging (login/logout, one resource)
                SELECT actor_id, resource, min(ts) FILTER (WHERE action = 'login') AS t0,
                       max(ts) FILTER (WHERE action = 'logout') AS t1
                FROM access_events
                WHERE action IN ('login', 'logout') AND actor_id IS NOT NULL AND resource LIKE 'session:%' AND ts < ?
                GROUP BY actor_id, resource
            ),
            silent AS (    -- sessions in which the same person left no audit line at all
                SELECT s.actor_id, s.t0 FROM sessions s
                WHERE s.t0 IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM access_events e
                    WHERE e.actor_id = s.actor_id AND e.action NOT IN ('login', 'logout')
                      AND e.ts BETWEEN s.t0 AND coalesce(s.t1, s.t0 + INTERVAL 1 HOUR))
            )
            SELECT p.actor_id, count(*) AS copies,
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM acc a WHERE a.actor_id = p.actor_id
                         AND a.ts <= p.ts AND a.ts > p.ts - INTERVAL {CARRY_HOURS} HOUR)) AS after_access,
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM silent z WHERE z.actor_id = p.actor_id
                         AND z.t0 <= p.ts AND z.t0 > p.ts - INTERVAL {CARRY_HOURS} HOUR)) AS after_silent,
                   min(p.ts), max(p.ts)
            FROM endpoint_events p
            WHERE p.to_removable AND p.actor_id IS NOT NULL AND p.ts < ?
            GROUP BY p.actor_id
            """,
            [cutoff, cutoff, cutoff],
        ).fetchall()
        roles = dict(con.execute("SELECT actor_id, role FROM actors").fetchall())
        # leaked people that some logged access named one by one
        named = con.execute(
            """SELECT count(*) FROM leaked_subjects l WHERE EXISTS (
                 SELECT 1 FROM access_subjects s JOIN access_events e ON e.event_id = s.event_id
                 WHERE s.owner_id = l.owner_id AND s.subject_id = l.subject_id AND e.ts < ?)""",
            [cutoff],
        ).fetchall()[0][0]
    finally:
        con.unregister("leaked_subjects")
        con.close()
    acc: dict[str, dict[str, Any]] = {}

    def slot(actor: str) -> dict[str, Any]:
        return acc.setdefault(actor, {
            "actor": actor, "subjects": 0, "touched": 0, "events": 0, "exports": 0, "bulk_exports": 0,
            "bulk_owners": [], "first_touch": None, "last_touch": None, "_bulk_hits": 0, "_bulk_rows": 0,
            "removable_media_events": 0, "removable_after_access": 0, "removable_after_silent_session": 0,
        })

    def widen(a: dict[str, Any], first: Any, last: Any) -> None:
        if first is None or last is None:
            return
        # our cursor does not carry the workspace zone; show times in the organisation's local time
        first, last = first.astimezone(ws.timezone), last.astimezone(ws.timezone)
        a["first_touch"] = first if a["first_touch"] is None else min(a["first_touch"], first)
        a["last_touch"] = last if a["last_touch"] is None else max(a["last_touch"], last)

    for actor, touched, hits, ev, ex, first, last in direct:
        if not hits:
            continue
        a = slot(actor)
        a.update(subjects=int(hits), touched=int(touched), events=int(ev), exports=int(ex))
        widen(a, first, last)
    bulk_owners_covered: set[str] = set()
    for actor, owner, n, first, last, rows_out in bulk:
        a = slot(actor)
        a["bulk_exports"] += int(n)
        a["bulk_owners"] = sorted({*a["bulk_owners"], owner})
        size = max(owner_sizes.get(owner, 0), per_owner.get(owner, 0))
        rows = size if rows_out is None else min(int(rows_out), size)
        # an export that returned k rows can have carried at most k of the leaked rows
        a["_bulk_hits"] += min(rows, per_owner.get(owner, 0))
        a["_bulk_rows"] += rows
        if rows_out is None:
            bulk_owners_covered.add(owner)
        widen(a, first, last)
    for actor, copies, after, silent, first, last in usb:
        a = slot(actor)
        a["removable_media_events"] = int(copies)
        a["removable_after_access"] = int(after)
        a["removable_after_silent_session"] = int(silent)
        if not a["subjects"] and not a["bulk_exports"]:
            widen(a, first, last)
    out = []
    for a in acc.values():
        bulk_hits, bulk_rows = a.pop("_bulk_hits"), a.pop("_bulk_rows")
        # one by one and in bulk may name the same people: the larger is a safe lower bound
        a["coverage"] = round(min(total, max(a["subjects"], bulk_hits)) / total, 4)
        # which people a bulk export carried the log does not say: it is evidence of capacity, not
        # of choice, so precision and significance come from people named one by one; a bulk-only
        # actor gets the precision of a random pick (leaked share of what he exported)
        if a["touched"]:
            a["precision"] = round(a["subjects"] / a["touched"], 4)
        else:
            a["precision"] = round(bulk_hits / bulk_rows, 4) if bulk_rows else 0.0
        a["significance"] = significance(population, total, a["touched"], a["subjects"])
        a["role"] = roles.get(a["actor"])
        a["tier"] = _tier(a)
        a["why"] = _why(a, total)
        # names the first trace version used (the CLI and the demo read them)
        a["share"], a["first_access"], a["last_access"] = a["coverage"], a["first_touch"], a["last_touch"]
        out.append(a)
    out.sort(key=lambda a: (a["tier"], -a["significance"], -a["coverage"], -a["removable_after_silent_session"],
                            -a["removable_media_events"], a["role"] == "service", a["actor"]))
    unexplained = 0 if bulk_owners_covered >= set(per_owner) else total - int(named)
    return {"suspects": out[:TOP], "unexplained": unexplained}


def _tier(a: dict[str, Any]) -> int:
    if a["coverage"] > 0 and a["removable_after_access"]:
        return 0
    if a["removable_after_silent_session"]:
        return 1
    if a["significance"] >= SIGNIFICANT:
        return 2
    if a["removable_media_events"]:
        return 3
    return 4


def _why(a: dict[str, Any], total: int) -> str:
    reasons = []
    if a["subjects"]:
        reasons.append(f"touched {a['subjects']} of {total} leaked people one by one "
                       f"({a['touched']} people of those owners in all; {a['exports']} export events)")
    if a["bulk_exports"]:
        reasons.append(f"{a['bulk_exports']} bulk exports of {', '.join(a['bulk_owners'])}")
    reasons.append(f"coverage {a['coverage']:.0%}, precision {a['precision']:.1%}, "
                   f"significance {a['significance']:.1f} (−log10 p against random touches)")
    if a["removable_media_events"]:
        reasons.append(f"{a['removable_media_events']} copies to removable media, "
                       f"{a['removable_after_access']} within {CARRY_HOURS} h after his access to these owners' data, "
                       f"{a['removable_after_silent_session']} within {CARRY_HOURS} h after a database session "
                       "that left no audit line")
    if a["role"] == "service":
        reasons.append("a service account: find who used it at those times")
    return "; ".join(reasons)
