"""Rule ``curiosity``: looking people up without a reason, again and again.

Honest staff open someone off their list now and then (a phone enquiry, a mistyped id); a snooper
does it repeatedly. So the rule counts such people over a month and compares the count with
colleagues in the same role.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import numpy as np

from kansa.audit.baseline import OUTLIER_Z, baseline
from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding, severity_for
from kansa.audit.rules.common import ACTIONS_SQL, COVERED, evidence, fetch, have_assignments

LOOKUP_MAX_SUBJECTS = 10  # a look-up names a handful of people; more is a bulk read (rule 1)
# Honest staff open someone off their list now and then (a phone enquiry, a mistyped id); a
# snooper does it again and again. So the rule compares a month's count (the period tickets,
# campaigns and audit reviews run on) with the same count for colleagues in the same role.
CURIOSITY_WINDOW_DAYS = 30


def curiosity(con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None) -> list[Finding]:
    """Views of people outside the subject lists of the actor's assignments, far more than peers.

    Only record views count (a search shows candidates the actor did not choose). A view is
    "off-list" when the actor had assignments for that owner that day, all of them with subject
    lists, and the person is on none; with no assignment at all, rule 2 speaks instead.
    Services act for users and are judged through the users' own log, so they are left out.
    """
    if not have_assignments(con):
        return []
    in_list = COVERED.format(
        extra="AND EXISTS (SELECT 1 FROM assignment_subjects q WHERE q.assignment_id = s.assignment_id "
        "AND q.owner_id = e.owner_id AND q.subject_id = x.subject_id)"
    )
    open_scope = COVERED.format(
        extra="AND NOT EXISTS (SELECT 1 FROM assignment_subjects q WHERE q.assignment_id = s.assignment_id)"
    )
    any_scope = COVERED.format(extra="")
    off = fetch(
        con,
        f"""
        WITH look AS (
            SELECT e.event_id FROM access_events e JOIN access_subjects x USING (event_id)
            WHERE e.ts < ? AND e.action = 'view'
            GROUP BY e.event_id HAVING count(*) <= {LOOKUP_MAX_SUBJECTS}
        )
        SELECT e.actor_id, CAST(e.ts AS DATE) AS day,
               count(DISTINCT (coalesce(x.owner_id, e.owner_id), x.subject_id)) AS n_subj,
               list(DISTINCT e.event_id) AS ids, list(DISTINCT e.owner_id) AS owners
        FROM look JOIN access_events e USING (event_id) JOIN access_subjects x USING (event_id)
             LEFT JOIN actors a ON a.actor_id = e.actor_id
        WHERE e.actor_id IS NOT NULL AND e.owner_id IS NOT NULL AND coalesce(a.role, '') <> 'service'
          AND {any_scope} AND NOT {open_scope} AND NOT {in_list}
        GROUP BY ALL
        """,
        [cutoff],
    )
    active = fetch(
        con,
        f"""
        SELECT DISTINCT e.actor_id, CAST(e.ts AS DATE) AS day, coalesce(a.role, 'unknown')
        FROM access_events e LEFT JOIN actors a USING (actor_id)
        WHERE e.ts < ? AND e.actor_id IS NOT NULL AND e.action IN ({ACTIONS_SQL})
          AND coalesce(a.role, '') <> 'service'
        """,
        [cutoff],
    )
    if not off:
        return []
    days = sorted({d for _a, d, _r in active} | {r[1] for r in off})
    day_ix = {d: i for i, d in enumerate(days)}
    actors = sorted({a for a, _d, _r in active} | {r[0] for r in off})
    act_ix = {a: i for i, a in enumerate(actors)}
    role_of: dict[str, str] = {}
    act_m = np.zeros((len(actors), len(days)), dtype=np.int64)
    off_m = np.zeros((len(actors), len(days)), dtype=np.int64)
    for a, d, role in active:
        act_m[act_ix[a], day_ix[d]] = 1
        role_of[a] = role
    detail_of: dict[tuple[str, date], tuple[int, list[int], list[str]]] = {}
    for a, d, n, ids, owners in off:
        off_m[act_ix[a], day_ix[d]] = int(n)
        act_m[act_ix[a], day_ix[d]] = 1
        detail_of[(a, d)] = (int(n), list(ids), sorted(str(o) for o in owners))
    ordinals = np.array([d.toordinal() for d in days])
    c_off = np.concatenate([np.zeros((len(actors), 1), dtype=np.int64), off_m.cumsum(axis=1)], axis=1)
    c_act = np.concatenate([np.zeros((len(actors), 1), dtype=np.int64), act_m.cumsum(axis=1)], axis=1)
    out = []
    for (a, d), (n, ids, owners) in sorted(detail_of.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        j = day_ix[d]
        lo = int(np.searchsorted(ordinals, d.toordinal() - CURIOSITY_WINDOW_DAYS + 1))
        window_off = c_off[:, j + 1] - c_off[:, lo]
        window_act = c_act[:, j + 1] - c_act[:, lo]
        role = role_of.get(a, "unknown")
        peers = [
            float(window_off[k]) for k, other in enumerate(actors)
            if other != a and role_of.get(other, "unknown") == role and window_act[k] > 0
        ]
        b = baseline(peers, min_history=3)
        x = float(window_off[act_ix[a]])
        if b is None:
            continue
        z = b.z(x)
        if z <= OUTLIER_Z or x <= b.high:
            continue
        owners_s = ", ".join(owners)
        out.append(
            Finding(
                rule="curiosity",
                actor_id=a,
                day=d,
                score=round(z, 2),
                severity=severity_for(z, high=3 * OUTLIER_Z, medium=OUTLIER_Z),
                reason_ja=(
                    f"{d} に担当外の {n} 人を個別に閲覧({owners_s})。直近 {CURIOSITY_WINDOW_DAYS} 日で担当外閲覧 "
                    f"{x:.0f} 人(同じ役割の同僚 {b.n} 人の中央値 {b.median:.0f}、最大 {b.high:.0f})。"
                    f"修正 z 値 {z:.1f} > {OUTLIER_Z}。"
                ),
                reason_en=(
                    f"Opened {n} record(s) on {d} ({owners_s}) of people on none of the actor's assignment "
                    f"lists; {x:.0f} such people in the last {CURIOSITY_WINDOW_DAYS} days vs a median of "
                    f"{b.median:.0f} (max {b.high:.0f}) among {b.n} peers; modified z {z:.1f} > {OUTLIER_Z}."
                ),
                detail={"subjects_today": n, "window_days": CURIOSITY_WINDOW_DAYS, "window_subjects": x,
                        "peer_median": b.median, "peer_max": b.high, "peers": b.n, "owners": owners},
                access_events=evidence(ids),
            )
        )
    return out

