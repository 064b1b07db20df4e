"""Benchmark: resident memory of one big-file ingest, after every committed batch.

A peak RSS alone cannot tell a fixed working set from one that grows with the file; this prints,
after each batch the pipeline commits (64 MiB of content), the process's resident memory and what
the workspace DuckDB's buffer pool holds (``duckdb_memory()``), so growth shows as a trend.

    python -m benchmarks.ingest_memory LOG [--source pgaudit|access] [--workspace DIR]

LOG is an existing file (``benchmarks.ingest_pgaudit --copies`` or ``benchmarks.ingest_access``
write big ones). CPU = user + system of the process, all threads.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import tempfile
import time
from pathlib import Path

from kansa.ingest import ingest_access_file, ingest_pgaudit_file
from kansa.model.workspace import Workspace, init_workspace


def _rss_mib() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmRSS"))


class _PerBatch(logging.Handler):
    """Called by the pipeline's debug record right after each batch commit, in its thread."""

    def __init__(self, ws: Workspace, start: float) -> None:
        super().__init__(logging.DEBUG)
        self.ws = ws
        self.start = start

    def emit(self, record: logging.LogRecord) -> None:
        tags = self.ws.con.execute(
            "SELECT tag, memory_usage_bytes // 1048576 FROM duckdb_memory() WHERE memory_usage_bytes > 0"
            " ORDER BY 2 DESC").fetchall()
        pool = sum(int(mib) for _, mib in tags)
        # which kind of memory it is: ART_INDEX cannot be evicted, BASE_TABLE pages can
        parts = ", ".join(f"{tag} {mib}" for tag, mib in tags if mib >= 8)
        args = record.args if isinstance(record.args, tuple) else ()
        done, events = (int(args[2]), int(args[3])) if len(args) == 4 else (0, 0)  # type: ignore[call-overload]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # between batches too
        print(f"| {done / 1e6:,.0f} | {events:,} | {_rss_mib()} | {peak} | {pool} | {parts}"
              f" | {time.perf_counter() - self.start:.0f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--source", default="pgaudit", choices=("pgaudit", "access"))
    ap.add_argument("--workspace", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kansa-bench-mem-") as d:
        ws = init_workspace(args.workspace or Path(d) / "ws")
        ws.con.execute("SET enable_progress_bar = false")
        start = time.perf_counter()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        logger = logging.getLogger("kansa.ingest.pipeline")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(_PerBatch(ws, start))
        print(f"load average at start {os.getloadavg()[0]:.1f}")
        print("| content MB done | events | resident MiB | peak so far | DuckDB buffer pool MiB | of which (MiB, >= 8)"
              " | wall s |")
        print("|---|---|---|---|---|---|---|")
        ingest = ingest_pgaudit_file if args.source == "pgaudit" else ingest_access_file
        events = ingest(ws, Path(args.log))["events"]
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        ws.close()
    print(f"events {events:,}; wall {time.perf_counter() - start:.0f} s; CPU"
          f" {r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime:.0f} s; peak RSS {r1.ru_maxrss // 1024} MiB;"
          f" load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
