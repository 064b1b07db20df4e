"""Rule ``curiosity``: looking people up without a reason.

Two signals, both judged per look-up (a record view naming at most a handful of people; a search
shows candidates the actor did not choose, a bigger read is bulk_pull's):

* rate: honest staff open someone without a reason now and then (a phone enquiry, a mistyped id);
  a snooper does it again and again. A look-up is unexplained when the actor's assignments for
  that owner that day all have subject lists and the person is on none of them; or, when the
  assignment is open (a standing duty without a list), when the look-up cites no ticket and no
  business action follows it (no update, print or export of that person by the actor that day).
  The month's count of such people (campaigns, tickets and access reviews run on a month) is
  compared with colleagues in the same role: modified z > 3.5 and above every colleague.
* the watch list (``watchlist``): a look-up, without a task naming that person, of someone on the
  workspace's watch list; high when the list relates that person to the actor (family, same
  surname or address), medium otherwise.

With no assignment at all for the owner, ``no_task`` speaks instead. Services act for users and are
judged through the users' own log, so they are left out.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from kansa.audit.baseline import OUTLIER_Z, baseline
from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding, severity_for
from kansa.audit.rules.common import ACTIONS_SQL, COVERED, evidence, fetch, have_assignments
from kansa.audit.rules.watchlist import read_watchlist

LOOKUP_MAX_SUBJECTS = 10
CURIOSITY_WINDOW_DAYS = 30

_IN_LIST = COVERED.format(
    extra="AND EXISTS (SELECT 1 FROM assignment_subjects q WHERE q.assignment_id = s.assignment_id "
    "AND q.owner_id = e.owner_id AND q.subject_id = x.subject_id)"
)
_OPEN_SCOPE = COVERED.format(
    extra="AND NOT EXISTS (SELECT 1 FROM assignment_subjects q WHERE q.assignment_id = s.assignment_id)"
)
_ANY_SCOPE = COVERED.format(extra="")
# A business action on the person by the same actor the same day, after the look-up.
_ACTED = """EXISTS (SELECT 1 FROM access_events w JOIN access_subjects y USING (event_id)
                    WHERE w.actor_id = e.actor_id AND y.subject_id = x.subject_id
                      AND coalesce(y.owner_id, w.owner_id) = coalesce(x.owner_id, e.owner_id)
                      AND w.action IN ('update', 'insert', 'delete', 'print', 'export')
                      AND w.ts >= e.ts AND w.ts < ? AND CAST(w.ts AS DATE) = CAST(e.ts AS DATE))"""


def _lookups_sql(max_subjects: int) -> str:
    return f"""
        look AS (
            SELECT e.event_id FROM access_events e JOIN access_subjects x USING (event_id)
            WHERE e.ts < ? AND e.action = 'view'
            GROUP BY e.event_id HAVING count(*) <= {max_subjects}
        ),
        lk AS (
            SELECT e.event_id, e.ts, e.actor_id, e.owner_id, e.ticket, x.subject_id,
                   coalesce(x.owner_id, e.owner_id) AS subj_owner,
                   {_ANY_SCOPE} AS any_scope, {_OPEN_SCOPE} AS open_scope, {_IN_LIST} AS listed,
                   e.ticket IS NOT NULL OR {_ACTED} AS acted
            FROM look JOIN access_events e USING (event_id) JOIN access_subjects x USING (event_id)
                 LEFT JOIN actors a ON a.actor_id = e.actor_id
            WHERE e.actor_id IS NOT NULL AND e.owner_id IS NOT NULL AND coalesce(a.role, '') <> 'service'
        )"""


def curiosity(con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None) -> list[Finding]:
    """Unexplained look-ups far more often than peers, and look-ups of watched people."""
    cfg = cfg or RuleConfig("curiosity")
    if not have_assignments(con):
        return []
    out = _rate(con, cutoff, cfg)
    out.extend(_watched(con, cutoff, cfg))
    return out


def _rate(con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig) -> list[Finding]:
    z_cut = cfg.get("z", OUTLIER_Z)
    window = cfg.get("window_days", CURIOSITY_WINDOW_DAYS)
    min_peers = cfg.get("min_peers", 3)
    off = fetch(
        con,
        f"""
        WITH {_lookups_sql(cfg.get("max_subjects_per_lookup", LOOKUP_MAX_SUBJECTS))}
        SELECT actor_id, CAST(ts AS DATE) AS day, count(DISTINCT (subj_owner, subject_id)) AS n_subj,
               list(DISTINCT event_id) AS ids, list(DISTINCT owner_id) AS owners
        FROM lk
        WHERE any_scope AND NOT listed AND (NOT open_scope OR NOT acted)
        GROUP BY ALL
        """,
        [cutoff, cutoff],
    )
    if not off:
        return []
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
        lo = int(np.searchsorted(ordinals, d.toordinal() - window + 1))
        window_off = c_off[:, j + 1] - c_off[:, lo]
        window_act = c_act[:, j + 1] - c_act[:, lo]
        role = role_of.get(a, "unknown")
        peers = [
            float(window_off[k]) for k, other in enumerate(actors)
            if other != a and role_of.get(other, "unknown") == role and window_act[k] > 0
        ]
        b = baseline(peers, min_history=min_peers)
        x = float(window_off[act_ix[a]])
        if b is None:
            continue
        z = b.z(x)
        if z <= z_cut or x <= b.high:
            continue
        owners_s = ", ".join(owners)
        out.append(
            Finding(
                rule="curiosity",
                actor_id=a,
                day=d,
                score=round(z, 2),
                severity=severity_for(z, high=3 * z_cut, medium=z_cut),
                reason_ja=(
                    f"{d} に業務上の理由が記録されていない {n} 人を個別に閲覧({owners_s})。直近 {window} 日で "
                    f"{x:.0f} 人(同じ役割の同僚 {b.n} 人の中央値 {b.median:.0f}、最大 {b.high:.0f})。"
                    f"修正 z 値 {z:.1f} > {z_cut}。"
                ),
                reason_en=(
                    f"Opened {n} record(s) on {d} ({owners_s}) of people no assignment list, ticket or "
                    f"follow-up action explains; {x:.0f} such people in the last {window} days vs a median of "
                    f"{b.median:.0f} (max {b.high:.0f}) among {b.n} peers; modified z {z:.1f} > {z_cut}."
                ),
                detail={"subjects_today": n, "window_days": window, "window_subjects": x,
                        "peer_median": b.median, "peer_max": b.high, "peers": b.n, "owners": owners},
                access_events=evidence(ids),
            )
        )
    return out


def _watched(con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig) -> list[Finding]:
    name = str(cfg.get("watch_list", "watchlist.csv") or "")
    if not name or cfg.root is None:
        return []
    path = Path(name) if Path(name).is_absolute() else cfg.root / name
    rows = read_watchlist(path)
    if not rows:
        return []
    frame = pd.DataFrame(
        [(w.owner_id, w.subject_id, w.actor_id, w.label) for w in rows],
        columns=["owner_id", "subject_id", "related_actor", "label"],
    )
    cur = con.cursor()
    cur.register("_kansa_watch", frame)
    try:
        hits = fetch(
            cur,
            f"""
            WITH {_lookups_sql(cfg.get("max_subjects_per_lookup", LOOKUP_MAX_SUBJECTS))}
            SELECT lk.actor_id, CAST(lk.ts AS DATE) AS day, w.owner_id, w.subject_id,
                   bool_or(w.related_actor = lk.actor_id) AS related,
                   list(DISTINCT w.label) FILTER (WHERE w.label <> '' AND (w.related_actor IS NULL
                                                   OR w.related_actor = lk.actor_id)) AS labels,
                   list(DISTINCT lk.event_id) AS ids
            FROM lk JOIN _kansa_watch w ON w.owner_id = lk.subj_owner AND w.subject_id = lk.subject_id
                                       AND (w.related_actor IS NULL OR w.related_actor = lk.actor_id)
            WHERE NOT lk.listed
            GROUP BY ALL ORDER BY day, lk.actor_id, w.owner_id, w.subject_id
            """,
            [cutoff, cutoff],
        )
    finally:
        cur.unregister("_kansa_watch")
    out = []
    for actor, day, owner, subject, related, labels, ids in hits:
        label = ", ".join(sorted(str(x) for x in labels or [])) or ("本人の関係者" if related else "要注意")
        out.append(
            Finding(
                rule="curiosity",
                actor_id=actor,
                day=day,
                score=9.0 if related else 6.0,
                severity="high" if related else "medium",
                reason_ja=(
                    f"{day} に監視リスト({path.name}、{label})の {owner} の記録 {subject} を閲覧。"
                    + ("リストはこの人物を閲覧者本人の関係者としている。" if related else "")
                    + "この人物を対象とする担当業務はない。"
                ),
                reason_en=(
                    f"Opened {owner}'s record {subject} on {day}, which is on the watch list ({path.name}: {label})"
                    + ("; the list relates this person to the actor" if related else "")
                    + "; no assignment names this person."
                ),
                detail={"owner": owner, "subject": subject, "related_to_actor": bool(related), "labels": labels or [],
                        "watch_list": str(path)},
                access_events=evidence(ids),
                key=f"watch:{owner}:{subject}",
            )
        )
    return out
