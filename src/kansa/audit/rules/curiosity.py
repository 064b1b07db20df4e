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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import poisson

from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding, severity_for
from kansa.audit.localday import local_clock
from kansa.audit.rules import lookups
from kansa.audit.rules.common import (
    EPOCH,
    event_id_range,
    evidence,
    fetch,
    have_assignments,
    task_cover,
)
from kansa.audit.rules.state import block_events, day_blocks, last_day, midnight, refresh, refresh_start
from kansa.audit.rules.watchlist import read_watchlist

LOOKUP_MAX_SUBJECTS = 10
CURIOSITY_WINDOW_DAYS = 30

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
    max_subjects = int(cfg.get("max_subjects_per_lookup", LOOKUP_MAX_SUBJECTS))
    with task_cover(con, cutoff, read_from) as cur:
        # block after block of days: the staged look-ups of a whole history spill past the memory limit
        for i, (block_since, block_cut) in enumerate(day_blocks(cur, start, cutoff, block_events(cur))):
            _count_days(cur, since if i == 0 else block_since, block_cut, max_subjects)
        # the window before the first judged day, and the judged days
        daily = fetch(cur, f"SELECT actor_id, day, role, n_off, n_looked FROM {CURIOSITY_TABLE} "
                           "WHERE day <= ? AND day >= ?",
                      [last_day(cutoff), first_judged - timedelta(days=window) if since is not None else date.min])
        fired = _fired(daily, first_judged, window, alpha, min_peers)
        evidence_of = _evidence(cur, cutoff, fired, max_subjects)
    return [_finding(f, evidence_of.get((f.actor_id, f.day), ([], [])), window, alpha) for f in fired]


def _count_days(cur: duckdb.DuckDBPyConnection, since: date | None, cutoff: datetime, max_subjects: int) -> None:
    """Refresh the per actor-day counts of the days from ``since``'s refresh start up to ``cutoff``."""
    start = refresh_start(cur, CURIOSITY_TABLE, since)
    read_from = midnight(start, cutoff) if start is not None else EPOCH
    id_lo, id_hi = event_id_range(cur, read_from, cutoff)
    # per actor-day: each person looked up within a task scope once, unexplained if any look-up
    # of them was (staged tables and GROUP BYs: they spill under the memory limit)
    lookups.count_people(cur, "_kansa_cur", cutoff, read_from, id_lo, id_hi, max_subjects)
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE _kansa_curious_days AS
        SELECT p.actor_id, p.day, coalesce(a.role, 'unknown') AS role, p.n_off, p.n_looked
        FROM _kansa_cur_days p LEFT JOIN actors a ON a.actor_id = p.actor_id
        """
    )
    cur.execute("DROP TABLE _kansa_cur_days")
    refresh(cur, CURIOSITY_TABLE, _CURIOSITY_DDL, since, cutoff,
            [(f"INSERT INTO {CURIOSITY_TABLE} SELECT actor_id, day, role, n_off, n_looked "
              "FROM _kansa_curious_days", [])])
    cur.execute("DROP TABLE _kansa_curious_days")


@dataclass(frozen=True)
class _Fired:
    """An actor-day whose unexplained look-ups pass the rate test, with the test's figures."""

    actor_id: str
    day: date
    n: int
    x: int
    looked: int
    peers: int
    peer_off: int
    peer_look: int
    peer_max: int
    expected: float
    p: float


def _fired(daily: list[tuple[Any, ...]], first_judged: date, window: int, alpha: float,
           min_peers: int) -> list[_Fired]:
    """The actor-days from ``first_judged`` on whose window count fails the Poisson test against peers."""
    if not any(r[3] for r in daily):
        return []
    days = sorted({r[1] for r in daily})
    day_ix = {d: i for i, d in enumerate(days)}
    actors = sorted({r[0] for r in daily})
    act_ix = {a: i for i, a in enumerate(actors)}
    role_of: dict[str, str] = {}
    off_m = np.zeros((len(actors), len(days)), dtype=np.int64)
    look_m = np.zeros((len(actors), len(days)), dtype=np.int64)
    judged: list[tuple[str, date, int]] = []
    for a, d, role, n_off, n_looked in daily:
        role_of[a] = role
        off_m[act_ix[a], day_ix[d]] = int(n_off)
        look_m[act_ix[a], day_ix[d]] = int(n_looked)
        if n_off and d >= first_judged:
            judged.append((a, d, int(n_off)))
    ordinals = np.array([d.toordinal() for d in days])
    c_off = np.concatenate([np.zeros((len(actors), 1), dtype=np.int64), off_m.cumsum(axis=1)], axis=1)
    c_look = np.concatenate([np.zeros((len(actors), 1), dtype=np.int64), look_m.cumsum(axis=1)], axis=1)
    roles = np.array([role_of.get(a, "unknown") for a in actors], dtype=object)
    out: list[_Fired] = []
    for a, d, n in sorted(judged, key=lambda t: (t[1], t[0])):
        j = day_ix[d]
        lo = int(np.searchsorted(ordinals, d.toordinal() - window + 1))
        w_off = c_off[:, j + 1] - c_off[:, lo]
        w_look = c_look[:, j + 1] - c_look[:, lo]
        me = act_ix[a]
        is_peer = (roles == role_of.get(a, "unknown")) & (w_look > 0)
        is_peer[me] = False
        n_peers = int(is_peer.sum())
        if n_peers < min_peers:
            continue
        x, looked = int(w_off[me]), int(w_look[me])
        peer_off, peer_look = int(w_off[is_peer].sum()), int(w_look[is_peer].sum())
        peer_max = int(w_off[is_peer].max())
        if x <= peer_max:
            continue
        expected = (peer_off + 1) / (peer_look + 1) * looked
        p = float(poisson.sf(x - 1, expected))
        if p >= alpha:
            continue
        out.append(_Fired(a, d, n, x, looked, n_peers, peer_off, peer_look, peer_max, expected, p))
    return out


def _evidence(cur: duckdb.DuckDBPyConnection, cutoff: datetime, fired: list[_Fired],
              max_subjects: int) -> dict[tuple[str, date], tuple[list[int], list[str]]]:
    """Unexplained look-ups (event ids, owners) of the fired actor-days only: staged again after the
    test for those actors' events of those days (every flag is per actor-day), so a full run
    carries neither the ids of every actor-day nor the staged look-ups of every block."""
    if not fired:
        return {}
    keys = pd.DataFrame({"actor_id": pd.Series([f.actor_id for f in fired], dtype="string"),
                         "day": pd.Series([f.day for f in fired], dtype="object")})
    lo = midnight(min(f.day for f in fired), cutoff)
    hi = min(midnight(max(f.day for f in fired) + timedelta(days=1), cutoff), cutoff)
    cur.register("_kansa_curious_fired", keys)
    try:
        id_lo, id_hi = event_id_range(cur, lo, hi)
        lookups.build(cur, "_kansa_cur", hi, lo, id_lo, id_hi, max_subjects,
                      f"(e.actor_id, {local_clock(cur, hi).day('e.ts')}) IN (SELECT (actor_id, CAST(day AS DATE)) "
                      "FROM _kansa_curious_fired)")
        rows = fetch(
            cur,
            f"""
            SELECT r.actor_id, r.day, list(DISTINCT r.event_id), list(DISTINCT r.owner_id)
            FROM ({lookups.event_flags("_kansa_cur")}) r
            WHERE r.off
            GROUP BY ALL
            """,
            [],
        )
        lookups.drop(cur, "_kansa_cur")
    finally:
        cur.unregister("_kansa_curious_fired")
    return {(str(a), d): ([int(i) for i in ids or []], sorted(str(o) for o in owners or [])) for a, d, ids, owners in rows}


def _finding(f: _Fired, ev: tuple[list[int], list[str]], window: int, alpha: float) -> Finding:
    ids, owners = ev
    floor = -math.log10(alpha)
    score = -math.log10(max(f.p, 1e-300))
    owners_s = ", ".join(owners)
    d, n, x, looked = f.day, f.n, f.x, f.looked
    return Finding(
        rule="curiosity",
        actor_id=f.actor_id,
        day=d,
        score=round(score, 2),
        severity=severity_for(score, high=2 * floor, medium=floor),
        reason_ja=(
            f"{d} に業務上の理由が記録されていない {n} 人を個別に閲覧({owners_s})。直近 {window} 日で {x} 人"
            f"(閲覧した {looked} 人中)。同じ役割の同僚 {f.peers} 人の率({f.peer_off}/{f.peer_look} 人)からの期待値は "
            f"{f.expected:.1f} 人、同僚の最大 {f.peer_max} 人。偶然この数以上となる確率 {f.p:.1e} < {alpha:g}。"
        ),
        reason_en=(
            f"Opened {n} record(s) on {d} ({owners_s}) of people no assignment list, ticket or "
            f"follow-up action explains; {x} such people of {looked} looked up in the last {window} days, "
            f"where the rate of {f.peers} peers in the role ({f.peer_off} of {f.peer_look}) expects "
            f"{f.expected:.1f} (peers' max {f.peer_max}); Poisson P(X >= {x}) = {f.p:.1e} < {alpha:g}."
        ),
        detail={"subjects_today": n, "window_days": window, "window_subjects": x, "looked_up": looked,
                "peer_unexplained": f.peer_off, "peer_looked_up": f.peer_look, "peer_max": f.peer_max,
                "peers": f.peers, "expected": round(f.expected, 3), "p_value": f.p, "alpha": alpha,
                "owners": owners},
        access_events=evidence(ids),
    )


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
        # only the events naming someone of that id: the list is short, the look-ups many
        lookups.build(cur, "_kansa_watchlk", cutoff, lo, id_lo, id_hi,
                      int(cfg.get("max_subjects_per_lookup", LOOKUP_MAX_SUBJECTS)),
                      "e.event_id IN (SELECT x2.event_id FROM access_subjects x2 WHERE x2.event_id BETWEEN ? AND ? "
                      "AND x2.subject_id IN (SELECT subject_id FROM _kansa_watch))", [id_lo, id_hi])
        hits = fetch(
            cur,
            f"""
            SELECT lk.actor_id, lk.day, w.owner_id, w.subject_id,
                   bool_or(w.related_actor = lk.actor_id) AS related,
                   list(DISTINCT w.label) FILTER (WHERE w.label <> '' AND (w.related_actor IS NULL
                                                   OR w.related_actor = lk.actor_id)) AS labels,
                   list(DISTINCT lk.event_id) AS ids
            FROM ({lookups.event_flags("_kansa_watchlk")}) lk
            JOIN _kansa_watch w ON w.owner_id = lk.subj_owner AND w.subject_id = lk.subject_id
                                AND (w.related_actor IS NULL OR w.related_actor = lk.actor_id)
            WHERE NOT lk.listed
            GROUP BY ALL ORDER BY day, lk.actor_id, w.owner_id, w.subject_id
            """,
            [],
        )
        lookups.drop(cur, "_kansa_watchlk")
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
