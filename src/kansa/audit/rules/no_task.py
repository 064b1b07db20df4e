"""Rule ``no_task``: access to an owner's data on a day the actor had no task for that owner.

A fact, not a score: the registry of assignments (campaigns, tickets, duties) says who may work on
whose data when. Silent when the workspace has no assignments at all (it cannot speak).
"""

from __future__ import annotations

import math
from datetime import date, datetime

import duckdb

from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding
from kansa.audit.localday import local_clock
from kansa.audit.rules.common import (
    ACTIONS_SQL,
    EPOCH,
    EXPORT_SQL,
    evidence,
    fetch,
    have_assignments,
    task_cover,
)
from kansa.audit.rules.state import midnight


def no_task(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None, since: date | None = None
) -> list[Finding]:
    """Access to an owner's data on a day the actor had no valid assignment for that owner.

    Service accounts (an application's own database role) act for users; their reads are judged
    through the application's log of who asked, so they are not held to assignments here. A fact
    about one day needs no history: only the days from ``since`` are read.
    """
    if not have_assignments(con):
        return []  # no registry of tasks: the rule cannot speak (docs/audit.md)
    lo = midnight(since, cutoff) if since is not None else None
    clock = local_clock(con, cutoff)
    with task_cover(con, cutoff, lo) as cur:
        # Whether a task covers an access depends only on (actor, day, owner): the events are
        # counted per such group first and the cover tested once per group (a test per event made
        # the engine probe the day-by-day cover for each of millions of events); the event ids are
        # then read back for the uncovered groups only.
        cur.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _kansa_no_task AS
            WITH g AS (
                SELECT e.actor_id, {clock.day('e.ts')} AS day, e.owner_id, count(*) AS n,
                       sum(coalesce(e.row_count, 1)) AS n_rows,
                       count(*) FILTER (WHERE e.action IN ({EXPORT_SQL})) AS n_exp
                FROM access_events e
                WHERE e.ts < ? AND e.ts >= ? AND e.actor_id IS NOT NULL AND e.owner_id IS NOT NULL
                  AND e.action IN ({ACTIONS_SQL}) AND coalesce(e.outcome, 'success') <> 'failure'
                GROUP BY ALL
            )
            SELECT g.* FROM g LEFT JOIN actors a USING (actor_id)
            WHERE coalesce(a.role, '') <> 'service'
              AND NOT EXISTS (SELECT 1 FROM _kansa_cover s
                              WHERE s.actor_id = g.actor_id AND s.day = g.day
                                AND (s.owner_id IS NULL OR s.owner_id = g.owner_id))
              AND NOT EXISTS (SELECT 1 FROM _kansa_cover s
                              WHERE s.actor_id IS NULL AND s.team = a.team AND s.day = g.day
                                AND (s.owner_id IS NULL OR s.owner_id = g.owner_id))
            """,
            [cutoff, lo or EPOCH],
        )
        rows = fetch(
            cur,
            f"""
            SELECT t.actor_id, t.day, t.owner_id, t.n, t.n_rows, t.n_exp, list(e.event_id) AS ids
            FROM access_events e
            JOIN _kansa_no_task t ON t.actor_id = e.actor_id AND t.owner_id = e.owner_id AND t.day = {clock.day('e.ts')}
            WHERE e.ts < ? AND e.ts >= ? AND e.action IN ({ACTIONS_SQL})
              AND coalesce(e.outcome, 'success') <> 'failure'
            GROUP BY ALL
            ORDER BY t.day, t.actor_id, t.owner_id
            """,
            [cutoff, lo or EPOCH],
        )
        cur.execute("DROP TABLE _kansa_no_task")
    out = []
    for actor, day, owner, n, n_rows, n_exp, ids in rows:
        score = float(math.log10(1 + float(n_rows))) + (2.0 if n_exp else 0.0)
        sev = "high" if n_exp else ("medium" if n >= 3 else "low")
        out.append(
            Finding(
                rule="no_task",
                actor_id=actor,
                day=day,
                score=round(score, 2),
                severity=sev,
                reason_ja=(
                    f"{day} に {owner} のデータへ {n} 回アクセス({n_rows} 件、出力 {n_exp} 回)したが、"
                    f"その日に有効な {owner} の担当業務(割当)がない。"
                ),
                reason_en=(
                    f"Accessed {owner}'s data {n} time(s) on {day} ({n_rows} rows, {n_exp} export(s)) "
                    f"with no assignment for {owner} valid that day."
                ),
                detail={"owner": owner, "events": int(n), "rows": int(n_rows), "exports": int(n_exp)},
                access_events=evidence(ids),
                key=str(owner),
            )
        )
    return out

