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
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from kansa.audit.baseline import OUTLIER_Z, baseline
from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding, severity_for
from kansa.audit.localday import local_clock
from kansa.audit.rules.common import ACTIONS_SQL, EPOCH, EVIDENCE_LIMIT, event_id_range, evidence
from kansa.audit.rules.state import block_events, day_blocks, last_day, midnight, refresh, refresh_start

SLOW_REPEAT_DAYS = 30

SUBJ_TABLE = "audit_slow_subject_first_v1"  # first touch of each person per actor, judged on that day
OWNER_TABLE = "audit_slow_owner_first_v1"  # first touch of each owner per actor
DAILY_TABLE = "audit_slow_daily_v1"  # per active actor-day: new people, new owners, unjustified new people
FIRED_TABLE = "audit_slow_fired_v1"  # peer-path alarms as computed (before scope/exemptions): the repeat rule

_SUBJ_DDL = (f"CREATE TABLE IF NOT EXISTS {SUBJ_TABLE} (actor_id VARCHAR NOT NULL, owner_id VARCHAR, "
             "subject_id VARCHAR NOT NULL, day DATE NOT NULL, event_id BIGINT NOT NULL, justified BOOLEAN NOT NULL)")
_OWNER_DDL = (f"CREATE TABLE IF NOT EXISTS {OWNER_TABLE} (actor_id VARCHAR NOT NULL, owner_id VARCHAR NOT NULL, "
              "day DATE NOT NULL)")
_DAILY_DDL = (f"CREATE TABLE IF NOT EXISTS {DAILY_TABLE} (actor_id VARCHAR NOT NULL, day DATE NOT NULL, "
              "role VARCHAR NOT NULL, new_subj BIGINT NOT NULL, new_own BIGINT NOT NULL, new_unjust BIGINT NOT NULL, "
              "unjust_ids BIGINT[], few_peers BOOLEAN NOT NULL)")
_FIRED_DDL = (f"CREATE TABLE IF NOT EXISTS {FIRED_TABLE} (actor_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, "
              "day DATE NOT NULL)")

_EV = f"""
    ev AS (
        SELECT e.event_id, e.ts, e.actor_id, {{day}} AS day, e.owner_id, e.ticket, a.team
        FROM access_events e LEFT JOIN actors a USING (actor_id)
        WHERE e.ts < ? AND e.ts >= {{lo}} AND e.actor_id IS NOT NULL AND e.action IN ({ACTIONS_SQL})
    )"""
# A person first touched (by this actor) is justified when an assignment valid that day lists them and
# is the ticket the first look-up cited, the actor's own, or the actor's team's.
_SUBJ_INSERT = f"""
    INSERT INTO {SUBJ_TABLE}
    WITH {_EV},
    f AS (
        SELECT ev.actor_id, coalesce(x.owner_id, ev.owner_id) AS owner_id, x.subject_id, min(ev.day) AS day,
               arg_min(ev.ticket, (ev.ts, ev.event_id)) AS ticket, any_value(ev.team) AS team,
               arg_min(ev.event_id, (ev.ts, ev.event_id)) AS event_id
        FROM ev JOIN access_subjects x USING (event_id)
        WHERE x.event_id BETWEEN ? AND ?
        GROUP BY ALL
    )
    SELECT f.actor_id, f.owner_id, f.subject_id, f.day, f.event_id, EXISTS (
        SELECT 1 FROM assignment_subjects q JOIN assignments s USING (assignment_id)
        WHERE q.owner_id = f.owner_id AND q.subject_id = f.subject_id
          AND (s.assignment_id = f.ticket OR s.actor_id = f.actor_id
               OR (s.actor_id IS NULL AND s.team IS NOT NULL AND s.team = f.team))
          AND f.day BETWEEN coalesce(s.valid_from, DATE '0001-01-01') AND coalesce(s.valid_to, DATE '9999-12-31')
    )
    FROM f
    WHERE NOT EXISTS (SELECT 1 FROM {SUBJ_TABLE} t WHERE t.actor_id = f.actor_id AND t.subject_id = f.subject_id
                                                   AND t.owner_id IS NOT DISTINCT FROM f.owner_id)
"""
_OWNER_INSERT = f"""
    INSERT INTO {OWNER_TABLE}
    WITH {_EV},
    f AS (SELECT actor_id, owner_id, min(day) AS day FROM ev WHERE owner_id IS NOT NULL GROUP BY ALL)
    SELECT * FROM f
    WHERE NOT EXISTS (SELECT 1 FROM {OWNER_TABLE} t WHERE t.actor_id = f.actor_id AND t.owner_id = f.owner_id)
"""
_DAILY_INSERT = f"""
    INSERT INTO {DAILY_TABLE}
    WITH {_EV},
    days AS (SELECT DISTINCT actor_id, day FROM ev),
    ns AS (SELECT actor_id, day, count(*) AS n, count(*) FILTER (WHERE NOT justified) AS n_unjust,
                  list(event_id ORDER BY event_id) FILTER (WHERE NOT justified) AS ids
           FROM {SUBJ_TABLE} WHERE day >= (SELECT min(day) FROM days) GROUP BY ALL),
    no AS (SELECT actor_id, day, count(*) AS n FROM {OWNER_TABLE}
           WHERE day >= (SELECT min(day) FROM days) GROUP BY ALL)
    SELECT d.actor_id, d.day, coalesce(a.role, 'unknown'), coalesce(ns.n, 0), coalesce(no.n, 0),
           coalesce(ns.n_unjust, 0), ns.ids[1:{EVIDENCE_LIMIT}], FALSE
    FROM days d LEFT JOIN ns USING (actor_id, day) LEFT JOIN no USING (actor_id, day) LEFT JOIN actors a USING (actor_id)
"""


def _refresh_tables(con: duckdb.DuckDBPyConnection, cutoff: datetime, since: date | None) -> date | None:
    """First touches, then the per-day counts built on them; returns the first day to judge again."""
    con.execute(_FIRED_DDL)
    start = refresh_start(con, DAILY_TABLE, since)
    got: date | None = None
    day = local_clock(con, cutoff).day("e.ts")
    subj_insert, owner_insert, daily_insert = (sql.replace("{day}", day)
                                               for sql in (_SUBJ_INSERT, _OWNER_INSERT, _DAILY_INSERT))
    # block after block of days: the first touches of a whole history in one GROUP BY spill
    for i, (block_since, block_cut) in enumerate(day_blocks(con, start, cutoff, block_events(con))):
        b_since = since if i == 0 else block_since
        b_start = refresh_start(con, DAILY_TABLE, b_since)
        lo = midnight(b_start, cutoff) if b_start is not None else EPOCH
        id_lo, id_hi = event_id_range(con, lo, block_cut)
        refresh(con, SUBJ_TABLE, _SUBJ_DDL, b_since, block_cut, [(subj_insert, [block_cut, id_lo, id_hi])])
        refresh(con, OWNER_TABLE, _OWNER_DDL, b_since, block_cut, [(owner_insert, [block_cut])])
        b_got = refresh(con, DAILY_TABLE, _DAILY_DDL, b_since, block_cut, [(daily_insert, [block_cut])])
        if i == 0:
            got = b_got
    if got is None:
        con.execute(f"DELETE FROM {FIRED_TABLE}")
    else:
        con.execute(f"DELETE FROM {FIRED_TABLE} WHERE day >= ?", [got])
    return got


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


def slow_leak(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None, since: date | None = None
) -> list[Finding]:
    """Breadth of people and owners touched, far above the peers' or above the actor's own trend.

    First touches and per-day counts are kept in tables (``state``): a run reads the events of the
    days not yet counted, starts from each actor's standing before them, and judges those days.
    """
    cfg = cfg or RuleConfig("slow_leak")
    z_cut = cfg.get("z", OUTLIER_Z)
    min_active = cfg.get("min_active_days", 5)
    min_peers = cfg.get("min_peers", 4)
    repeat = cfg.get("repeat_days", SLOW_REPEAT_DAYS)
    start = _refresh_tables(con, cutoff, since)
    first = start if start is not None else date.min
    # each actor's standing before the first judged day: (role, people per active day, owners, active days)
    latest: dict[str, tuple[str, int, int, int]] = {
        str(a): (str(role), int(subj), int(own), int(n))
        for a, role, subj, own, n in con.execute(
            f"SELECT actor_id, arg_max(role, day), sum(new_unjust), sum(new_own), count(*) FROM {DAILY_TABLE} "
            "WHERE day < ? GROUP BY ALL", [first]).fetchall()
    }
    last_fired: dict[tuple[str, str], date] = {
        (str(a), str(m)): d for a, m, d in con.execute(
            f"SELECT actor_id, metric, max(day) FROM {FIRED_TABLE} WHERE day < ? GROUP BY ALL", [first]).fetchall()
    }
    data = con.execute(
        f"SELECT actor_id, day, role, new_unjust, new_own FROM {DAILY_TABLE} WHERE day >= ? AND day <= ? "
        "ORDER BY day, actor_id", [first, last_day(cutoff)]).fetchall()
    few_now: list[tuple[str, date]] = []
    fired: list[tuple[str, str, date]] = []
    out: list[Finding] = []
    # the smallest peers' median a value can face once its own is left out, plus the least it must exceed it
    # by (spread never below 1 for counts): days below it cannot fire, and skip the exact baseline
    margin = z_cut / 0.6745
    i = 0
    while i < len(data):
        day = data[i][1]
        todays = []
        while i < len(data) and data[i][1] == day:
            actor, _d, role, new_unjust, new_own = data[i]
            _r, subj, own, n = latest.get(actor, ("", 0, 0, 0))
            latest[actor] = (role, subj + int(new_unjust), own + int(new_own), n + 1)
            todays.append(actor)
            i += 1
        eligible: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
        for a, (role, subj, n_owners, active) in latest.items():
            if active >= min_active:
                eligible[role].append((a, float(subj) / active, float(n_owners)))
        floors: dict[str, tuple[float, float]] = {}
        for role, rows in eligible.items():
            k = (len(rows) - 2) // 2
            if k >= 0:
                floors[role] = (float(np.partition([r[2] for r in rows], k)[k]),
                                float(np.partition([r[1] for r in rows], k)[k]))
        for actor in todays:
            role, subj, own, active = latest[actor]
            subj_rate, owners = float(subj) / active, float(own)
            if active < min_active:
                continue
            if len(eligible[role]) - 1 < min_peers:
                few_now.append((actor, day))
                continue
            low_own, low_subj = floors[role]
            for metric, x, low, col in (("owners", owners, low_own, 2), ("subjects_per_day", subj_rate, low_subj, 1)):
                if x <= 0 or x <= low + margin:
                    continue
                # sorted: the same numbers in the same order, however the run reached them
                b = baseline(sorted(float(r[col]) for r in eligible[role] if r[0] != actor), min_history=min_peers)
                if b is None:
                    continue
                z = b.z(x)
                if z <= z_cut:
                    continue
                prev = last_fired.get((actor, metric))
                if prev is not None and (day - prev).days < repeat:
                    continue
                last_fired[(actor, metric)] = day
                fired.append((actor, metric, day))
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
                        access_events=_day_events(con, actor, day, cutoff),
                        key=metric,
                    )
                )
    _remember(con, few_now, fired)
    k, h = cfg.get("cusum_k", 0.5), cfg.get("cusum_h", 5.0)
    history = cfg.get("cusum_history", 19)
    # the own-trend path: every actor who ever lacked peers, over the whole stored series
    series: dict[str, list[tuple[date, int, list[int]]]] = defaultdict(list)
    few_peers: dict[str, set[date]] = defaultdict(set)
    for actor, day, new_unjust, ids, few in con.execute(
        f"""SELECT d.actor_id, d.day, d.new_unjust, d.unjust_ids, d.few_peers FROM {DAILY_TABLE} d
            WHERE d.day <= ? AND d.actor_id IN (SELECT actor_id FROM {DAILY_TABLE} WHERE few_peers)
            ORDER BY d.actor_id, d.day""", [last_day(cutoff)]).fetchall():
        series[str(actor)].append((day, int(new_unjust), [int(x) for x in ids or []]))
        if few:
            few_peers[str(actor)].add(day)
    for actor, days in series.items():
        # Services reach whoever their users ask for: judged through the users, not on their own.
        if latest.get(actor, ("",))[0] == "service":
            continue
        for day, fig, ev_ids in _cusum_alarms(days, few_peers[actor], k, h, history, repeat):
            if day < first:
                continue
            run_from = date.fromordinal(int(fig["since"]))
            out.append(
                Finding(
                    rule="slow_leak",
                    actor_id=actor,
                    day=day,
                    score=round(fig["cusum"], 2),
                    severity="medium",
                    reason_ja=(
                        f"{run_from} から {day} までの {fig['days']:.0f} 稼働日、担当業務で説明できない新たな対象者が"
                        f"本人の通常({fig['level']:.1f} 人/日)を上回り続け、累計超過 {fig['excess_people']:.0f} 人。"
                        f"CUSUM {fig['cusum']:.1f} > {h}(同じ役割の同僚が {min_peers} 人未満のため本人の履歴と比較)。"
                    ),
                    reason_en=(
                        f"From {run_from} to {day} ({fig['days']:.0f} active days) the actor kept reaching people never "
                        f"touched before that no assignment or ticket covers, above the own usual "
                        f"{fig['level']:.1f}/day: {fig['excess_people']:.0f} people in excess; CUSUM "
                        f"{fig['cusum']:.1f} > {h} (fewer than {min_peers} peers, so judged against own history)."
                    ),
                    detail={"metric": "unjustified_new_people", **fig, "since": run_from.isoformat(), "k": k, "h": h},
                    access_events=evidence(ev_ids),
                    key="own_trend",
                )
            )
    return out


def _day_events(con: duckdb.DuckDBPyConnection, actor: str, day: date, cutoff: datetime) -> list[int]:
    """The actor's data events of that day (the evidence of a breadth finding)."""
    rows = con.execute(
        f"SELECT event_id FROM access_events WHERE actor_id = ? AND ts >= ? AND ts < ? AND action IN ({ACTIONS_SQL}) "
        "ORDER BY event_id LIMIT ?",
        [actor, midnight(day, cutoff), min(midnight(day + timedelta(days=1), cutoff), cutoff), EVIDENCE_LIMIT],
    ).fetchall()
    return evidence([r[0] for r in rows])


def _remember(con: duckdb.DuckDBPyConnection, few: list[tuple[str, date]], fired: list[tuple[str, str, date]]) -> None:
    """Store the judged days' verdicts that later days depend on: which lacked peers, which alarms fired."""
    if few:
        con.register("_kansa_few", pd.DataFrame(few, columns=["actor_id", "day"]))
        con.execute(f"UPDATE {DAILY_TABLE} d SET few_peers = TRUE FROM _kansa_few f "
                    "WHERE d.actor_id = f.actor_id AND d.day = CAST(f.day AS DATE)")
        con.unregister("_kansa_few")
    if fired:
        con.executemany(f"INSERT INTO {FIRED_TABLE} VALUES (?, ?, ?)", fired)
