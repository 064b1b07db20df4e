"""Peak memory of sealing a big ingest: N synthetic access events written and sealed batch by batch.

Each batch (``--batch`` events, about what ingest commits per 64 MB of csvlog) is one transaction,
as ingest runs it: the rows and their subjects are inserted, sealed with ``seal_range`` in
``--block``-event blocks, the head is signed with ``seal_pending`` and the batch is committed. The
peer is the same run with sealing left out. Each case runs in a child process of its own, so the
peak resident set (ru_maxrss) is that case's alone; CPU seconds are the child's (all threads).
Run against an older kansa with ``PYTHONPATH=<old checkout>/src`` for before/after.

    python -m benchmarks.ledger_memory [--events 3000000] [--batch 200000] [--block 65536] [--memory-limit 256MB]

``--memory-limit``: DuckDB's memory_limit for the run, to tell pages DuckDB can evict (table data)
from memory it cannot (ART indexes, the Python side).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import kansa
from kansa.ledger import ensure_ledger, seal_pending, seal_range
from kansa.model.workspace import init_workspace

FILL = """
INSERT INTO access_events (event_id, ts, actor_id, account, action, resource, columns, owner_id,
                           source_system, batch_id, source_file, source_line, statement)
SELECT i, TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL 1 SECOND, 'a' || (i % 50), 'acc' || (i % 50),
       'read', 'cc.residents', ['name', 'address', 'phone'], 'org' || (i % 7), 'pgaudit', 1,
       '/var/log/postgresql/postgresql-15-main.csv', i,
       'SELECT name, address, phone FROM cc.residents WHERE resident_id = $1'
FROM range(?, ?) t(i)
"""
FILL_SUBJECTS = """
INSERT INTO access_subjects
SELECT i, 'org' || (i % 7), 'R' || lpad(CAST((i * 7919) % 1000003 AS VARCHAR), 7, '0') FROM range(?, ?) t(i)
"""


def _child(root: Path, events: int, batch: int, block: int, sealing: bool, limit: str | None) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    with init_workspace(root) as ws:
        ensure_ledger(ws)
        con = ws.con
        if limit:
            con.execute(f"SET memory_limit = '{limit}'")
        for first in range(0, events, batch):
            last = min(first + batch, events)
            con.begin()
            con.execute(FILL, [first, last])
            con.execute(FILL_SUBJECTS, [first, last])
            if sealing:
                for b in range(first, last, block):
                    seal_range(ws, "access", b, min(b + block, last) - 1)
                seal_pending(ws, since_event=first, in_transaction=True)
            con.commit()
        leaves = int(con.execute("SELECT count(*) FROM ledger_leaves").fetchall()[0][0])
    size = (root / "kansa.duckdb").stat().st_size
    return {
        "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "leaves": leaves, "db_mib": size / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=3_000_000)
    ap.add_argument("--batch", type=int, default=200_000)
    ap.add_argument("--block", type=int, default=65_536)
    ap.add_argument("--memory-limit")
    ap.add_argument("--child", choices=("sealed", "peer"))
    ap.add_argument("--root")
    args = ap.parse_args()
    if args.child:
        got = _child(Path(args.root), args.events, args.batch, args.block, args.child == "sealed", args.memory_limit)
        print(json.dumps(got))
        return
    load = os.getloadavg()
    print(f"kansa from {Path(kansa.__file__).parent}; load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n"
          f"command: python -m benchmarks.ledger_memory --events {args.events} --batch {args.batch} --block {args.block}"
          + (f" --memory-limit {args.memory_limit}" if args.memory_limit else ""))
    with tempfile.TemporaryDirectory() as d:
        for case in ("sealed", "peer"):
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.ledger_memory", "--child", case, "--root", str(Path(d) / case),
                 "--events", str(args.events), "--batch", str(args.batch), "--block", str(args.block),
                 *(["--memory-limit", args.memory_limit] if args.memory_limit else [])],
                capture_output=True, text=True, check=False,
            )
            if out.returncode:
                sys.exit(f"{case} failed:\n{out.stderr}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{case:7s} peak RSS {r['peak_rss_mib']:7.0f} MiB  CPU {r['cpu_s']:6.1f} s  wall {r['wall_s']:6.1f} s"
                  f"  leaves {r['leaves']}  database {r['db_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
