"""The parse step of access ingest alone, the two ways: DuckDB's read_json per block against
DuckDB's ``json_transform`` per line, on the same file, in alternation.

The whole-ingest benchmark (benchmarks/ingest_access.py) spends most of its CPU in writing,
indexing and sealing, which both ways share; on a loaded machine its spread hides a change to the
parse. Here each run drains the staged blocks of the file (read, digest, split, parse, check, map,
unnest subjects) in a fresh process with no workspace, and reports its CPU seconds (all threads).

    python -m benchmarks.ingest_access_stage [--events 300000] [--repeat 5] [--ocsf]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.ingest_access import write_log, write_ocsf_log

CHILD = """
import hashlib, json, resource, sys, time
from pathlib import Path
from kansa.ingest.access_columnar import access_stage
from kansa.ingest.access_jsonl import ACCESS_STAGE_SQL
from kansa.ingest.blocks import staged_blocks
from kansa.ingest.ocsf import read_ocsf
from kansa.ingest.ocsf_columnar import ocsf_stage
path, case = Path(sys.argv[1]), sys.argv[2]
r0 = resource.getrusage(resource.RUSAGE_SELF); t = time.perf_counter()
if case == "read_json":
    items = access_stage(path, "Asia/Tokyo")(0, 0, hashlib.sha256())
elif case == "lines":
    items = staged_blocks(path, ACCESS_STAGE_SQL, hasher=hashlib.sha256(), timezone="Asia/Tokyo")
elif case == "ocsf-sql":
    items = ocsf_stage(path)(0, 0, hashlib.sha256())
else:
    items = read_ocsf(path)
rows = 0
for b in items:
    rows += len(b.good) if hasattr(b, "good") else len(b.access)
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": rows, "wall": time.perf_counter() - t,
                  "cpu": r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime}))
"""


def _run(path: Path, case: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), case], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ocsf", action="store_true", help="an OCSF log: SQL for plain lines against read_ocsf")
    args = ap.parse_args()
    cases = ("ocsf-sql", "ocsf-python") if args.ocsf else ("read_json", "lines")
    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "access.jsonl"
        (write_ocsf_log if args.ocsf else write_log)(log, args.events)
        load = os.getloadavg()
        runs: dict[str, list[dict[str, Any]]] = {c: [] for c in cases}
        for _ in range(args.repeat):
            for case in cases:
                runs[case].append(_run(log, case))
        size_mb = log.stat().st_size / 2**20
    assert all(r["rows"] == args.events for rs in runs.values() for r in rs)
    print(f"command: python -m benchmarks.ingest_access_stage --events {args.events} --repeat {args.repeat}"
          f"{' --ocsf' if args.ocsf else ''} ({size_mb:.0f} MiB); load average at start"
          f" {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}, after {os.getloadavg()[0]:.1f}")
    for case in cases:
        cpu = [r["cpu"] for r in runs[case]]
        print(f"{case}: CPU s median {statistics.median(cpu):.2f} (runs {' '.join(f'{c:.2f}' for c in cpu)}),"
              f" wall median {statistics.median(r['wall'] for r in runs[case]):.2f}")


if __name__ == "__main__":
    main()
