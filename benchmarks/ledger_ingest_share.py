"""What sealing costs inside ingest: a log ingested with and without sealing.

``--source access`` (the default): an access JSONL of N events touching 1 to ``--subjects-max``
subjects each (mean about half the maximum), through ``ingest_access_file``. ``--source pgaudit``:
the PostgreSQL csvlog of benchmarks/ingest_pgaudit.py (N audited statements, most touching no
or one or two subjects), through ``ingest_pgaudit_file``. The ingest is timed as it is, and again with the pipeline's two sealing
calls (``seal_range`` per block, ``seal_pending`` signing the head at the end of the file)
replaced by no-ops: the peer measured in the same run, so the difference is the ledger's share of
ingest. Both run on fresh workspaces, alternating, median of
``--repeat`` runs, wall and CPU (process CPU time, all threads) seconds. Run against an older
kansa with ``PYTHONPATH=<old checkout>/src`` for before/after.

    python -m benchmarks.ledger_ingest_share [--events 100000] [--subjects-max 50] [--repeat 3]
    python -m benchmarks.ledger_ingest_share --source pgaudit [--events 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

import kansa
import kansa.ingest.pipeline as pipeline
from benchmarks import ingest_pgaudit
from kansa.ingest import ingest_access_file, ingest_pgaudit_file
from kansa.ledger import verify
from kansa.model.workspace import init_workspace, open_workspace


def write_log(path: Path, n: int, subjects_max: int) -> int:
    """The access log; returns the number of subjects written."""
    total = 0
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            k = 1 + (i * 37) % subjects_max if subjects_max > 0 else 0
            total += k
            rec = {
                "time": f"2024-03-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}+09:00",
                "actor": f"op{i % 50}", "action": "view", "resource": "cartax/taxpayer",
                "owner": f"org{i % 7}", "subjects": [f"R{(i * 7919 + j * 104729) % 1000003:07d}" for j in range(k)],
                "rows": k, "source_ip": f"10.0.{i % 7}.{i % 200}", "system": "app",
            }
            fh.write(json.dumps(rec) + "\n")
    return total


def _no_seal(*_: Any, **__: Any) -> dict[str, Any]:
    return {}


def _run(root: Path, log: Path, seal: bool, ingest: Callable[..., dict[str, Any]]) -> tuple[float, float]:
    real = pipeline.seal_range, pipeline.seal_pending
    if not seal:
        pipeline.seal_range = pipeline.seal_pending = _no_seal  # type: ignore[assignment]
    try:
        with init_workspace(root) as ws:
            wall, cpu = time.perf_counter(), time.process_time()
            got = ingest(ws, log)
            took = time.perf_counter() - wall, time.process_time() - cpu
            if seal:  # the sealed run must really have sealed everything
                r = verify(ws)
                assert r["ok"] and r["pending"] == 0 and r["tree_size"] == got["events"] + got.get("endpoint_events", 0), r
    finally:
        pipeline.seal_range, pipeline.seal_pending = real
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--subjects-max", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--source", choices=("access", "pgaudit"), default="access")
    args = ap.parse_args()
    pg = args.source == "pgaudit"
    ingest = ingest_pgaudit_file if pg else ingest_access_file
    load = os.getloadavg()
    runs: dict[str, list[tuple[float, float]]] = {"ingest + seal": [], "ingest, sealing a no-op": []}
    with tempfile.TemporaryDirectory() as d:
        log, warm = (Path(d) / name for name in (("pg.csv", "w.csv") if pg else ("app.jsonl", "w.jsonl")))
        for path, n in ((log, args.events), (warm, 1000)):
            if pg:
                ingest_pgaudit.write_log(path, n)
            else:
                write_log(path, n, args.subjects_max)
        # untimed: the process's first imports and first key load would otherwise land on one case
        _run(Path(d) / "warm", warm, True, ingest)
        for i in range(args.repeat):
            runs["ingest + seal"].append(_run(Path(d) / f"s{i}", log, True, ingest))
            runs["ingest, sealing a no-op"].append(_run(Path(d) / f"n{i}", log, False, ingest))
        with open_workspace(Path(d) / "s0") as ws:
            events, subjects = ws.con.execute(
                "SELECT (SELECT count(*) FROM access_events), (SELECT count(*) FROM access_subjects)"
            ).fetchall()[0]
        size = log.stat().st_size
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" DuckDB {duckdb.__version__}; kansa from {Path(kansa.__file__).parent}\n"
        f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n"
        f"command: python -m benchmarks.ledger_ingest_share --source {args.source} --events {args.events}"
        f" --subjects-max {args.subjects_max} --repeat {args.repeat}\n"
        f"{events} access events, {subjects} subjects, {size / 1e6:.1f} MB"
    )
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()}
    for name, (wall, cpu) in med.items():
        print(f"{name:28s} median wall {wall:6.2f} s   CPU {cpu:6.2f} s")
    (sw, sc), (nw, nc) = med["ingest + seal"], med["ingest, sealing a no-op"]
    print(f"sealing's share of ingest: wall {(sw - nw) / sw:.0%}, CPU {(sc - nc) / sc:.0%}")


if __name__ == "__main__":
    main()
