"""The six insider detectors. Each reads the access model up to a cut-off and returns findings.

Causality: every query here is bounded by ``cutoff`` (the first instant after the last audited
day, in the workspace's time zone), and every baseline for day D uses only days before D, so a
finding about day D never depends on what happened later. Days are local days (the connection's
TimeZone is the workspace zone, so ``CAST(ts AS DATE)`` is the local date).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np

from kansa.audit.baseline import MIN_HISTORY, OUTLIER_Z, Baseline, baseline
from kansa.audit.finding import Finding, severity_for

DATA_ACTIONS = ("view", "search", "export", "print", "update")
EXPORT_ACTIONS = ("export", "print")
EVIDENCE_LIMIT = 50  # event ids kept per finding (the counts in the reason cover all of them)
# A USB write is linked to a download that happened this long before it: one working day plus
# the night, so that "download in the afternoon, copy next morning" is still seen.
USB_WINDOW = timedelta(hours=24)
SLOW_REPEAT_DAYS = 30
# "Above every earlier day" only means something once an honest record is unlikely: with n prior
# days the chance that an ordinary day beats them all is 1/(n+1), at most 5 % from 19 days on.
RECORD_HISTORY = 19  # a standing slow-leak outlier is reported again after this many days

_ACTIONS_SQL = ", ".join(f"'{a}'" for a in DATA_ACTIONS)
_EXPORT_SQL = ", ".join(f"'{a}'" for a in EXPORT_ACTIONS)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    return con.execute(sql, params).fetchall()


def _ids(values: Any) -> list[int]:
    return sorted(int(v) for v in (values or []))[:EVIDENCE_LIMIT]


# ---- (1) bulk pull ---------------------------------------------------------------------------
def bulk_pull(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> list[Finding]:
    """Daily rows read far above the actor's own history and above the peers' (same role).

    Both baselines must be exceeded when both exist (the score is the smaller z), so a person
    whose job is big reads is not flagged for doing it, and a quiet team's newcomer is judged
    by the team until they have a history of their own.
    """
    rows = _rows(
        con,
        f"""
        SELECT e.actor_id, CAST(e.ts AS DATE) AS day, coalesce(a.role, 'unknown') AS role,
               sum(coalesce(e.row_count, 1)) AS n_rows,
               count(*) FILTER (WHERE e.action IN ({_EXPORT_SQL})) AS n_exports,
               list(e.event_id ORDER BY coalesce(e.row_count, 1) DESC) AS ids
        FROM access_events e LEFT JOIN actors a USING (actor_id)
        WHERE e.ts < ? AND e.actor_id IS NOT NULL AND e.action IN ({_ACTIONS_SQL})
          AND coalesce(e.outcome, 'success') <> 'failure'
        GROUP BY ALL ORDER BY day, e.actor_id
        """,
        [cutoff],
    )
    own: dict[str, list[float]] = defaultdict(list)
    # Peers: every actor-day of the same role before D, pooled (the actor's own past included,
    # which is at most its share). Cached per (role, day): the prefix only grows.
    role_days: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for _actor, day, role, n, *_rest in rows:
        role_days[role].append((day, float(n)))
    peer_cache: dict[tuple[str, date], Baseline | None] = {}

    def peer_baseline(role: str, day: date) -> Baseline | None:
        key = (role, day)
        if key not in peer_cache:
            peer_cache[key] = baseline(
                [v for d, v in role_days[role] if d < day], min_history=RECORD_HISTORY, log=True
            )
        return peer_cache[key]

    out: list[Finding] = []
    for actor, day, role, n, n_exp, ids in rows:
        x = float(n)
        mine = baseline(own[actor], min_history=RECORD_HISTORY, log=True)
        peers = peer_baseline(role, day)
        own[actor].append(x)
        if mine is None and peers is None:
            continue
        zs = [b.z(x) for b in (mine, peers) if b is not None]
        score = min(zs)
        # Far above: beyond the robust cut-off AND above every day seen before (own and peers'),
        # because among thousands of honest actor-days a few land beyond 3.5 by chance alone.
        if score <= OUTLIER_Z or any(x <= b.high for b in (mine, peers) if b is not None):
            continue
        med_own = f"{mine.typical:.0f}" if mine else "-"
        med_peer = f"{peers.typical:.0f}" if peers else "-"
        out.append(
            Finding(
                rule="bulk_pull",
                actor_id=actor,
                day=day,
                score=round(score, 2),
                severity=severity_for(score, high=3 * OUTLIER_Z, medium=OUTLIER_Z),
                reason_ja=(
                    f"{day} に {x:.0f} 件を取得(本人の通常の中央値 {med_own} 件、同じ役割の同僚の中央値 "
                    f"{med_peer} 件)。修正 z 値 {score:.1f} > {OUTLIER_Z}。出力操作 {n_exp} 回。"
                ),
                reason_en=(
                    f"Read {x:.0f} rows on {day} (own median {med_own}, peers' median {med_peer}); "
                    f"modified z {score:.1f} > {OUTLIER_Z}; {n_exp} export(s)."
                ),
                detail={
                    "rows": x,
                    "exports": int(n_exp),
                    "own_median": mine.typical if mine else None,
                    "own_days": mine.n if mine else len(own[actor]) - 1,
                    "peer_median": peers.typical if peers else None,
                    "peer_days": peers.n if peers else 0,
                    "z": zs,
                },
                access_events=_ids(ids),
            )
        )
    return out


# ---- assignment scope, shared by (2) and (3) -----------------------------------------------------
_COVERED = """
    EXISTS (SELECT 1 FROM assignments s
            WHERE (s.owner_id IS NULL OR s.owner_id = e.owner_id)
              AND (s.actor_id = e.actor_id OR (s.actor_id IS NULL AND s.team IS NOT NULL AND s.team = a.team))
              AND CAST(e.ts AS DATE) BETWEEN coalesce(s.valid_from, DATE '0001-01-01')
                                         AND coalesce(s.valid_to, DATE '9999-12-31')
              {extra})
"""


def _have_assignments(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT count(*) FROM assignments").fetchone()
    return bool(row and row[0])


# ---- (2) access without a task ---------------------------------------------------------------
def no_task(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> list[Finding]:
    """Access to an owner's data on a day the actor had no valid assignment for that owner.

    Service accounts (an application's own database role) act for users; their reads are judged
    through the application's log of who asked, so they are not held to assignments here.
    """
    if not _have_assignments(con):
        return []  # no registry of tasks: the rule cannot speak (docs/audit.md)
    rows = _rows(
        con,
        f"""
        SELECT e.actor_id, CAST(e.ts AS DATE) AS day, e.owner_id, count(*) AS n,
               sum(coalesce(e.row_count, 1)) AS n_rows,
               count(*) FILTER (WHERE e.action IN ({_EXPORT_SQL})) AS n_exp,
               list(e.event_id) AS ids
        FROM access_events e LEFT JOIN actors a USING (actor_id)
        WHERE e.ts < ? AND e.actor_id IS NOT NULL AND e.owner_id IS NOT NULL
          AND e.action IN ({_ACTIONS_SQL}) AND coalesce(e.outcome, 'success') <> 'failure'
          AND coalesce(a.role, '') <> 'service'
          AND NOT {_COVERED.format(extra="")}
        GROUP BY ALL ORDER BY day, e.actor_id, e.owner_id
        """,
        [cutoff],
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
                access_events=_ids(ids),
                key=str(owner),
            )
        )
    return out


# ---- (3) curiosity look-ups ------------------------------------------------------------------
LOOKUP_MAX_SUBJECTS = 10  # a look-up names a handful of people; more is a bulk read (rule 1)
# Honest staff open someone off their list now and then (a phone enquiry, a mistyped id); a
# snooper does it again and again. So the rule compares a month's count (the period tickets,
# campaigns and audit reviews run on) with the same count for colleagues in the same role.
CURIOSITY_WINDOW_DAYS = 30


def curiosity(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> list[Finding]:
    """Views of people outside the subject lists of the actor's assignments, far more than peers.

    Only record views count (a search shows candidates the actor did not choose). A view is
    "off-list" when the actor had assignments for that owner that day, all of them with subject
    lists, and the person is on none; with no assignment at all, rule 2 speaks instead.
    Services act for users and are judged through the users' own log, so they are left out.
    """
    if not _have_assignments(con):
        return []
    in_list = _COVERED.format(
        extra="AND EXISTS (SELECT 1 FROM assignment_subjects q WHERE q.assignment_id = s.assignment_id "
        "AND q.owner_id = e.owner_id AND q.subject_id = x.subject_id)"
    )
    open_scope = _COVERED.format(
        extra="AND NOT EXISTS (SELECT 1 FROM assignment_subjects q WHERE q.assignment_id = s.assignment_id)"
    )
    any_scope = _COVERED.format(extra="")
    off = _rows(
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
    active = _rows(
        con,
        f"""
        SELECT DISTINCT e.actor_id, CAST(e.ts AS DATE) AS day, coalesce(a.role, 'unknown')
        FROM access_events e LEFT JOIN actors a USING (actor_id)
        WHERE e.ts < ? AND e.actor_id IS NOT NULL AND e.action IN ({_ACTIONS_SQL})
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
                access_events=_ids(ids),
            )
        )
    return out


# ---- (4) USB after download ------------------------------------------------------------------
def usb_after_download(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, window: timedelta = USB_WINDOW
) -> list[Finding]:
    """A write to removable media by an actor who exported personal data shortly before."""
    rows = _rows(
        con,
        f"""
        WITH usb AS (
            SELECT x.event_id, x.ts,
                   coalesce(x.actor_id, acc.actor_id, t.actor_id) AS actor_id, x.path, x.bytes
            FROM endpoint_events x
            LEFT JOIN accounts acc ON acc.system = 'endpoint' AND acc.account = x.account
            LEFT JOIN terminals t ON t.terminal_id = x.host
            WHERE x.ts < ? AND coalesce(x.to_removable, FALSE)
        )
        SELECT u.actor_id, CAST(u.ts AS DATE) AS day,
               list(DISTINCT u.event_id) AS usb_ids, list(DISTINCT e.event_id) AS exp_ids,
               count(DISTINCT u.event_id) AS n_usb, count(DISTINCT e.event_id) AS n_exp,
               list(DISTINCT e.owner_id) FILTER (WHERE e.owner_id IS NOT NULL) AS owners
        FROM usb u JOIN access_events e
          ON e.actor_id = u.actor_id AND e.action IN ({_EXPORT_SQL})
         AND e.ts <= u.ts AND e.ts >= u.ts - ?
        WHERE u.actor_id IS NOT NULL
        GROUP BY ALL ORDER BY day, u.actor_id
        """,
        [cutoff, window],
    )
    out = []
    for actor, day, usb_ids, exp_ids, n_usb, n_exp, owners in rows:
        exp_rows = con.execute(
            "SELECT coalesce(sum(coalesce(row_count, 1)), 0) FROM access_events WHERE list_contains(?, event_id)",
            [list(exp_ids)],
        ).fetchone()
        n_rows = int(exp_rows[0]) if exp_rows else 0
        owners_s = ", ".join(sorted(str(o) for o in owners or [])) or "-"
        hours = window.total_seconds() / 3600
        score = 5.0 + math.log10(1 + n_rows)
        out.append(
            Finding(
                rule="usb_after_download",
                actor_id=actor,
                day=day,
                score=round(score, 2),
                severity="high",
                reason_ja=(
                    f"{day} に外部記録媒体へ {n_usb} 回書き込み。その前 {hours:.0f} 時間以内に本人が "
                    f"{n_exp} 回のデータ出力({n_rows} 件、{owners_s})を行っている。"
                ),
                reason_en=(
                    f"Wrote to removable media {n_usb} time(s) on {day}, within {hours:.0f} h after "
                    f"the same person's {n_exp} export(s) ({n_rows} rows; {owners_s})."
                ),
                detail={"usb_writes": int(n_usb), "exports": int(n_exp), "rows": n_rows,
                        "owners": sorted(str(o) for o in owners or []), "window_hours": hours},
                access_events=_ids(exp_ids),
                endpoint_events=_ids(usb_ids),
            )
        )
    return out


# ---- (5) audit switched off ------------------------------------------------------------------
def audit_off(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> list[Finding]:
    """Changes to the database's own audit settings (``SET pgaudit.log`` and the like)."""
    rows = _rows(
        con,
        """
        SELECT coalesce(actor_id, '?' || coalesce(account, '')) AS who, actor_id, CAST(ts AS DATE) AS day,
               list(event_id ORDER BY event_id) AS ids,
               list(coalesce(statement, resource) ORDER BY event_id) AS what
        FROM access_events
        WHERE ts < ? AND action = 'admin'
          AND (lower(coalesce(resource, '')) LIKE 'pgaudit%'
               OR lower(coalesce(statement, '')) LIKE '%pgaudit.%')
        GROUP BY ALL ORDER BY day, who
        """,
        [cutoff],
    )
    out = []
    for who, actor, day, ids, what in rows:
        texts = [str(w) for w in what if w]
        off = any(("none" in t.lower()) or ("''" in t) or ("reset" in t.lower()) for t in texts)
        sample = texts[0][:120] if texts else "pgaudit"
        out.append(
            Finding(
                rule="audit_off",
                actor_id=actor,
                day=day,
                score=10.0 if off else 5.0,
                severity="high" if off else "medium",
                reason_ja=f"{day} に監査ログ設定(pgaudit)を変更: {sample}" + ("(記録停止)" if off else ""),
                reason_en=f"Changed the database audit settings (pgaudit) on {day}: {sample}"
                + (" (logging switched off)" if off else ""),
                detail={"statements": texts[:10], "switched_off": off, "account": who},
                access_events=_ids(ids),
                key=str(who),
            )
        )
    return out


# ---- (6) slow leak ---------------------------------------------------------------------------
def slow_leak(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> list[Finding]:
    """Distinct people and owners touched per active day, cumulatively, far above the peers'.

    A leak spread over years stays under every daily threshold; what gives it away is breadth:
    many more distinct owners (clients) and people than colleagues in the same role ever touch.
    Compared per day with the peers' values on that same day (all computed from data up to then).
    """
    rows = _rows(
        con,
        f"""
        WITH ev AS (
            SELECT e.event_id, e.actor_id, CAST(e.ts AS DATE) AS day, e.owner_id
            FROM access_events e
            WHERE e.ts < ? AND e.actor_id IS NOT NULL AND e.action IN ({_ACTIONS_SQL})
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
                        access_events=_ids(ids),
                        key=metric,
                    )
                )
    return out


ALL_RULES = {
    "bulk_pull": bulk_pull,
    "no_task": no_task,
    "curiosity": curiosity,
    "usb_after_download": usb_after_download,
    "audit_off": audit_off,
    "slow_leak": slow_leak,
}

