"""Rule ``slow_leak``: a leak spread so thin that no single day stands out.

What gives it away is breadth: many more distinct owners (clients) and people than colleagues in
the same role ever touch.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from kansa.audit.baseline import MIN_HISTORY, OUTLIER_Z, baseline
from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding, severity_for
from kansa.audit.rules.common import ACTIONS_SQL, evidence, fetch

SLOW_REPEAT_DAYS = 30


def slow_leak(con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None) -> list[Finding]:
    """Distinct people and owners touched per active day, cumulatively, far above the peers'.

    A leak spread over years stays under every daily threshold; what gives it away is breadth:
    many more distinct owners (clients) and people than colleagues in the same role ever touch.
    Compared per day with the peers' values on that same day (all computed from data up to then).
    """
    rows = fetch(
        con,
        f"""
        WITH ev AS (
            SELECT e.event_id, e.actor_id, CAST(e.ts AS DATE) AS day, e.owner_id
            FROM access_events e
            WHERE e.ts < ? AND e.actor_id IS NOT NULL AND e.action IN ({ACTIONS_SQL})
        ),
        subj_first AS (
            SELECT ev.actor_id, min(ev.day) AS day
            FROM ev JOIN access_subjects x USING (event_id)
            GROUP BY ev.actor_id, coalesce(x.owner_id, ev.owner_id), x.subject_id
        ),
        owner_first AS (
            SELECT actor_id, min(day) AS day FROM ev WHERE owner_id IS NOT NULL GROUP BY actor_id, owner_id
        ),
        days AS (SELECT actor_id, day, list(event_id) AS ids FROM ev GROUP BY ALL),
        ns AS (SELECT actor_id, day, count(*) AS n FROM subj_first GROUP BY ALL),
        no AS (SELECT actor_id, day, count(*) AS n FROM owner_first GROUP BY ALL),
        daily AS (
            SELECT d.actor_id, d.day, d.ids, coalesce(ns.n, 0) AS new_subj, coalesce(no.n, 0) AS new_own
            FROM days d LEFT JOIN ns USING (actor_id, day) LEFT JOIN no USING (actor_id, day)
        )
        SELECT d.actor_id, d.day, coalesce(a.role, 'unknown') AS role, d.ids,
               sum(new_subj) OVER w AS cum_subj, sum(new_own) OVER w AS cum_own,
               count(*) OVER w AS active_days
        FROM daily d LEFT JOIN actors a USING (actor_id)
        WINDOW w AS (PARTITION BY d.actor_id ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ORDER BY d.day, d.actor_id
        """,
        [cutoff],
    )
    # latest state per actor as of each day: rows are ordered by day
    latest: dict[str, tuple[str, float, float, int]] = {}
    last_fired: dict[tuple[str, str], date] = {}
    out: list[Finding] = []
    i = 0
    while i < len(rows):
        day = rows[i][1]
        todays = []
        while i < len(rows) and rows[i][1] == day:
            actor, _d, role, ids, cum_subj, cum_own, active = rows[i]
            latest[actor] = (role, float(cum_subj) / active, float(cum_own), int(active))
            todays.append((actor, ids))
            i += 1
        for actor, ids in todays:
            role, subj_rate, owners, active = latest[actor]
            if active < MIN_HISTORY:
                continue
            peers = [v for a, v in latest.items() if a != actor and v[0] == role and v[3] >= MIN_HISTORY]
            for metric, x, values in (
                ("owners", owners, [p[2] for p in peers]),
                ("subjects_per_day", subj_rate, [p[1] for p in peers]),
            ):
                b = baseline(values, min_history=3)
                if b is None or x <= 0:
                    continue
                z = b.z(x)
                if z <= OUTLIER_Z:
                    continue
                prev = last_fired.get((actor, metric))
                if prev is not None and (day - prev).days < SLOW_REPEAT_DAYS:
                    continue
                last_fired[(actor, metric)] = day
                what_ja = "データ所有者(委託元)数" if metric == "owners" else "1日あたりの延べ対象者数"
                out.append(
                    Finding(
                        rule="slow_leak",
                        actor_id=actor,
                        day=day,
                        score=round(z, 2),
                        severity=severity_for(z, high=3 * OUTLIER_Z, medium=OUTLIER_Z),
                        reason_ja=(
                            f"{day} までの {active} 稼働日で、{what_ja}が {x:.1f}(同じ役割の同僚 {b.n} 人の"
                            f"中央値 {b.median:.1f})。修正 z 値 {z:.1f} > {OUTLIER_Z}。"
                        ),
                        reason_en=(
                            f"Over {active} active days up to {day}, {metric.replace('_', ' ')} = {x:.1f} "
                            f"vs a median of {b.median:.1f} among {b.n} peers in the same role; "
                            f"modified z {z:.1f} > {OUTLIER_Z}."
                        ),
                        detail={"metric": metric, "value": x, "peer_median": b.median, "peers": b.n,
                                "active_days": active, "z": z},
                        access_events=evidence(ids),
                        key=metric,
                    )
                )
    return out

