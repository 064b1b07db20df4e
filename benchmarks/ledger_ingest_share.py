"""What sealing costs inside ingest: an access JSONL with subjects, ingested with and without sealing.

The file has N events touching 1 to ``--subjects-max`` subjects each (mean about half the
maximum). ``ingest_access_file`` is timed as it is, and again with the pipeline's two sealing
calls (``seal_range`` per block, ``seal_pending`` signing the head at the end of the file)
replaced by no-ops: the peer measured in the same run, so the difference is the ledger's share of
ingest. Both run on fresh workspaces, alternating, median of
``--repeat`` runs, wall and CPU (process CPU time, all threads) seconds. Run against an older
kansa with ``PYTHONPATH=<old checkout>/src`` for before/after.

    python -m benchmarks.ledger_ingest_share [--events 100000] [--subjects-max 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

import kansa
import kansa.ingest.pipeline as pipeline
from kansa.ingest import ingest_access_file
from kansa.ledger import verify
from kansa.model.workspace import init_workspace


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


def _run(root: Path, log: Path, seal: bool) -> tuple[float, float]:
    real = pipeline.seal_range, pipeline.seal_pending
    if not seal:
        pipeline.seal_range = pipeline.seal_pending = _no_seal  # type: ignore[assignment]
    try:
        with init_workspace(root) as ws:
            wall, cpu = time.perf_counter(), time.process_time()
            got = ingest_access_file(ws, log)
            took = time.perf_counter() - wall, time.process_time() - cpu
            if seal:  # the sealed run must really have sealed everything
                r = verify(ws)
                assert r["ok"] and r["pending"] == 0 and r["tree_size"] == got["events"], r
    finally:
        pipeline.seal_range, pipeline.seal_pending = real
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--subjects-max", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    load = os.getloadavg()
    runs: dict[str, list[tuple[float, float]]] = {"ingest + seal": [], "ingest, sealing a no-op": []}
    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "app.jsonl"
        subjects = write_log(log, args.events, args.subjects_max)
        for i in range(args.repeat):
            runs["ingest + seal"].append(_run(Path(d) / f"s{i}", log, True))
            runs["ingest, sealing a no-op"].append(_run(Path(d) / f"n{i}", log, False))
        size = log.stat().st_size
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" DuckDB {duckdb.__version__}; kansa from {Path(kansa.__file__).parent}\n"
        f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n"
        f"command: python -m benchmarks.ledger_ingest_share --events {args.events}"
        f" --subjects-max {args.subjects_max} --repeat {args.repeat}\n"
        f"{args.events} events, {subjects} subjects, {size / 1e6:.1f} MB"
    )
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()}
    for name, (wall, cpu) in med.items():
        print(f"{name:28s} median wall {wall:6.2f} s   CPU {cpu:6.2f} s")
    (sw, sc), (nw, nc) = med["ingest + seal"], med["ingest, sealing a no-op"]
    print(f"sealing's share of ingest: wall {(sw - nw) / sw:.0%}, CPU {(sc - nc) / sc:.0%}")


if __name__ == "__main__":
    main()
