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

from collections import defaultdict
from datetime import date, datetime

import duckdb
import pandas as pd

from kansa.audit.baseline import OUTLIER_Z, Baseline, baseline
from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding, severity_for
from kansa.audit.rules.common import ACTIONS_SQL, COVERED, EXPORT_SQL, evidence, fetch, task_cover
from kansa.audit.rules.sqlshape import whole_table_export

DEFAULT_EXPORT_ASSIGNMENTS = ("export", "backup", "migration", "extract")


def _whole_table_statements(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> pd.DataFrame:
    stmts = fetch(
        con,
        f"""SELECT DISTINCT statement FROM access_events
            WHERE ts < ? AND row_count IS NULL AND statement IS NOT NULL AND action IN ({ACTIONS_SQL})""",
        [cutoff],
    )
    whole = [s for (s,) in stmts if whole_table_export(s)]
    return pd.DataFrame({"statement": pd.Series(whole, dtype="string")})


def estimated_rows_sql(table: str = "e") -> str:
    """SQL for an event's rows: logged count, else table size for whole-table reads, else subjects."""
    return f"""coalesce({table}.row_count,
        CASE WHEN {table}.statement IN (SELECT statement FROM _kansa_whole_stmts)
             THEN coalesce((SELECT max(d.records) FROM datasets d WHERE d.owner_id = {table}.owner_id
                              AND coalesce(d.valid_from, DATE '0001-01-01') <= CAST({table}.ts AS DATE)),
                           ?) END,
        nullif((SELECT count(*) FROM access_subjects x WHERE x.event_id = {table}.event_id), 0), 1)"""


def bulk_pull(con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None) -> list[Finding]:
    """Daily rows far above own and peers' history, or a whole-table export nobody assigned."""
    cfg = cfg or RuleConfig("bulk_pull")
    z_cut = cfg.get("z", OUTLIER_Z)
    min_history = cfg.get("min_history", 19)
    unknown_rows = cfg.get("unknown_table_rows", 1000)
    kinds = [str(k) for k in cfg.get("export_assignments", list(DEFAULT_EXPORT_ASSIGNMENTS))]
    with task_cover(con, cutoff) as cur:
        cur.register("_kansa_whole_stmts", _whole_table_statements(cur, cutoff))
        listed = ", ".join("'" + k.lower().replace("'", "''") + "'" for k in kinds) or "NULL"
        export_ok = COVERED.format(extra=f"AND (lower(coalesce(s.kind, '')) IN ({listed}) "
                                         f"OR lower(coalesce(s.purpose, '')) IN ({listed}))")
        data = fetch(
            cur,
            f"""
            WITH ev AS (
                SELECT e.event_id, e.actor_id, CAST(e.ts AS DATE) AS day, coalesce(a.role, 'unknown') AS role,
                       e.action, e.owner_id, {estimated_rows_sql()} AS n_rows,
                       e.row_count IS NULL AND e.statement IN (SELECT statement FROM _kansa_whole_stmts) AS whole,
                       coalesce(a.role, '') <> 'service' AND e.owner_id IS NOT NULL AND NOT {export_ok} AS unassigned
                FROM access_events e LEFT JOIN actors a USING (actor_id)
                WHERE e.ts < ? AND e.actor_id IS NOT NULL AND e.action IN ({ACTIONS_SQL})
                  AND coalesce(e.outcome, 'success') <> 'failure'
            )
            SELECT actor_id, day, role, sum(n_rows) AS n_rows,
                   count(*) FILTER (WHERE action IN ({EXPORT_SQL})) AS n_exports,
                   list(event_id ORDER BY n_rows DESC) AS ids,
                   list(event_id) FILTER (WHERE whole AND unassigned) AS whole_ids,
                   list(DISTINCT owner_id) FILTER (WHERE whole AND unassigned) AS whole_owners,
                   coalesce(sum(n_rows) FILTER (WHERE whole AND unassigned), 0) AS whole_rows
            FROM ev GROUP BY ALL ORDER BY day, actor_id
            """,
            [unknown_rows, cutoff],
        )
        cur.unregister("_kansa_whole_stmts")
    own: dict[str, list[float]] = defaultdict(list)
    # Peers: every actor-day of the same role before D, pooled (the actor's own past included,
    # which is at most its share). Cached per (role, day): the prefix only grows.
    role_days: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for _actor, day, role, n, *_rest in data:
        role_days[role].append((day, float(n)))
    peer_cache: dict[tuple[str, date], Baseline | None] = {}

    def peer_baseline(role: str, day: date) -> Baseline | None:
        key = (role, day)
        if key not in peer_cache:
            peer_cache[key] = baseline(
                [v for d, v in role_days[role] if d < day], min_history=min_history, log=True
            )
        return peer_cache[key]

    out: list[Finding] = []
    for actor, day, role, n, n_exp, evs, whole_ids, whole_owners, whole_rows in data:
        x = float(n)
        mine = baseline(own[actor], min_history=min_history, log=True)
        peers = peer_baseline(role, day)
        own[actor].append(x)
        med_own = f"{mine.typical:.0f}" if mine else "-"
        med_peer = f"{peers.typical:.0f}" if peers else "-"
        detail = {
            "rows": x,
            "exports": int(n_exp),
            "own_median": mine.typical if mine else None,
            "own_days": mine.n if mine else len(own[actor]) - 1,
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
