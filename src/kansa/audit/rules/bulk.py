"""Rule ``bulk_pull``: more rows read in a day than the role and the person's own work explain.

Two ways to fire, both explained with their figures:

* volume: the day's rows are an outlier against both the actor's own earlier days and the pooled
  earlier days of peers in the same role (modified z on log(1+rows)), and above every one of them;
* whole table: a person (not a service) exported an entire table of personal data with no
  assignment whose kind or purpose is an export (``export_assignments``) covering that owner.

Rows come from the log's row count. pgaudit gives none, so a whole-table COPY/SELECT (read with
PostgreSQL's grammar, see ``sqlshape``) counts as the owner's dataset size (``datasets.records``),
or ``unknown_table_rows`` when no dataset is registered; other statements count their subjects.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd

from kansa.audit.baseline import OUTLIER_Z, Baseline, baseline
from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding, severity_for
from kansa.audit.localday import LocalClock, local_clock
from kansa.audit.rules.common import (
    ACTIONS_SQL,
    COVERED,
    EPOCH,
    EXPORT_SQL,
    event_id_range,
    evidence,
    fetch,
    task_cover,
)
from kansa.audit.rules.sqlshape import whole_table_export
from kansa.audit.rules.state import last_day, midnight, refresh, refresh_start

DEFAULT_EXPORT_ASSIGNMENTS = ("export", "backup", "migration", "extract")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


BULK_TABLE = "audit_bulk_daily_v1"  # rows read per actor-day: the history both baselines are built from
_BULK_DDL = (f"CREATE TABLE IF NOT EXISTS {BULK_TABLE} (actor_id VARCHAR NOT NULL, day DATE NOT NULL, "
             "role VARCHAR NOT NULL, n_rows DOUBLE NOT NULL)")


def _whole_table_statements(con: duckdb.DuckDBPyConnection, lo: datetime, cutoff: datetime) -> pd.DataFrame:
    stmts = fetch(
        con,
        f"""SELECT DISTINCT statement FROM access_events
            WHERE ts < ? AND ts >= ? AND row_count IS NULL AND statement IS NOT NULL AND action IN ({ACTIONS_SQL})""",
        [cutoff, lo],
    )
    whole = [s for (s,) in stmts if whole_table_export(s)]
    return pd.DataFrame({"statement": pd.Series(whole, dtype="string")})


def _days_sql(export_ok: str, day: str) -> str:
    """Per actor-day of [lo, cutoff): rows read (logged, else a whole table's size, else subjects
    named), exports, and the whole-table exports nobody assigned. The other event ids are read
    later for the judged days only (``_day_ids``): carrying every actor-day's ids through a full
    run held all of them in memory."""
    return f"""
        CREATE OR REPLACE TEMP TABLE _kansa_bulk_days AS
        WITH sc AS (   -- people named, counted only for the events whose log gave no row count
            SELECT x.event_id, count(*) AS n FROM access_subjects x
            WHERE x.event_id BETWEEN ? AND ?
              AND x.event_id IN (SELECT event_id FROM access_events WHERE ts < ? AND ts >= ? AND row_count IS NULL)
            GROUP BY x.event_id
        ),
        wh AS (     -- the task-scope test only for whole-table exports (few), not for every event
            SELECT e.event_id
            FROM access_events e LEFT JOIN actors a USING (actor_id)
            WHERE e.ts < ? AND e.ts >= ? AND e.row_count IS NULL
              AND e.statement IN (SELECT statement FROM _kansa_whole_stmts)
              AND coalesce(a.role, '') <> 'service' AND e.owner_id IS NOT NULL AND NOT {export_ok}
        ),
        wr AS (     -- a whole table's size, looked up for those events only (a lookup per owner and day
                    -- of every event, as a subquery in ev, cost a GROUP BY over all of them)
            SELECT e.event_id,
                   coalesce((SELECT max(d.records) FROM datasets d WHERE d.owner_id = e.owner_id
                               AND coalesce(d.valid_from, DATE '0001-01-01') <= CAST(e.ts AS DATE)), ?) AS n
            FROM access_events e
            WHERE e.ts < ? AND e.ts >= ? AND e.row_count IS NULL
              AND e.statement IN (SELECT statement FROM _kansa_whole_stmts)
        ),
        ev AS (
            SELECT e.event_id, e.actor_id, {day} AS day, coalesce(a.role, 'unknown') AS role,
                   e.action, e.owner_id,
                   coalesce(e.row_count, wr.n, nullif(sc.n, 0), 1) AS n_rows,
                   e.row_count IS NULL AND w.statement IS NOT NULL AS whole,
                   wh.event_id IS NOT NULL AS unassigned
            FROM access_events e LEFT JOIN actors a USING (actor_id) LEFT JOIN sc USING (event_id)
                 LEFT JOIN _kansa_whole_stmts w ON w.statement = e.statement
                 LEFT JOIN wh USING (event_id) LEFT JOIN wr USING (event_id)
            WHERE e.ts < ? AND e.ts >= ? AND e.actor_id IS NOT NULL AND e.action IN ({ACTIONS_SQL})
              AND coalesce(e.outcome, 'success') <> 'failure'
        )
        SELECT actor_id, day, role, sum(n_rows) AS n_rows,
               CAST(datediff('day', DATE '0001-01-01', day) + 1 AS BIGINT) AS day_ord,
               count(*) FILTER (WHERE action IN ({EXPORT_SQL})) AS n_exports,
               list(event_id) FILTER (WHERE whole AND unassigned) AS whole_ids,
               list_distinct(list(owner_id) FILTER (WHERE whole AND unassigned)) AS whole_owners,
               coalesce(sum(n_rows) FILTER (WHERE whole AND unassigned), 0) AS whole_rows
        FROM ev GROUP BY ALL
    """


class _History:
    """Every stored actor-day's rows, by actor and by role, to slice "all days before D" from."""

    def __init__(self, hist: pd.DataFrame) -> None:
        self.own: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.role: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for key, by in (("actor_id", self.own), ("role", self.role)):
            for name, g in hist.sort_values(["ord", "actor_id"]).groupby(key, sort=False):
                by[str(name)] = (g["ord"].to_numpy(), g["n_rows"].to_numpy(dtype=float))

    @staticmethod
    def before(series: tuple[np.ndarray, np.ndarray] | None, day_ord: int) -> np.ndarray:
        if series is None:
            return np.empty(0)
        ords, vals = series
        return vals[: int(np.searchsorted(ords, day_ord, side="left"))]


def _candidates(hist: pd.DataFrame, first: date, min_history: int) -> pd.DataFrame:
    """The actor-days from ``first`` above every earlier day of each baseline they have.

    A volume finding needs exactly that (see the end of ``bulk_pull``), so only these days need the
    costlier median and MAD, and only their event ids are read: a full run's judging then costs
    the record days, not every actor-day.
    """
    h = hist.sort_values(["actor_id", "ord"]).reset_index(drop=True)
    g = h.groupby("actor_id", sort=False)["n_rows"]
    h["own_n"] = g.cumcount()
    h["own_max"] = g.cummax()
    h["own_max"] = h.groupby("actor_id", sort=False)["own_max"].shift(1)
    rd = h.groupby(["role", "ord"], as_index=False).agg(day_n=("n_rows", "size"), day_max=("n_rows", "max"))
    rd = rd.sort_values(["role", "ord"]).reset_index(drop=True)
    rg = rd.groupby("role", sort=False)
    rd["peer_n"] = rg["day_n"].cumsum() - rd["day_n"]
    rd["peer_max"] = rg["day_max"].cummax()
    rd["peer_max"] = rd.groupby("role", sort=False)["peer_max"].shift(1)
    h = h.merge(rd[["role", "ord", "peer_n", "peer_max"]], on=["role", "ord"], how="left")
    has_own, has_peer = h["own_n"] >= min_history, h["peer_n"] >= min_history
    ok = ((h["ord"] >= first.toordinal()) & (has_own | has_peer)
          & (~has_own | (h["n_rows"] > h["own_max"])) & (~has_peer | (h["n_rows"] > h["peer_max"])))
    return h.loc[ok, ["actor_id", "ord"]].reset_index(drop=True).astype({"actor_id": "string", "ord": "int64"})


def _day_ids(cur: duckdb.DuckDBPyConnection, keys: list[tuple[str, date]], lo: datetime,
             cutoff: datetime, clock: LocalClock) -> dict[tuple[str, date], list[int]]:
    """The data-action event ids of the given actor-days (those ``_days_sql`` counted rows of)."""
    if not keys:
        return {}
    cur.register("_kansa_bulk_keys", pd.DataFrame({"actor_id": pd.Series([k[0] for k in keys], dtype="string"),
                                                   "day": pd.Series([k[1] for k in keys], dtype="object")}))
    try:
        rows = fetch(
            cur,
            f"""
            SELECT e.actor_id, k.day, list(e.event_id ORDER BY e.event_id)
            FROM access_events e
            JOIN (SELECT DISTINCT actor_id, CAST(day AS DATE) AS day FROM _kansa_bulk_keys) k
                 ON k.actor_id = e.actor_id AND k.day = {clock.day('e.ts')}
            WHERE e.ts < ? AND e.ts >= ? AND e.action IN ({ACTIONS_SQL}) AND coalesce(e.outcome, 'success') <> 'failure'
            GROUP BY ALL
            """,
            [cutoff, lo],
        )
    finally:
        cur.unregister("_kansa_bulk_keys")
    return {(str(a), d): [int(i) for i in ids] for a, d, ids in rows}


def bulk_pull(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None, since: date | None = None
) -> list[Finding]:
    """Daily rows far above own and peers' history, or a whole-table export nobody assigned.

    Reads only the events of the days not yet in its table (``state``); the baselines come from the
    table. Findings are made for the days from ``since``.
    """
    cfg = cfg or RuleConfig("bulk_pull")
    z_cut = cfg.get("z", OUTLIER_Z)
    min_history = cfg.get("min_history", 19)
    unknown_rows = cfg.get("unknown_table_rows", 1000)
    kinds = [str(k) for k in cfg.get("export_assignments", list(DEFAULT_EXPORT_ASSIGNMENTS))]
    con.execute(_BULK_DDL)
    start = refresh_start(con, BULK_TABLE, since)
    lo = midnight(start, cutoff) if start is not None else EPOCH
    first_judged = since if since is not None else date.min
    with task_cover(con, cutoff, lo) as cur:
        cur.register("_kansa_whole_stmts", _whole_table_statements(cur, lo, cutoff))
        listed = ", ".join("'" + k.lower().replace("'", "''") + "'" for k in kinds) or "NULL"
        export_ok = COVERED.format(extra=f"AND (lower(coalesce(s.kind, '')) IN ({listed}) "
                                         f"OR lower(coalesce(s.purpose, '')) IN ({listed}))")
        id_lo, id_hi = event_id_range(cur, lo, cutoff)
        clock = local_clock(cur, cutoff)
        cur.execute(_days_sql(export_ok, clock.day("e.ts")), [id_lo, id_hi, cutoff, lo, cutoff, lo, unknown_rows, cutoff, lo, cutoff, lo])
        cur.unregister("_kansa_whole_stmts")
        refresh(cur, BULK_TABLE, _BULK_DDL, since, cutoff,
                [(f"INSERT INTO {BULK_TABLE} SELECT actor_id, day, role, n_rows FROM _kansa_bulk_days", [])])
        hist = cur.execute(f"SELECT actor_id, day, role, n_rows FROM {BULK_TABLE} WHERE day <= ?",
                           [last_day(cutoff)]).df()
        # date ordinals, vectorised (a per-row map cost seconds at hundreds of thousands of actor-days)
        hist["ord"] = (pd.to_datetime(hist["day"]).to_numpy().astype("datetime64[D]").astype("int64")
                       + _EPOCH_ORDINAL)
        cur.register("_kansa_bulk_candidates", _candidates(hist, first_judged, min_history))
        data = fetch(
            cur,
            "SELECT actor_id, day, role, n_rows, n_exports, NULL AS ids, whole_ids, whole_owners, whole_rows "
            "FROM _kansa_bulk_days b WHERE day >= ? AND (len(whole_ids) > 0 OR EXISTS "
            "(SELECT 1 FROM _kansa_bulk_candidates c WHERE c.actor_id = b.actor_id AND c.ord = b.day_ord)) "
            "ORDER BY day, actor_id",
            [first_judged],
        )
        cur.unregister("_kansa_bulk_candidates")
        cur.execute("DROP TABLE _kansa_bulk_days")
        ids_of = _day_ids(cur, [(str(r[0]), r[1]) for r in data if not r[6]], lo, cutoff, clock)
        data = [(*r[:5], ids_of.get((str(r[0]), r[1]), []), *r[6:]) for r in data]
    if not data:
        return []
    history = _History(hist)

    def judge(actor: str, day: date, role: str) -> tuple[Baseline | None, Baseline | None, int]:
        own_prior = history.before(history.own.get(actor), day.toordinal())
        peer_prior = history.before(history.role.get(role), day.toordinal())
        return (baseline(own_prior, min_history=min_history, log=True),
                baseline(peer_prior, min_history=min_history, log=True), int(own_prior.size))

    out: list[Finding] = []
    for actor, day, role, n, n_exp, evs, whole_ids, whole_owners, whole_rows in data:
        x = float(n)
        mine, peers, own_n = judge(str(actor), day, str(role))
        med_own = f"{mine.typical:.0f}" if mine else "-"
        med_peer = f"{peers.typical:.0f}" if peers else "-"
        detail = {
            "rows": x,
            "exports": int(n_exp),
            "own_median": mine.typical if mine else None,
            "own_days": mine.n if mine else own_n,
            "peer_median": peers.typical if peers else None,
            "peer_days": peers.n if peers else 0,
        }
        if whole_ids:
            owners = sorted(str(o) for o in whole_owners or [])
            out.append(
                Finding(
                    rule="bulk_pull",
                    actor_id=actor,
                    day=day,
                    score=10.0,
                    severity="high",
                    reason_ja=(
                        f"{day} に {', '.join(owners)} の個人データをテーブルごと出力({len(whole_ids)} 回、推定 "
                        f"{x:.0f} 件)。出力を目的とする担当業務(割当)がない。"
                    ),
                    reason_en=(
                        f"Exported whole table(s) of {', '.join(owners)}'s personal data on {day} "
                        f"({len(whole_ids)} time(s), ~{whole_rows:.0f} rows) with no export assignment for that owner."
                    ),
                    detail={**detail, "whole_table_exports": len(whole_ids), "whole_table_rows": float(whole_rows),
                            "owners": owners,
                            "export_assignments": kinds},
                    access_events=evidence(whole_ids),
                    key="whole_table",
                )
            )
            continue
        if mine is None and peers is None:
            continue
        zs = [b.z(x) for b in (mine, peers) if b is not None]
        score = min(zs)
        # Far above: beyond the robust cut-off AND above every day seen before (own and peers'),
        # because among thousands of honest actor-days a few land beyond 3.5 by chance alone.
        if score <= z_cut or any(x <= b.high for b in (mine, peers) if b is not None):
            continue
        out.append(
            Finding(
                rule="bulk_pull",
                actor_id=actor,
                day=day,
                score=round(score, 2),
                severity=severity_for(score, high=3 * z_cut, medium=z_cut),
                reason_ja=(
                    f"{day} に {x:.0f} 件を取得(本人の通常の中央値 {med_own} 件、同じ役割の同僚の中央値 "
                    f"{med_peer} 件)。修正 z 値 {score:.1f} > {z_cut}。出力操作 {n_exp} 回。"
                ),
                reason_en=(
                    f"Read {x:.0f} rows on {day} (own median {med_own}, peers' median {med_peer}); "
                    f"modified z {score:.1f} > {z_cut}; {n_exp} export(s)."
                ),
                detail={**detail, "z": zs},
                access_events=evidence(evs),
            )
        )
    return out
