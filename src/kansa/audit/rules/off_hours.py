"""Rule ``off_hours_terminal``: work at an hour, or from a machine, that is not this person's.

An actor's working window is the span of hours between the ``hour_quantile`` and 1 - ``hour_quantile``
quantiles of their own earlier events, widened by ``hour_margin`` hours each side (time of day is
ordered: 16h inside a 9-17 day is not odd however rarely it was used); the role's window likewise
over everyone in the role. An hour is odd only when it is outside both (so a first late shift in a
team that runs late shifts is not). A role working across midnight has a window of the whole day.
A terminal is new when the actor never used it (terminal name or source address) on an earlier
day and it is not registered to them. Both need ``min_history`` earlier active days (below that,
"never before" means nothing).

Alone, an odd hour or a new machine is weak evidence (overtime, a broken PC, a colleague's desk);
so by default the rule reports only days that also carry an export of personal data (a print at the
counter is ordinary business) or a write to removable media by the same person — the day the seed case's maintainer worked — as
medium. ``report_alone: true`` lists every such day as low.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime

import duckdb

from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding
from kansa.audit.rules.common import ANY_DATA_SQL, evidence, fetch, statements_where
from kansa.audit.rules.sqlshape import aggregate_only


def off_hours_terminal(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None
) -> list[Finding]:
    """Odd hours or a new terminal, against own and role history, on a day with data leaving."""
    cfg = cfg or RuleConfig("off_hours_terminal")
    min_history = cfg.get("min_history", 19)
    q = cfg.get("hour_quantile", 0.005)
    margin = cfg.get("hour_margin", 1)
    alone = cfg.get("report_alone", False)
    hours = fetch(
        con,
        f"""
        SELECT e.actor_id, CAST(e.ts AS DATE) AS day, hour(e.ts) AS h, coalesce(a.role, 'unknown') AS role,
               count(*) AS n, list(e.event_id ORDER BY e.event_id) AS ids
        FROM access_events e LEFT JOIN actors a USING (actor_id)
        WHERE e.ts < ? AND e.actor_id IS NOT NULL AND e.action IN ({ANY_DATA_SQL})
          AND coalesce(a.role, '') <> 'service'
        GROUP BY ALL ORDER BY day, e.actor_id, h
        """,
        [cutoff],
    )
    terms = fetch(
        con,
        f"""
        SELECT e.actor_id, CAST(e.ts AS DATE) AS day, coalesce(e.terminal, e.source_ip) AS term,
               list(e.event_id ORDER BY e.event_id) AS ids
        FROM access_events e LEFT JOIN actors a USING (actor_id)
        WHERE e.ts < ? AND e.actor_id IS NOT NULL AND e.action IN ({ANY_DATA_SQL})
          AND coalesce(e.terminal, e.source_ip) IS NOT NULL AND coalesce(a.role, '') <> 'service'
        GROUP BY ALL
        """,
        [cutoff],
    )
    registered: dict[str, set[str]] = defaultdict(set)
    for actor, tid, addr in con.execute("SELECT actor_id, terminal_id, address FROM terminals WHERE actor_id IS NOT NULL"
                                        ).fetchall():
        registered[str(actor)].update(x for x in (tid, addr) if x)
    with statements_where(con, cutoff, "_kansa_aggregates", aggregate_only) as cur:
        leaving = fetch(
            cur,
            """
            SELECT actor_id, CAST(ts AS DATE) AS day, list(event_id) AS ids, 'export' AS kind
            FROM access_events e
            WHERE ts < ? AND actor_id IS NOT NULL AND action = 'export'
              AND (statement IS NULL OR statement NOT IN (SELECT statement FROM _kansa_aggregates))
            GROUP BY ALL
            UNION ALL
            SELECT coalesce(x.actor_id, acc.actor_id, t.actor_id), CAST(x.ts AS DATE), list(x.event_id), 'usb'
            FROM endpoint_events x
            LEFT JOIN accounts acc ON acc.system = 'endpoint' AND acc.account = x.account
            LEFT JOIN terminals t ON t.terminal_id = x.host
            WHERE x.ts < ? AND coalesce(x.to_removable, FALSE)
            GROUP BY ALL
            """,
            [cutoff, cutoff],
        )
    evidence_of: dict[tuple[str, date], dict[str, list[int]]] = defaultdict(dict)
    for actor, day, ids, kind in leaving:
        if actor is not None:
            evidence_of[(str(actor), day)].setdefault(kind, []).extend(int(i) for i in ids)
    terms_of: dict[tuple[str, date], list[tuple[str, list[int]]]] = defaultdict(list)
    for actor, day, term, ids in terms:
        terms_of[(str(actor), day)].append((str(term), [int(i) for i in ids]))

    own_hours: dict[str, Counter[int]] = defaultdict(Counter)
    role_hours: dict[str, Counter[int]] = defaultdict(Counter)
    own_terms: dict[str, set[str]] = defaultdict(set)
    own_days: Counter[str] = Counter()
    out: list[Finding] = []
    i = 0
    while i < len(hours):
        day = hours[i][1]
        today: dict[str, list[tuple[int, str, int, list[int]]]] = defaultdict(list)
        while i < len(hours) and hours[i][1] == day:
            actor, _d, h, role, n, ids = hours[i]
            today[str(actor)].append((int(h), str(role), int(n), [int(x) for x in ids]))
            i += 1
        for actor, items in today.items():
            role = items[0][1]
            if own_days[actor] >= min_history:
                own_lo, own_hi = _window(own_hours[actor], q, margin)
                role_lo, role_hi = _window(role_hours[role], q, margin)
                odd = [(h, n, ids) for h, _r, n, ids in items
                       if not own_lo <= h <= own_hi and not role_lo <= h <= role_hi]
                new_terms = [(t, ids) for t, ids in terms_of.get((actor, day), [])
                             if t not in own_terms[actor] and t not in registered.get(actor, set())]
                found = _finding(actor, day, role, odd, new_terms, evidence_of.get((actor, day), {}), alone,
                                 own_days[actor])
                if found is not None:
                    out.append(found)
        for actor, items in today.items():  # today joins the history only after it was judged
            own_days[actor] += 1
            for h, role, n, _ids in items:
                own_hours[actor][h] += n
                role_hours[role][h] += n
            own_terms[actor].update(t for t, _ids in terms_of.get((actor, day), []))
    return out


def _window(hist: Counter[int], q: float, margin: int) -> tuple[int, int]:
    """The hours between the q and 1-q quantiles of a histogram of hours, widened by ``margin``."""
    total = sum(hist.values())
    if not total:
        return 0, 23
    cum, lo, hi = 0, 0, 23
    for h in range(24):
        cum += hist[h]
        if cum > q * total:
            lo = h
            break
    cum = 0
    for h in range(23, -1, -1):
        cum += hist[h]
        if cum > q * total:
            hi = h
            break
    return lo - margin, hi + margin


def _finding(
    actor: str, day: date, role: str, odd: list[tuple[int, int, list[int]]], new_terms: list[tuple[str, list[int]]],
    leaving: dict[str, list[int]], alone: bool, history: int,
) -> Finding | None:
    if not odd and not new_terms:
        return None
    if not leaving and not alone:
        return None
    odd_h = sorted({h for h, _n, _ids in odd})
    parts_ja, parts_en = [], []
    if odd_h:
        hs = ", ".join(f"{h}時" for h in odd_h)
        parts_ja.append(f"本人にも同じ役割({role})にも通常でない時間帯({hs})のアクセス {sum(n for _h, n, _i in odd)} 件")
        parts_en.append(f"{sum(n for _h, n, _i in odd)} access(es) at hour(s) {', '.join(map(str, odd_h))}, "
                        f"unusual for the actor and for the role ({role})")
    if new_terms:
        ts = ", ".join(sorted(t for t, _ids in new_terms))
        parts_ja.append(f"過去 {history} 日に使ったことのない端末・アドレス({ts})")
        parts_en.append(f"terminal/address never used in {history} earlier active days ({ts})")
    if leaving:
        kinds_ja = {"export": "データ出力", "usb": "外部記録媒体への書き込み"}
        parts_ja.append("同じ日に" + "・".join(kinds_ja[k] for k in sorted(leaving)) + "あり")
        parts_en.append("the same day: " + " and ".join(
            {"export": "export of data", "usb": "writes to removable media"}[k] for k in sorted(leaving)))
    ids = [i for _h, _n, evs in odd for i in evs] + [i for _t, evs in new_terms for i in evs]
    if "export" in leaving:
        ids += leaving["export"]
    return Finding(
        rule="off_hours_terminal",
        actor_id=actor,
        day=day,
        score=4.0 if leaving else 1.5,
        severity="medium" if leaving else "low",
        reason_ja=f"{day}: " + "。".join(parts_ja) + "。",
        reason_en=f"{day}: " + "; ".join(parts_en) + ".",
        detail={"odd_hours": odd_h, "new_terminals": sorted(t for t, _ids in new_terms), "history_days": history,
                "with": sorted(leaving), "role": role},
        access_events=evidence(sorted(set(ids))),
        endpoint_events=evidence(leaving.get("usb", [])),
    )


__all__ = ["off_hours_terminal"]
