"""Ledger seal and verify on N synthetic access events with their subjects, against a peer.

Each event touches 1 to ``--subjects-max`` data subjects (access_subjects rows; spread evenly, so
the mean is about half the maximum), which frame-v2s leaves cover. Two ways of sealing are timed,
as kansa uses them: ``seal_pending`` (the CLI's `ledger seal`, one pass over everything unsealed)
and ``seal_range`` in blocks of ``--block`` events inside one transaction (what ingest does per
block it writes). The peer is the least a "hash every row" check can do: sha256 over each event
row's and each subject row's repr (no canonical form, no tree, no signature), so the ratio says
what canonical framing, the Merkle tree and the signed heads cost.

Wall and CPU seconds (process CPU time: all of DuckDB's threads) are medians of ``--repeat`` runs,
each on a fresh workspace. The same script runs against an older kansa with
``PYTHONPATH=<old checkout>/src`` for before/after comparisons.

    python -m benchmarks.ledger_synthetic [--events 100000] [--subjects-max 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

import kansa
from kansa.ledger import ensure_ledger, seal_pending, seal_range, verify
from kansa.model.workspace import Workspace, init_workspace

FILL = """
INSERT INTO access_events (event_id, ts, actor_id, account, action, resource, columns, owner_id,
                           source_system, batch_id, source_file, source_line, row_count)
SELECT i, TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL 1 SECOND, 'a' || (i % 50), 'acc' || (i % 50),
       'read', 'residents', ['name', 'addr'], 'org' || (i % 7), 'app', 1, 'app.jsonl', i, i % 13
FROM range(?) t(i)
"""

# 1 + (i * 37) mod m subjects for event i: every count from 1 to m equally often
FILL_SUBJECTS = """
INSERT INTO access_subjects
SELECT i, 'org' || (i % 7), 'R' || lpad(CAST((i * 7919 + j * 104729) % 1000003 AS VARCHAR), 7, '0')
FROM (SELECT i, unnest(range(1 + (i * 37) % ?)) AS j FROM range(?) t(i))
"""


def _fresh(root: Path, n: int, subjects_max: int) -> Workspace:
    ws = init_workspace(root)
    ws.con.execute(FILL, [n])
    if subjects_max > 0:
        ws.con.execute(FILL_SUBJECTS, [subjects_max, n])
    ensure_ledger(ws)
    return ws


def _seal_in_blocks(ws: Workspace, n: int, block: int) -> None:
    ws.con.begin()
    for first in range(0, n, block):
        seal_range(ws, "access", first, min(first + block, n) - 1)
    seal_pending(ws, in_transaction=True)
    ws.con.commit()


def _peer(con: duckdb.DuckDBPyConnection) -> str:
    h = hashlib.sha256()
    for table, order in (("access_events", "event_id"), ("access_subjects", "event_id, owner_id, subject_id")):
        cur = con.execute(f"SELECT * FROM {table} ORDER BY {order}")
        while rows := cur.fetchmany(100_000):
            for row in rows:
                h.update(hashlib.sha256(repr(row).encode()).digest())
    return h.hexdigest()


def _time(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--subjects-max", type=int, default=50, help="0: events without subjects")
    ap.add_argument("--block", type=int, default=131_072, help="events per seal_range call (ingest's block)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    times: dict[str, list[tuple[float, float]]] = {"seal_pending": [], "seal_range": [], "verify": [], "peer": []}
    load = os.getloadavg()
    subject_rows = 0
    with tempfile.TemporaryDirectory() as d:
        for i in range(args.repeat):
            ws = _fresh(Path(d) / f"p{i}", args.events, args.subjects_max)
            try:
                subject_rows = int(ws.con.execute("SELECT count(*) FROM access_subjects").fetchall()[0][0])
                times["seal_pending"].append(_time(lambda: seal_pending(ws)))  # noqa: B023
                times["verify"].append(_time(lambda: verify(ws)))  # noqa: B023
                times["peer"].append(_time(lambda: _peer(ws.con)))  # noqa: B023
            finally:
                ws.close()
            ws = _fresh(Path(d) / f"r{i}", args.events, args.subjects_max)
            try:
                times["seal_range"].append(_time(lambda: _seal_in_blocks(ws, args.events, args.block)))  # noqa: B023
            finally:
                ws.close()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" DuckDB {duckdb.__version__}; kansa from {Path(kansa.__file__).parent}\n"
        f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n"
        f"command: python -m benchmarks.ledger_synthetic --events {args.events} --subjects-max {args.subjects_max}"
        f" --block {args.block} --repeat {args.repeat}\n"
        f"{args.events} access events, {subject_rows} subject rows"
    )
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{name:13s} median wall {wall:6.2f} s   CPU {cpu:6.2f} s")


if __name__ == "__main__":
    main()
