"""Rule ``curiosity``: looking people up without a reason.

Two signals, both judged per look-up (a record view naming at most a handful of people; a search
shows candidates the actor did not choose, a bigger read is bulk_pull's):

* rate: honest staff open someone without a reason now and then (a phone enquiry, a mistyped id);
  a snooper does it again and again. A look-up is unexplained when the actor's assignments for
  that owner that day all have subject lists and the person is on none of them; or, when the
  assignment is open (a standing duty without a list), when the look-up cites no ticket and no
  business action follows it (no update, print or export of that person by the actor that day).
  The month's count of such people (campaigns, tickets and access reviews run on a month) is
  compared with what the role's rate predicts for the actor's own volume (a Poisson tail below
  ``alpha``) and must exceed every colleague's count.
* the watch list (``watchlist``): a look-up, without a task naming that person, of someone on the
  workspace's watch list; high when the list relates that person to the actor (family, same
  surname or address), medium otherwise.

With no assignment at all for the owner, ``no_task`` speaks instead. Services act for users and are
judged through the users' own log, so they are left out.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import poisson

from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding, severity_for
from kansa.audit.rules.common import (
    EPOCH,
    event_id_range,
    evidence,
    fetch,
    have_assignments,
    task_cover,
)
from kansa.audit.rules.state import last_day, midnight, refresh, refresh_start
from kansa.audit.rules.watchlist import read_watchlist

LOOKUP_MAX_SUBJECTS = 10
CURIOSITY_WINDOW_DAYS = 30

def _lookups_sql(max_subjects: int) -> str:
    return f"""
        look AS (
            SELECT e.event_id FROM access_events e JOIN access_subjects x USING (event_id)
            WHERE e.ts < ? AND e.ts >= ? AND x.event_id BETWEEN ? AND ? AND e.action = 'view'
            GROUP BY e.event_id HAVING count(*) <= {max_subjects}
        ),
        acts AS (   -- business actions per actor, person and day, with the last one's time
            SELECT w.actor_id, y.subject_id, coalesce(y.owner_id, w.owner_id) AS subj_owner,
                   CAST(w.ts AS DATE) AS day, max(w.ts) AS last_ts
            FROM access_events w JOIN access_subjects y USING (event_id)
            WHERE w.ts < ? AND w.ts >= ? AND y.event_id BETWEEN ? AND ?
              AND w.action IN ('update', 'insert', 'delete', 'print', 'export')
            GROUP BY ALL
        ),
        lk0 AS (    -- acted: a ticket cited, or a business action on the person later that day
            SELECT e.event_id, e.ts, CAST(e.ts AS DATE) AS day, e.actor_id, a.team, e.owner_id, e.ticket,
                   x.subject_id, coalesce(x.owner_id, e.owner_id) AS subj_owner,
                   e.ticket IS NOT NULL OR coalesce(t.last_ts >= e.ts, FALSE) AS acted
            FROM look JOIN access_events e USING (event_id) JOIN access_subjects x USING (event_id)
                 LEFT JOIN actors a ON a.actor_id = e.actor_id
                 LEFT JOIN acts t ON t.actor_id = e.actor_id AND t.subject_id = x.subject_id
                                 AND t.subj_owner = coalesce(x.owner_id, e.owner_id) AND t.day = CAST(e.ts AS DATE)
            WHERE e.ts < ? AND e.ts >= ? AND x.event_id BETWEEN ? AND ?  -- as look: keeps both join sides small
              AND e.actor_id IS NOT NULL AND e.owner_id IS NOT NULL AND coalesce(a.role, '') <> 'service'
        ),
        keys AS (SELECT DISTINCT actor_id, team, day, owner_id FROM lk0),
        cov AS (    -- assignments covering (actor, day, owner): the actor's own or the team's (two equi-joins)
            SELECT k.actor_id, k.day, k.owner_id, s.assignment_id
            FROM keys k JOIN _kansa_cover s ON s.actor_id = k.actor_id AND s.day = k.day
            WHERE s.owner_id IS NULL OR s.owner_id = k.owner_id
            UNION ALL
            SELECT k.actor_id, k.day, k.owner_id, s.assignment_id
            FROM keys k JOIN _kansa_cover s ON s.team = k.team AND s.day = k.day
            WHERE s.actor_id IS NULL AND (s.owner_id IS NULL OR s.owner_id = k.owner_id)
        ),
        scope AS (  -- open: a covering assignment without a subject list (a standing duty)
            SELECT c.actor_id, c.day, c.owner_id,
                   bool_or(NOT EXISTS (SELECT 1 FROM assignment_subjects q WHERE q.assignment_id = c.assignment_id))
                       AS open_scope
            FROM cov c GROUP BY ALL
        ),
        listed AS ( -- the person is on a covering assignment's list for the event's owner
            SELECT DISTINCT l.event_id, l.subject_id
            FROM lk0 l JOIN cov c ON c.actor_id = l.actor_id AND c.day = l.day AND c.owner_id = l.owner_id
                 JOIN assignment_subjects q ON q.assignment_id = c.assignment_id AND q.owner_id = l.owner_id
                                           AND q.subject_id = l.subject_id
        ),
        lk AS (
            SELECT l.*, sc.actor_id IS NOT NULL AS any_scope, coalesce(sc.open_scope, FALSE) AS open_scope,
                   li.event_id IS NOT NULL AS listed
            FROM lk0 l
            LEFT JOIN scope sc ON sc.actor_id = l.actor_id AND sc.day = l.day AND sc.owner_id = l.owner_id
            LEFT JOIN listed li ON li.event_id = l.event_id AND li.subject_id = l.subject_id
        )"""


CURIOSITY_TABLE = "audit_curiosity_daily_v1"  # per actor-day: unexplained people and people looked up
_CURIOSITY_DDL = (f"CREATE TABLE IF NOT EXISTS {CURIOSITY_TABLE} (actor_id VARCHAR NOT NULL, day DATE NOT NULL, "
                  "role VARCHAR NOT NULL, n_off BIGINT NOT NULL, n_looked BIGINT NOT NULL)")


def curiosity(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None, since: date | None = None
) -> list[Finding]:
    """Unexplained look-ups far more often than peers, and look-ups of watched people (days from ``since``)."""
    cfg = cfg or RuleConfig("curiosity")
    if not have_assignments(con):
        return []
    out = _rate(con, cutoff, cfg, since)
    out.extend(_watched(con, cutoff, cfg, since))
    return out


def _rate(con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig, since: date | None) -> list[Finding]:
    """Unexplained people over the window against the peers' pooled rate per person looked up.

    Counts this small are Poisson, not normal: a median/MAD z on a handful of people calls an
    honest busy operator's 8 (peers: median 1) extreme. So the actor's expected count is the
    peers' rate (unexplained per person looked up, same role, same window, plus one pseudo-event
    so that a clean team does not make a single slip infinitely surprising) times the actor's own
    number of people looked up, and the rule fires when the Poisson tail P(X >= x) < alpha and x is
    above every peer's count.

    The per actor-day counts are kept in a table (``state``): a run reads the events of the days
    not yet counted and the window's counts from the table.
    """
    alpha = cfg.get("alpha", 1.0e-4)
    window = cfg.get("window_days", CURIOSITY_WINDOW_DAYS)
    min_peers = cfg.get("min_peers", 3)
    con.execute(_CURIOSITY_DDL)
    start = refresh_start(con, CURIOSITY_TABLE, since)
    read_from = midnight(start, cutoff) if start is not None else EPOCH
    first_judged = since if since is not None else date.min
    with task_cover(con, cutoff, read_from) as cur:
        id_lo, id_hi = event_id_range(cur, read_from, cutoff)
        cur.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _kansa_curious_days AS
            WITH {_lookups_sql(cfg.get("max_subjects_per_lookup", LOOKUP_MAX_SUBJECTS))}
            SELECT lk.actor_id, CAST(lk.ts AS DATE) AS day, coalesce(a.role, 'unknown') AS role,
                   count(DISTINCT (subj_owner, subject_id)) FILTER (WHERE any_scope AND NOT listed
                                                                    AND (NOT open_scope OR NOT acted)) AS n_off,
                   count(DISTINCT (subj_owner, subject_id)) FILTER (WHERE any_scope) AS n_looked,
                   list(DISTINCT event_id) FILTER (WHERE any_scope AND NOT listed
                                                  AND (NOT open_scope OR NOT acted)) AS ids,
                   list(DISTINCT owner_id) FILTER (WHERE any_scope AND NOT listed
                                                  AND (NOT open_scope OR NOT acted)) AS owners
            FROM lk LEFT JOIN actors a ON a.actor_id = lk.actor_id
            GROUP BY ALL
            """,
            [cutoff, read_from, id_lo, id_hi] * 3,
        )
        refresh(cur, CURIOSITY_TABLE, _CURIOSITY_DDL, since, cutoff,
                [(f"INSERT INTO {CURIOSITY_TABLE} SELECT actor_id, day, role, n_off, n_looked "
                  "FROM _kansa_curious_days", [])])
        detail_rows = fetch(cur, "SELECT actor_id, day, n_off, ids, owners FROM _kansa_curious_days "
                                 "WHERE day >= ? AND n_off > 0", [first_judged])
        cur.execute("DROP TABLE _kansa_curious_days")
        # the window before the first judged day, and the judged days
        daily = fetch(cur, f"SELECT actor_id, day, role, n_off, n_looked, NULL, NULL FROM {CURIOSITY_TABLE} "
                           "WHERE day <= ? AND day >= ?",
                      [last_day(cutoff), first_judged - timedelta(days=window) if since is not None else date.min])
    if not any(r[3] for r in daily):
        return []
    days = sorted({r[1] for r in daily})
    day_ix = {d: i for i, d in enumerate(days)}
    actors = sorted({r[0] for r in daily})
    act_ix = {a: i for i, a in enumerate(actors)}
    role_of: dict[str, str] = {}
    off_m = np.zeros((len(actors), len(days)), dtype=np.int64)
    look_m = np.zeros((len(actors), len(days)), dtype=np.int64)
    for a, d, role, n_off, n_looked, _ids, _owners in daily:
        role_of[a] = role
        off_m[act_ix[a], day_ix[d]] = int(n_off)
        look_m[act_ix[a], day_ix[d]] = int(n_looked)
    detail_of = {(a, d): (int(n_off), list(ids or []), sorted(str(o) for o in owners or []))
                 for a, d, n_off, ids, owners in detail_rows}
    ordinals = np.array([d.toordinal() for d in days])
    c_off = np.concatenate([np.zeros((len(actors), 1), dtype=np.int64), off_m.cumsum(axis=1)], axis=1)
    c_look = np.concatenate([np.zeros((len(actors), 1), dtype=np.int64), look_m.cumsum(axis=1)], axis=1)
    floor = -math.log10(alpha)
    out = []
    for (a, d), (n, ids, owners) in sorted(detail_of.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        j = day_ix[d]
        lo = int(np.searchsorted(ordinals, d.toordinal() - window + 1))
        w_off = c_off[:, j + 1] - c_off[:, lo]
        w_look = c_look[:, j + 1] - c_look[:, lo]
        role = role_of.get(a, "unknown")
        peers = [k for k, other in enumerate(actors)
                 if other != a and role_of.get(other, "unknown") == role and w_look[k] > 0]
        if len(peers) < min_peers:
            continue
        me = act_ix[a]
        x, looked = int(w_off[me]), int(w_look[me])
        peer_off, peer_look = int(w_off[peers].sum()), int(w_look[peers].sum())
        peer_max = int(w_off[peers].max())
        if x <= peer_max:
            continue
        rate = (peer_off + 1) / (peer_look + 1)
        expected = rate * looked
        p = float(poisson.sf(x - 1, expected))
        if p >= alpha:
            continue
        score = -math.log10(max(p, 1e-300))
        owners_s = ", ".join(owners)
        out.append(
            Finding(
                rule="curiosity",
                actor_id=a,
                day=d,
                score=round(score, 2),
                severity=severity_for(score, high=2 * floor, medium=floor),
                reason_ja=(
                    f"{d} に業務上の理由が記録されていない {n} 人を個別に閲覧({owners_s})。直近 {window} 日で {x} 人"
                    f"(閲覧した {looked} 人中)。同じ役割の同僚 {len(peers)} 人の率({peer_off}/{peer_look} 人)からの期待値は "
                    f"{expected:.1f} 人、同僚の最大 {peer_max} 人。偶然この数以上となる確率 {p:.1e} < {alpha:g}。"
                ),
                reason_en=(
                    f"Opened {n} record(s) on {d} ({owners_s}) of people no assignment list, ticket or "
                    f"follow-up action explains; {x} such people of {looked} looked up in the last {window} days, "
                    f"where the rate of {len(peers)} peers in the role ({peer_off} of {peer_look}) expects "
                    f"{expected:.1f} (peers' max {peer_max}); Poisson P(X >= {x}) = {p:.1e} < {alpha:g}."
                ),
                detail={"subjects_today": n, "window_days": window, "window_subjects": x, "looked_up": looked,
                        "peer_unexplained": peer_off, "peer_looked_up": peer_look, "peer_max": peer_max,
                        "peers": len(peers), "expected": round(expected, 3), "p_value": p, "alpha": alpha,
                        "owners": owners},
                access_events=evidence(ids),
            )
        )
    return out


def _watched(con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig, since: date | None) -> list[Finding]:
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
    lo = midnight(since, cutoff) if since is not None else EPOCH
    with task_cover(con, cutoff, lo) as cur:
        id_lo, id_hi = event_id_range(cur, lo, cutoff)
        cur.register("_kansa_watch", frame)
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
            [cutoff, lo, id_lo, id_hi] * 3,
        )
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
