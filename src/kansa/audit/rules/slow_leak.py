"""Rule ``slow_leak``: a leak spread so thin that no single day stands out.

What gives it away is breadth over months. Two ways to see it:

* against peers (same role, at least ``min_peers`` of them with ``min_active_days``): distinct
  owners touched, and distinct *unjustified* people per active day (see below), far above the
  peers' values on that same day. Four peers at least (a group of five): a median and MAD of fewer is one
  colleague's habit, not a norm;
* against the actor's own history, when peers are too few (a role of one or two people, like the
  seed case's maintenance temp): a CUSUM on the daily count of *unjustified* new people — people
  the actor had never touched before and whom no assignment list or cited ticket covers. Honest work
  saturates (the same call list, the same case files); a leak keeps finding new people. The
  in-control level is the mean of all earlier active days (winsorised at their 95th percentile so
  that a few odd days do not hide a later shift), its scale the counting noise sqrt(level), never
  below one. k = 0.5 and h = 5 standard units are the textbook CUSUM pair (Montgomery), with an
  in-control run length of several hundred days; after an alarm the sum restarts from zero.

Causal: each day's statistic uses only that day and earlier ones.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime

import duckdb
import numpy as np

from kansa.audit.baseline import OUTLIER_Z, baseline
from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding, severity_for
from kansa.audit.rules.common import ACTIONS_SQL, evidence, fetch

SLOW_REPEAT_DAYS = 30

_DAILY_SQL = f"""
    WITH ev AS (
        SELECT e.event_id, e.actor_id, CAST(e.ts AS DATE) AS day, e.owner_id, e.ticket, a.team
        FROM access_events e LEFT JOIN actors a USING (actor_id)
        WHERE e.ts < ? AND e.actor_id IS NOT NULL AND e.action IN ({ACTIONS_SQL})
    ),
    subj_first AS (
        SELECT ev.actor_id, coalesce(x.owner_id, ev.owner_id) AS owner_id, x.subject_id,
               min(ev.day) AS day, arg_min(ev.ticket, ev.day) AS ticket, any_value(ev.team) AS team,
               arg_min(ev.event_id, ev.day) AS event_id
        FROM ev JOIN access_subjects x USING (event_id)
        GROUP BY ALL
    ),
    judged AS (
        SELECT f.*, EXISTS (
            SELECT 1 FROM assignment_subjects q JOIN assignments s USING (assignment_id)
            WHERE q.owner_id = f.owner_id AND q.subject_id = f.subject_id
              AND (s.assignment_id = f.ticket OR s.actor_id = f.actor_id
                   OR (s.actor_id IS NULL AND s.team IS NOT NULL AND s.team = f.team))
              AND f.day BETWEEN coalesce(s.valid_from, DATE '0001-01-01') AND coalesce(s.valid_to, DATE '9999-12-31')
        ) AS justified
        FROM subj_first f
    ),
    owner_first AS (
        SELECT actor_id, min(day) AS day FROM ev WHERE owner_id IS NOT NULL GROUP BY actor_id, owner_id
    ),
    days AS (SELECT actor_id, day, list(event_id) AS ids FROM ev GROUP BY ALL),
    ns AS (SELECT actor_id, day, count(*) AS n, count(*) FILTER (WHERE NOT justified) AS n_unjust,
                  list(event_id) FILTER (WHERE NOT justified) AS unjust_ids
           FROM judged GROUP BY ALL),
    no AS (SELECT actor_id, day, count(*) AS n FROM owner_first GROUP BY ALL),
    daily AS (
        SELECT d.actor_id, d.day, d.ids, coalesce(ns.n, 0) AS new_subj, coalesce(no.n, 0) AS new_own,
               coalesce(ns.n_unjust, 0) AS new_unjust, ns.unjust_ids
        FROM days d LEFT JOIN ns USING (actor_id, day) LEFT JOIN no USING (actor_id, day)
    )
    SELECT d.actor_id, d.day, coalesce(a.role, 'unknown') AS role, d.ids,
           sum(new_unjust) OVER w AS cum_subj, sum(new_own) OVER w AS cum_own,
           count(*) OVER w AS active_days, d.new_unjust, d.unjust_ids
    FROM daily d LEFT JOIN actors a USING (actor_id)
    WINDOW w AS (PARTITION BY d.actor_id ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ORDER BY d.day, d.actor_id
"""


def _cusum_alarms(
    series: list[tuple[date, int, list[int]]], few_peers: set[date], k: float, h: float, history: int,
    repeat_days: int,
) -> list[tuple[date, dict[str, float], list[int]]]:
    """One actor's CUSUM alarms on days when it had too few peers: (day, figures, evidence ids)."""
    alarms: list[tuple[date, dict[str, float], list[int]]] = []
    s = 0.0
    run_start: int | None = None
    last: date | None = None
    values = np.array([v for _d, v, _i in series], dtype=float)
    for t, (day, x, _ids) in enumerate(series):
        if t < history:
            continue
        prior = values[:t]
        cap = float(np.quantile(prior, 0.95))
        level = float(np.minimum(prior, cap).mean())
        scale = max(math.sqrt(level), 1.0)
        step = (x - level) / scale - k
        s = max(0.0, s + step)
        if s == 0.0:
            run_start = None
        elif run_start is None:
            run_start = t
        if s > h and day in few_peers and (last is None or (day - last).days >= repeat_days):
            first = run_start if run_start is not None else t
            excess = float(sum(values[first:t + 1]) - level * (t + 1 - first))
            ev_ids = [i for _d, _v, ids in series[first:t + 1] for i in ids]
            alarms.append((day, {"cusum": round(s, 2), "level": round(level, 2), "scale": round(scale, 2),
                                 "since": series[first][0].toordinal(), "days": t + 1 - first,
                                 "excess_people": round(excess, 1), "today": float(x)}, ev_ids))
            last = day
            s, run_start = 0.0, None
    return alarms


def slow_leak(con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None) -> list[Finding]:
    """Breadth of people and owners touched, far above the peers' or above the actor's own trend."""
    cfg = cfg or RuleConfig("slow_leak")
    z_cut = cfg.get("z", OUTLIER_Z)
    min_active = cfg.get("min_active_days", 5)
    min_peers = cfg.get("min_peers", 4)
    repeat = cfg.get("repeat_days", SLOW_REPEAT_DAYS)
    data = fetch(con, _DAILY_SQL, [cutoff])
    # latest state per actor as of each day: rows are ordered by day
    latest: dict[str, tuple[str, float, float, int]] = {}
    last_fired: dict[tuple[str, str], date] = {}
    series: dict[str, list[tuple[date, int, list[int]]]] = defaultdict(list)
    few_peers: dict[str, set[date]] = defaultdict(set)
    out: list[Finding] = []
    i = 0
    while i < len(data):
        day = data[i][1]
        todays = []
        while i < len(data) and data[i][1] == day:
            actor, _d, role, ids, cum_subj, cum_own, active, new_unjust, unjust_ids = data[i]
            latest[actor] = (role, float(cum_subj) / active, float(cum_own), int(active))
            series[actor].append((day, int(new_unjust), [int(x) for x in unjust_ids or []]))
            todays.append((actor, ids))
            i += 1
        for actor, ids in todays:
            role, subj_rate, owners, active = latest[actor]
            if active < min_active:
                continue
            peers = [v for a, v in latest.items() if a != actor and v[0] == role and v[3] >= min_active]
            if len(peers) < min_peers:
                few_peers[actor].add(day)
                continue
            for metric, x, values in (
                ("owners", owners, [p[2] for p in peers]),
                ("subjects_per_day", subj_rate, [p[1] for p in peers]),
            ):
                b = baseline(values, min_history=min_peers)
                if b is None or x <= 0:
                    continue
                z = b.z(x)
                if z <= z_cut:
                    continue
                prev = last_fired.get((actor, metric))
                if prev is not None and (day - prev).days < repeat:
                    continue
                last_fired[(actor, metric)] = day
                what_ja = "データ所有者(委託元)数" if metric == "owners" else "1日あたりの業務で説明できない新たな対象者数"
                out.append(
                    Finding(
                        rule="slow_leak",
                        actor_id=actor,
                        day=day,
                        score=round(z, 2),
                        severity=severity_for(z, high=3 * z_cut, medium=z_cut),
                        reason_ja=(
                            f"{day} までの {active} 稼働日で、{what_ja}が {x:.1f}(同じ役割の同僚 {b.n} 人の"
                            f"中央値 {b.median:.1f})。修正 z 値 {z:.1f} > {z_cut}。"
                        ),
                        reason_en=(
                            f"Over {active} active days up to {day}, "
                            f"{'owners touched' if metric == 'owners' else 'people per day that no task explains'}"
                            f" = {x:.1f} "
                            f"vs a median of {b.median:.1f} among {b.n} peers in the same role; "
                            f"modified z {z:.1f} > {z_cut}."
                        ),
                        detail={"metric": metric, "value": x, "peer_median": b.median, "peers": b.n,
                                "active_days": active, "z": z},
                        access_events=evidence(ids),
                        key=metric,
                    )
                )
    k, h = cfg.get("cusum_k", 0.5), cfg.get("cusum_h", 5.0)
    history = cfg.get("cusum_history", 19)
    for actor, days in series.items():
        # Services reach whoever their users ask for: judged through the users, not on their own.
        if not few_peers.get(actor) or latest.get(actor, ("",))[0] == "service":
            continue
        for day, fig, ev_ids in _cusum_alarms(days, few_peers[actor], k, h, history, repeat):
            since = date.fromordinal(int(fig["since"]))
            out.append(
                Finding(
                    rule="slow_leak",
                    actor_id=actor,
                    day=day,
                    score=round(fig["cusum"], 2),
                    severity="medium",
                    reason_ja=(
                        f"{since} から {day} までの {fig['days']:.0f} 稼働日、担当業務で説明できない新たな対象者が"
                        f"本人の通常({fig['level']:.1f} 人/日)を上回り続け、累計超過 {fig['excess_people']:.0f} 人。"
                        f"CUSUM {fig['cusum']:.1f} > {h}(同じ役割の同僚が {min_peers} 人未満のため本人の履歴と比較)。"
                    ),
                    reason_en=(
                        f"From {since} to {day} ({fig['days']:.0f} active days) the actor kept reaching people never "
                        f"touched before that no assignment or ticket covers, above the own usual "
                        f"{fig['level']:.1f}/day: {fig['excess_people']:.0f} people in excess; CUSUM "
                        f"{fig['cusum']:.1f} > {h} (fewer than {min_peers} peers, so judged against own history)."
                    ),
                    detail={"metric": "unjustified_new_people", **fig, "since": since.isoformat(), "k": k, "h": h},
                    access_events=evidence(ev_ids),
                    key="own_trend",
                )
            )
    return out
