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
from kansa.audit.rules.common import (
    ACTIONS_SQL,
    COVERED,
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
    with task_cover(con, cutoff, lo) as cur:
        rows = fetch(
            cur,
            f"""
            SELECT e.actor_id, CAST(e.ts AS DATE) AS day, e.owner_id, count(*) AS n,
                   sum(coalesce(e.row_count, 1)) AS n_rows,
                   count(*) FILTER (WHERE e.action IN ({EXPORT_SQL})) AS n_exp,
                   list(e.event_id) AS ids
            FROM access_events e LEFT JOIN actors a USING (actor_id)
            WHERE e.ts < ? AND e.ts >= ? AND e.actor_id IS NOT NULL AND e.owner_id IS NOT NULL
              AND e.action IN ({ACTIONS_SQL}) AND coalesce(e.outcome, 'success') <> 'failure'
              AND coalesce(a.role, '') <> 'service'
              AND NOT {COVERED.format(extra="")}
            GROUP BY ALL ORDER BY day, e.actor_id, e.owner_id
            """,
            [cutoff, lo or EPOCH],
        )
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

