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

from collections import defaultdict
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding
from kansa.audit.localday import local_clock
from kansa.audit.rules.common import ANY_DATA_SQL, EPOCH, evidence, fetch, statements_where
from kansa.audit.rules.sqlshape import aggregate_only
from kansa.audit.rules.state import last_day, midnight, refresh

HOURS_TABLE = "audit_hours_daily_v1"  # events per actor, day and hour of day
TERMS_TABLE = "audit_terminal_first_v1"  # the first day an actor used a terminal or address
_HOURS_DDL = (f"CREATE TABLE IF NOT EXISTS {HOURS_TABLE} (actor_id VARCHAR NOT NULL, day DATE NOT NULL, "
              "role VARCHAR NOT NULL, h INTEGER NOT NULL, n BIGINT NOT NULL)")
_TERMS_DDL = (f"CREATE TABLE IF NOT EXISTS {TERMS_TABLE} (actor_id VARCHAR NOT NULL, term VARCHAR NOT NULL, "
              "day DATE NOT NULL)")
_DATA_EVENTS = f"""
    FROM access_events e LEFT JOIN actors a USING (actor_id)
    WHERE e.ts < ? AND e.ts >= {{lo}} AND e.actor_id IS NOT NULL AND e.action IN ({ANY_DATA_SQL})
      AND coalesce(a.role, '') <> 'service'
"""
_HOURS_INSERT = f"""
    INSERT INTO {HOURS_TABLE}
    SELECT e.actor_id, {{day}}, coalesce(a.role, 'unknown'), {{hour}}, count(*) {_DATA_EVENTS}
    GROUP BY ALL
"""
# grouped first, then the pairs already stored left out (a test per event probed the table per event)
_TERMS_INSERT = f"""
    INSERT INTO {TERMS_TABLE}
    SELECT f.* FROM (
        SELECT e.actor_id, coalesce(e.terminal, e.source_ip) AS term, CAST(min(e.ts) AS DATE) AS day {_DATA_EVENTS}
          AND coalesce(e.terminal, e.source_ip) IS NOT NULL
        GROUP BY ALL
    ) f
    WHERE NOT EXISTS (SELECT 1 FROM {TERMS_TABLE} t WHERE t.actor_id = f.actor_id AND t.term = f.term)
"""


def _windows(m: np.ndarray, q: float, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of hour histograms: the hours between the q and 1-q quantiles, widened by ``margin``
    (the whole day for an empty histogram)."""
    total = m.sum(axis=1)
    limit = (q * total)[:, None]
    lo = np.argmax(np.cumsum(m, axis=1) > limit, axis=1)
    hi = 23 - np.argmax(np.cumsum(m[:, ::-1], axis=1) > limit, axis=1)
    empty = total == 0
    lo[empty], hi[empty] = 0, 23
    return lo - margin, hi + margin


def _matrix(df: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of (keys, h, n) as one 24-hour histogram per distinct key, in key order."""
    index = df[keys].drop_duplicates().sort_values(keys).reset_index(drop=True)
    pos = index.reset_index().merge(df, on=keys)
    m = np.zeros((len(index), 24), dtype=np.int64)
    np.add.at(m, (pos["index"].to_numpy(), pos["h"].to_numpy(dtype=np.int64)), pos["n"].to_numpy(dtype=np.int64))
    return index, m


def _base(df: pd.DataFrame, key: str, names: pd.Series) -> np.ndarray:
    """Hour histograms from before the judged days for each of ``names`` (zeros when none)."""
    m = np.zeros((len(names), 24), dtype=np.int64)
    if df.empty:
        return m
    at = pd.DataFrame({key: names.to_numpy(), "row": np.arange(len(names))}).merge(df, on=key)
    np.add.at(m, (at["row"].to_numpy(), at["h"].to_numpy(dtype=np.int64)), at["n"].to_numpy(dtype=np.int64))
    return m


def off_hours_terminal(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None, since: date | None = None
) -> list[Finding]:
    """Odd hours or a new terminal, against own and role history, on a day with data leaving.

    The hour histograms and first terminal uses are kept in tables (``state``): a run reads the
    events of the days not yet counted, and judges the days from ``since`` against the sums of the
    earlier days, each judged day joining the history only after it was judged.
    """
    cfg = cfg or RuleConfig("off_hours_terminal")
    min_history = cfg.get("min_history", 19)
    q = cfg.get("hour_quantile", 0.005)
    margin = cfg.get("hour_margin", 1)
    alone = cfg.get("report_alone", False)
    clock = local_clock(con, cutoff)
    hours_insert = _HOURS_INSERT.replace("{day}", clock.day("e.ts")).replace("{hour}", clock.hour("e.ts"))
    refresh(con, HOURS_TABLE, _HOURS_DDL, since, cutoff, [(hours_insert, [cutoff])])
    refresh(con, TERMS_TABLE, _TERMS_DDL, since, cutoff, [(_TERMS_INSERT, [cutoff])])
    first = since if since is not None else date.min
    until = last_day(cutoff)
    hours = con.execute(f"SELECT actor_id, day, role, h, n FROM {HOURS_TABLE} WHERE day BETWEEN ? AND ?",
                        [first, until]).df()
    if hours.empty:
        return []
    hours["day"] = pd.to_datetime(hours["day"]).dt.date
    own_before = con.execute(f"SELECT actor_id, h, sum(n) AS n FROM {HOURS_TABLE} WHERE day < ? GROUP BY ALL",
                             [first]).df()
    days_before = dict(con.execute(f"SELECT actor_id, count(DISTINCT day) FROM {HOURS_TABLE} WHERE day < ? "
                                   "GROUP BY ALL", [first]).fetchall())
    role_before = con.execute(f"SELECT role, h, sum(n) AS n FROM {HOURS_TABLE} WHERE day < ? GROUP BY ALL",
                              [first]).df()
    # each actor-day's own history: what came before the judged days plus the judged days before it
    ad, today = _matrix(hours, ["actor_id", "day"])
    # one merge, not a label lookup per actor-day (seconds at hundreds of thousands of them)
    roles = hours.drop_duplicates(["actor_id", "day"])[["actor_id", "day", "role"]]
    ad["role"] = ad[["actor_id", "day"]].merge(roles, on=["actor_id", "day"], how="left")["role"].to_numpy()
    base = _base(own_before, "actor_id", ad["actor_id"])
    group = ad.groupby("actor_id", sort=False)
    own_prior = base + _cumsum_before(today, group.ngroup().to_numpy())
    ad["history"] = group.cumcount() + ad["actor_id"].map(days_before).fillna(0).astype(int)
    # the role's history likewise, per role and day
    rdays = ad[["role", "day"]].drop_duplicates().sort_values(["role", "day"]).reset_index(drop=True)
    rpos = ad.reset_index().merge(rdays.reset_index().rename(columns={"index": "rrow"}), on=["role", "day"])
    rtoday = np.zeros((len(rdays), 24), dtype=np.int64)
    np.add.at(rtoday, rpos["rrow"].to_numpy(), today[rpos["index"].to_numpy()])
    rprior = _base(role_before, "role", rdays["role"]) + _cumsum_before(
        rtoday, rdays.groupby("role", sort=False).ngroup().to_numpy())
    role_prior = np.zeros_like(today)
    role_prior[rpos["index"].to_numpy()] = rprior[rpos["rrow"].to_numpy()]
    own_lo, own_hi = _windows(own_prior, q, margin)
    role_lo, role_hi = _windows(role_prior, q, margin)
    hrs = np.arange(24)
    odd_m = (today > 0) & ~((own_lo[:, None] <= hrs) & (hrs <= own_hi[:, None])) \
        & ~((role_lo[:, None] <= hrs) & (hrs <= role_hi[:, None]))
    judged = ad["history"].to_numpy() >= min_history
    registered: dict[str, set[str]] = defaultdict(set)
    for actor, tid, addr in con.execute("SELECT actor_id, terminal_id, address FROM terminals WHERE actor_id IS NOT NULL"
                                        ).fetchall():
        registered[str(actor)].update(x for x in (tid, addr) if x)
    new_terms: dict[tuple[str, date], list[str]] = defaultdict(list)
    for actor, term, day in con.execute(f"SELECT actor_id, term, day FROM {TERMS_TABLE} WHERE day BETWEEN ? AND ? "
                                        "ORDER BY term", [first, until]).fetchall():
        if term not in registered.get(str(actor), set()):
            new_terms[(str(actor), day)].append(str(term))
    leaving = _leaving(con, cutoff, first)
    out: list[Finding] = []
    for i in np.flatnonzero(judged & (odd_m.any(axis=1) | np.array(
            [(a, d) in new_terms for a, d in zip(ad["actor_id"], ad["day"], strict=True)], dtype=bool))):
        actor, day, role = str(ad.at[i, "actor_id"]), ad.at[i, "day"], str(ad.at[i, "role"])
        gone = leaving.get((actor, day), {})
        if not gone and not alone:
            continue
        odd_h = [int(h) for h in np.flatnonzero(odd_m[i])]
        terms = new_terms.get((actor, day), [])
        ids = _evidence_ids(con, actor, day, cutoff, odd_h, terms)
        found = _finding(actor, day, role, [(h, int(today[i, h])) for h in odd_h], terms, ids, gone, alone,
                         int(ad.at[i, "history"]))
        if found is not None:
            out.append(found)
    out.sort(key=lambda f: (f.day, f.actor_id or ""))
    return out


def _cumsum_before(m: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per row, the sum of the earlier rows of its group (rows of a group are consecutive)."""
    c = np.cumsum(m, axis=0)
    out = c - m
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    sizes = np.diff(np.r_[starts, len(groups)])
    offset = np.repeat(np.where(starts > 0, 1, 0)[:, None] * c[np.maximum(starts - 1, 0)], sizes, axis=0)
    return out - offset


def _leaving(con: duckdb.DuckDBPyConnection, cutoff: datetime, first: date) -> dict[tuple[str, date], dict[str, list[int]]]:
    """Exports (not aggregate-only) and removable-media writes per actor and day, from ``first``."""
    lo = midnight(first, cutoff) if first > date.min else EPOCH
    with statements_where(con, cutoff, "_kansa_aggregates", aggregate_only, since=lo) as cur:
        rows = fetch(
            cur,
            """
            SELECT actor_id, CAST(ts AS DATE) AS day, list(event_id) AS ids, 'export' AS kind
            FROM access_events e
            WHERE ts < ? AND ts >= ? AND actor_id IS NOT NULL AND action = 'export'
              AND (statement IS NULL OR statement NOT IN (SELECT statement FROM _kansa_aggregates))
            GROUP BY ALL
            UNION ALL
            SELECT coalesce(x.actor_id, acc.actor_id, t.actor_id), CAST(x.ts AS DATE), list(x.event_id), 'usb'
            FROM endpoint_events x
            LEFT JOIN accounts acc ON acc.system = 'endpoint' AND acc.account = x.account
            LEFT JOIN terminals t ON t.terminal_id = x.host
            WHERE x.ts < ? AND x.ts >= ? AND coalesce(x.to_removable, FALSE)
            GROUP BY ALL
            """,
            [cutoff, lo, cutoff, lo],
        )
    out: dict[tuple[str, date], dict[str, list[int]]] = defaultdict(dict)
    for actor, day, ids, kind in rows:
        if actor is not None:
            out[(str(actor), day)].setdefault(kind, []).extend(int(i) for i in ids)
    return out


def _evidence_ids(con: duckdb.DuckDBPyConnection, actor: str, day: date, cutoff: datetime, odd_hours: list[int],
                  terms: list[str]) -> list[int]:
    """The actor's events of that day at the odd hours or from the new terminals."""
    lo = midnight(day, cutoff)
    rows = con.execute(
        f"""SELECT e.event_id FROM access_events e
            WHERE e.actor_id = ? AND e.ts >= ? AND e.ts < ? AND e.action IN ({ANY_DATA_SQL})
              AND (list_contains(?, hour(e.ts)) OR list_contains(?, coalesce(e.terminal, e.source_ip)))""",
        [actor, lo, midnight(day + timedelta(days=1), cutoff), odd_hours, terms],
    ).fetchall()
    return [int(r[0]) for r in rows]


def _finding(
    actor: str, day: date, role: str, odd: list[tuple[int, int]], new_terms: list[str], odd_ids: list[int],
    leaving: dict[str, list[int]], alone: bool, history: int,
) -> Finding | None:
    if not odd and not new_terms:
        return None
    if not leaving and not alone:
        return None
    odd_h = sorted({h for h, _n in odd})
    parts_ja, parts_en = [], []
    if odd_h:
        hs = ", ".join(f"{h}時" for h in odd_h)
        parts_ja.append(f"本人にも同じ役割({role})にも通常でない時間帯({hs})のアクセス {sum(n for _h, n in odd)} 件")
        parts_en.append(f"{sum(n for _h, n in odd)} access(es) at hour(s) {', '.join(map(str, odd_h))}, "
                        f"unusual for the actor and for the role ({role})")
    if new_terms:
        ts = ", ".join(sorted(new_terms))
        parts_ja.append(f"過去 {history} 日に使ったことのない端末・アドレス({ts})")
        parts_en.append(f"terminal/address never used in {history} earlier active days ({ts})")
    if leaving:
        kinds_ja = {"export": "データ出力", "usb": "外部記録媒体への書き込み"}
        parts_ja.append("同じ日に" + "・".join(kinds_ja[k] for k in sorted(leaving)) + "あり")
        parts_en.append("the same day: " + " and ".join(
            {"export": "export of data", "usb": "writes to removable media"}[k] for k in sorted(leaving)))
    ids = list(odd_ids)
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
        detail={"odd_hours": odd_h, "new_terminals": sorted(new_terms), "history_days": history,
                "with": sorted(leaving), "role": role},
        access_events=evidence(sorted(set(ids))),
        endpoint_events=evidence(leaving.get("usb", [])),
    )


__all__ = ["off_hours_terminal"]
