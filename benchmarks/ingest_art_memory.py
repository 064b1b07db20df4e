"""Probe: does an ART index keep memory that DuckDB cannot evict while rows are appended?

Pure DuckDB, no kansa: a table shaped like access_events (id, time, account, statement, owner)
and one like access_subjects get 300 000 rows per committed batch under a memory limit, with the
id a PRIMARY KEY or not (``idx``: the two secondary indexes model migration 1 declared, instead).
After every fourth batch it prints the process's resident memory and ``duckdb_memory()`` by tag:
a tag that keeps growing under the limit is memory the buffer manager cannot evict; when it
reaches the limit, DuckDB stops with out-of-memory.

    python -m benchmarks.ingest_art_memory pk 40 64MB
    python -m benchmarks.ingest_art_memory nopk 40 64MB
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

import duckdb

ROWS = 300_000


def _rss_mib() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmRSS"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("variant", choices=("pk", "nopk", "idx"))
    ap.add_argument("batches", type=int)
    ap.add_argument("limit", help="DuckDB memory_limit, e.g. 64MB")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kansa-art-") as d:
        con = duckdb.connect(str(Path(d) / "probe.duckdb"))
        con.execute(f"SET memory_limit = '{args.limit}'")
        key = "PRIMARY KEY" if args.variant == "pk" else ""
        con.execute(f"CREATE TABLE ev (event_id BIGINT {key}, ts TIMESTAMPTZ, account VARCHAR, statement VARCHAR,"
                    " owner_id VARCHAR)")
        con.execute("CREATE TABLE sub (event_id BIGINT, owner_id VARCHAR, subject_id VARCHAR)")
        if args.variant == "idx":
            con.execute("CREATE INDEX ev_ts ON ev(ts)")
            con.execute("CREATE INDEX sub_s ON sub(owner_id, subject_id)")
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        for b in range(args.batches):
            lo, hi = b * ROWS, (b + 1) * ROWS
            con.begin()
            con.execute(
                "INSERT INTO ev SELECT i, TIMESTAMPTZ '2024-04-01' + to_seconds(i), 'op' || (i % 60),"
                " 'SELECT name FROM cc.residents WHERE resident_id = $1 -- ' || (i % 1000), 'city'"
                f" FROM range({lo}, {hi}) t(i)")
            con.execute("INSERT INTO sub SELECT i, 'city', 'R' || lpad(((i * 7919) % 500000)::VARCHAR, 7, '0')"
                        f" FROM range({lo}, {hi}) t(i)")
            con.commit()
            if b % 4 == 3 or b == args.batches - 1:
                tags = con.execute("SELECT tag, memory_usage_bytes // 1048576 FROM duckdb_memory()"
                                   " WHERE memory_usage_bytes >= 1048576 ORDER BY 1").fetchall()
                r = resource.getrusage(resource.RUSAGE_SELF)
                cpu = r.ru_utime + r.ru_stime - r0.ru_utime - r0.ru_stime
                print(f"{args.variant}: {hi / 1e6:.1f} M rows, RSS {_rss_mib()} MiB, pool by tag (MiB)"
                      f" {', '.join(f'{t} {m}' for t, m in tags)}, CPU {cpu:.1f} s", flush=True)
        con.close()


if __name__ == "__main__":
    main()
