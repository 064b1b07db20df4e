"""Benchmark: a full audit and an incremental daily audit over a large synthetic workspace.

Why synthetic: the simulator writes log files that ingest must parse (that is measured in
benchmarks/run.py); here the question is what the detectors cost once events are in the
model, at a size the simulator would take long to write. The workspace is generated in DuckDB
with SQL: teams of operators working their owner's call list on weekdays, supervisors, a few
maintainers, occasional exports, rare off-list and other-owner look-ups, and USB copies. The
values are hash-derived, so a given size is the same workspace every run.

Peer: a plain DuckDB GROUP BY per actor and day over the same events (count, distinct owners,
rows), i.e. the cheapest query that touches every event once. For the daily run, the same
GROUP BY over the new day only.

    python -m benchmarks.audit_synthetic [--actors 400] [--days 120] [--per-day 40] [--repeat 3]
        [--chunk-days 20]   # 50 M: --actors 4000 --days 291 --per-day 60 --full-repeat 0 --repeat 0
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from kansa.model.workspace import Workspace, init_workspace, open_workspace

START = date(2024, 1, 1)
TEAM = 20
LIST_SIZE = 400  # call-list subjects per team


def _registry(con: duckdb.DuckDBPyConnection, actors: int, days: int) -> None:
    teams = max(actors // TEAM, 1)
    con.execute(
        """
        INSERT INTO actors (actor_id, role, org_id, team, privileged)
        SELECT 'a' || i, CASE WHEN i % 50 = 0 THEN 'maintainer' WHEN i % 10 = 0 THEN 'supervisor' ELSE 'operator' END,
               'org-1', 't' || (i % ?), i % 50 = 0
        FROM range(?) r(i)
        """,
        [teams, actors],
    )
    con.execute("INSERT INTO accounts SELECT 'endpoint', 'u-' || actor_id, actor_id, FALSE FROM actors")
    con.execute(
        "INSERT INTO assignments SELECT 'camp-' || t, NULL, 't' || t, 'own-' || t, NULL, 'campaign', 'call', ?, ? "
        "FROM range(?) r(t)",
        [START, START + timedelta(days=days + 30), teams],
    )
    con.execute(
        "INSERT INTO assignment_subjects SELECT 'camp-' || t, 'own-' || t, 's' || s FROM range(?) a(t), range(?) b(s)",
        [teams, LIST_SIZE],
    )


def _events(con: duckdb.DuckDBPyConnection, actors: int, first_day: int, n_days: int, per_day: int) -> int:
    """Insert access and endpoint events for days [first_day, first_day + n_days); returns events added."""
    teams = max(actors // TEAM, 1)
    row = con.execute("SELECT coalesce(max(event_id) + 1, 0) FROM "
                      "(SELECT event_id FROM access_events UNION ALL SELECT event_id FROM endpoint_events)").fetchone()
    base = int(row[0]) if row else 0
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE gen AS
        SELECT a.i AS ai, d.d AS dd, k.k AS kk, hash(a.i, d.d, k.k) AS h
        FROM range(?) a(i), range(?, ?) d(d), range(?) k(k)
        WHERE isodow(DATE '{START}' + CAST(d.d AS INTEGER)) <= 5
        """,
        [actors, first_day, first_day + n_days, per_day],
    )
    con.execute(
        f"""
        INSERT INTO access_events (event_id, ts, actor_id, account, action, resource, owner_id, ticket, terminal,
                                   row_count, source_system, batch_id, source_file, source_line)
        SELECT ? + row_number() OVER (ORDER BY dd, ai, kk) - 1,
               TIMESTAMPTZ '{START} 09:00:00+09' + to_days(CAST(dd AS INTEGER))
                 + to_minutes(CAST(kk * 480 // ? + h % 7 AS INTEGER)),
               'a' || ai, 'a' || ai,
               CASE WHEN h % 100 < 88 THEN 'view' WHEN h % 100 < 95 THEN 'search' WHEN h % 100 < 99 THEN 'update'
                    ELSE 'export' END,
               'app/' || CASE WHEN h % 100 = 99 THEN 'export' ELSE 'customer' END,
               CASE WHEN h % 5000 = 7 THEN 'own-' || ((ai + 1) % ?) ELSE 'own-' || (ai % ?) END,
               NULL, 'PC-' || ai,
               CASE WHEN h % 100 = 99 THEN 20 + h % 300 WHEN h % 100 >= 88 AND h % 100 < 95 THEN 1 + h % 20 ELSE 1 END,
               'access', 1, 'synthetic', kk
        FROM gen
        """,
        [base, per_day, teams, teams],
    )
    con.execute(
        """
        INSERT INTO access_subjects
        SELECT e.event_id, e.owner_id, 's' || CASE WHEN hash(e.event_id) % 400 = 3 THEN 9000 + hash(e.event_id) % 500
                                                  ELSE hash(e.event_id) % ? END
        FROM access_events e
        WHERE e.event_id >= ? AND e.action IN ('view', 'update')
        """,
        [LIST_SIZE, base],
    )
    row = con.execute("SELECT max(event_id) + 1 FROM access_events").fetchone()
    nxt = int(row[0]) if row and row[0] is not None else base
    con.execute(
        """
        INSERT INTO endpoint_events (event_id, ts, actor_id, account, host, kind, path, to_removable, source_system,
                                     batch_id)
        SELECT ? + row_number() OVER (ORDER BY ts, account) - 1, ts, NULL, account, host, 'file_copy', 'E:/x.csv', TRUE,
               'cert', 2
        FROM (SELECT DISTINCT e.ts + INTERVAL 30 MINUTE AS ts, 'u-' || e.actor_id AS account, e.terminal AS host
              FROM access_events e WHERE e.event_id >= ? AND e.action = 'export' AND hash(e.event_id) % 40 = 0)
        """,
        [nxt, base],
    )
    row = con.execute("SELECT count(*) FROM access_events WHERE event_id >= ?", [base]).fetchone()
    return int(row[0]) if row else 0


def reset_audit(ws: Workspace) -> None:
    """What a full run starts from: no findings, no state, the rules' kept tables marked stale."""
    from kansa.audit.store import ensure_tables

    ensure_tables(ws)
    for table in ("finding_evidence", "findings", "audit_state", "behaviour_features", "triage"):
        ws.con.execute(f"DELETE FROM {table}")
    # the rules' kept aggregates too: a full run rebuilds them from the events
    ws.con.execute("CREATE TABLE IF NOT EXISTS audit_rule_days (name VARCHAR PRIMARY KEY, through DATE NOT NULL)")
    ws.con.execute("DELETE FROM audit_rule_days")


def _peer(con: duckdb.DuckDBPyConnection, day: date | None = None) -> Any:
    where = "" if day is None else f"WHERE CAST(ts AS DATE) = DATE '{day}'"
    return con.execute(
        f"SELECT count(*) FROM (SELECT actor_id, CAST(ts AS DATE) AS d, count(*), count(DISTINCT owner_id), "
        f"sum(row_count) FROM access_events {where} GROUP BY ALL)"
    ).fetchone()


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _cpu_timed(fn: Any) -> tuple[float, float, Any]:
    """Wall and CPU seconds (CPU of every thread of this process: DuckDB's workers included)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def main() -> None:
    from kansa.audit import run_audit

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--actors", type=int, default=400)
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--per-day", type=int, default=40)
    p.add_argument("--chunk-days", type=int, default=0, help="generate the events this many days at a time "
                   "(bounds the generator's memory for workspaces of tens of millions of events; 0: all at once)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dir", type=Path, default=None)
    p.add_argument("--full-repeat", type=int, default=None, help="full runs (default: --repeat)")
    p.add_argument("--memory-limit", default=None, help="DuckDB memory_limit for the runs, e.g. 3GB, or 'off' "
                   "(default: the audit's own, kansa.audit.memory)")
    p.add_argument("--reuse", action="store_true", help="audit the workspace already in --dir/ws (days added by "
                   "earlier daily runs included) instead of generating one")
    args = p.parse_args()
    tmp = args.dir or Path(tempfile.mkdtemp(prefix="kansa-audit-bench-"))
    t0 = time.perf_counter()
    if args.reuse and (tmp / "ws").exists():
        ws = open_workspace(tmp / "ws")
        row = ws.con.execute("SELECT count(*), max(CAST(ts AS DATE)) FROM access_events").fetchone()
        n = int(row[0]) if row else 0
        args.days = (row[1] - START).days + 1 if row and row[1] else 0  # the daily runs continue after it
        got = ws.con.execute("SELECT count(*) FROM actors").fetchone()
        args.actors = int(got[0]) if got else args.actors  # the daily runs add days for the same actors
    else:
        ws = init_workspace(tmp / "ws")
        _registry(ws.con, args.actors, args.days)
        step = args.chunk_days if args.chunk_days > 0 else args.days
        n = 0
        for first in range(0, args.days, step):
            n += _events(ws.con, args.actors, first, min(step, args.days - first), args.per_day)
            if step < args.days:
                print(f"  generated days {first}..{min(first + step, args.days) - 1}: {n} access events, "
                      f"{time.perf_counter() - t0:.0f} s", flush=True)
    t_gen = time.perf_counter() - t0
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"DuckDB {duckdb.__version__}, load {os.getloadavg()[0]:.2f}")
    print(f"workspace: {n} access events, {args.actors} actors, {args.days} days (generated in {t_gen:.1f} s)",
          flush=True)
    full, full_cpu, peer_full, peer_full_cpu, found = [], [], [], [], None
    for _ in range(args.repeat if args.full_repeat is None else args.full_repeat):
        reset_audit(ws)
        secs, cpu, found = _cpu_timed(lambda: run_audit(ws, memory_limit=args.memory_limit))
        full.append(secs)
        full_cpu.append(cpu)
        p_secs, p_cpu, _ = _cpu_timed(lambda: _peer(ws.con))
        peer_full.append(p_secs)
        peer_full_cpu.append(p_cpu)
        print(f"  full run: {secs:.2f} s wall, {cpu:.2f} s CPU; load {os.getloadavg()[0]:.2f}", flush=True)
    if found:
        print(f"  per detector (last run), wall s: {found['seconds']}")
        print(f"  per detector (last run), CPU s: {found['cpu_seconds']}")
    if full:
        print(f"  peak RSS after the full runs: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
              flush=True)
    if full:
        print(f"full audit: median {statistics.median(full):.2f} s wall {sorted(round(x, 2) for x in full)}, "
              f"CPU {statistics.median(full_cpu):.2f} s; peer GROUP BY: median {statistics.median(peer_full):.2f} s "
              f"wall, {statistics.median(peer_full_cpu):.2f} s CPU; findings {found['findings'] if found else 0}",
              flush=True)
    daily, daily_cpu, peer_daily, peer_daily_cpu = [], [], [], []
    if not args.repeat:
        ws.close()
        return
    day_ix = args.days
    for i in range(args.repeat):
        while (START + timedelta(days=day_ix)).isoweekday() > 5:
            day_ix += 1
        added = _events(ws.con, args.actors, day_ix, 1, args.per_day)
        secs, cpu, out = _cpu_timed(lambda: run_audit(ws, memory_limit=args.memory_limit))
        daily.append(secs)
        daily_cpu.append(cpu)
        p_secs, p_cpu, _ = _cpu_timed(lambda d=START + timedelta(days=day_ix): _peer(ws.con, d))
        peer_daily.append(p_secs)
        peer_daily_cpu.append(p_cpu)
        print(f"  daily run {i + 1}: {added} new events, computed {out['computed'].get('behaviour')}, {secs:.2f} s "
              f"wall, {cpu:.2f} s CPU, load {os.getloadavg()[0]:.2f}; per detector CPU s {out['cpu_seconds']}", flush=True)
        day_ix += 1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"daily audit: median {statistics.median(daily):.2f} s wall, {statistics.median(daily_cpu):.2f} s CPU; "
          f"peer GROUP BY one day: median {statistics.median(peer_daily):.3f} s wall, "
          f"{statistics.median(peer_daily_cpu):.3f} s CPU; peak RSS {rss:.0f} MiB; load {os.getloadavg()[0]:.2f}")
    ws.close()


if __name__ == "__main__":
    main()
