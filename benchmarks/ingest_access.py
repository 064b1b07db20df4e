"""Access-log ingest including sealing, against DuckDB's own bare load of the same file.

The peer is `CREATE TABLE t AS SELECT * FROM read_json(FILE)` into a fresh DuckDB file: the least
work that gets the same file's rows onto disk, with DuckDB's parallel JSON reader. kansa does more:
line numbers, quarantine of bad lines, vocabulary checks, actor resolution, subjects, a content
digest, idempotency bookkeeping, and sealing every event into the RFC 6962 ledger, all in one
transaction per file. Each run is a fresh subprocess (so peak RSS is that run's own); wall time,
CPU time (user + system, all threads) and peak RSS are reported as the median of the runs, with
the load average, because this machine is shared.

    python -m benchmarks.ingest_access [--events 1000000] [--repeat 3] [--gzip] [--cases peer,kansa,lines]
                                       [--ocsf]

Cases: ``kansa`` is ``ingest_access_file`` (blocks read by DuckDB's read_json, odd blocks line by
line); ``lines`` is the same pipeline with every line parsed on its own by DuckDB
(``ACCESS_STAGE_SQL``, the fallback and the path before); ``peer`` is DuckDB's ``read_json``.
With ``--ocsf`` the log is OCSF Datastore Activity (6005) with the same content, ``kansa`` maps
its plain lines in SQL (ocsf_columnar.py) and ``lines`` is the record-by-record path before
(``ingest_chunks`` + ``read_ocsf``: ``json.loads`` and ``parse_ocsf`` per line).

The kansa child samples its own resident memory every second and reports the peak of each tenth
of its life, so a memory that grows with the file shows as a rising row.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ACTIONS = ("view", "view", "view", "search", "export", "update", "login")


def write_log(path: Path, events: int, seed: int = 1, packed: bool = False) -> None:
    """A synthetic access log in kansa's schema: 500 operators, 80 terminals, 1-2 subjects each."""
    rnd = random.Random(seed)
    opener = gzip.open if packed else open
    with opener(path, "wt", encoding="utf-8") as fh:  # type: ignore[operator]
        for i in range(events):
            rec = {
                "time": f"2024-03-{1 + i % 28:02d}T{(i // 60) % 24:02d}:{i % 60:02d}:{rnd.randrange(60):02d}.123+09:00",
                "actor": f"op{rnd.randrange(500):04d}", "action": ACTIONS[rnd.randrange(len(ACTIONS))],
                "resource": "cartax/taxpayer", "owner": "pref-osaka",
                "subjects": [f"T{rnd.randrange(10**7):07d}" for _ in range(1 + (i % 3 == 0))],
                "rows": 1, "purpose": "call", "ticket": "CAMP-pref-osaka-2024-03",
                "terminal": f"CC-OSK-{i % 80:03d}", "source_ip": f"10.20.4.{i % 250}", "outcome": "success",
                "bytes": 2048, "system": "callcenter",
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def write_ocsf_log(path: Path, events: int, seed: int = 1, packed: bool = False) -> None:
    """The same events as ``write_log`` as OCSF Datastore Activity records."""
    rnd = random.Random(seed)
    ids = {"view": 2, "search": 8, "export": 2, "update": 3, "login": 3}
    opener = gzip.open if packed else open
    with opener(path, "wt", encoding="utf-8") as fh:  # type: ignore[operator]
        for i in range(events):
            action = ACTIONS[rnd.randrange(len(ACTIONS))]
            rec = {
                "class_uid": 6005, "activity_id": ids[action], "activity_name": action.capitalize(),
                "time": 1_709_251_200_000 + i * 1000 + rnd.randrange(1000), "status_id": 1,
                "actor": {"user": {"name": f"op{rnd.randrange(500):04d}"}},
                "database": {"name": "cartax"}, "table": {"name": "taxpayer"},
                "src_endpoint": {"ip": f"10.20.4.{i % 250}", "hostname": f"CC-OSK-{i % 80:03d}"},
                "unmapped": {"owner": "pref-osaka", "rows": 1,
                             "subjects": [f"T{rnd.randrange(10**7):07d}" for _ in range(1 + (i % 3 == 0))]},
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


CHILD_KANSA = """
import sys, time, resource, json, threading
from pathlib import Path
from typing import Any
samples = []
def _sample():
    while True:
        with open("/proc/self/status") as fh:
            samples.append(next(int(l.split()[1]) // 1024 for l in fh if l.startswith("VmRSS")))
        time.sleep(1.0)
threading.Thread(target=_sample, daemon=True).start()
from kansa.model.workspace import init_workspace
from kansa.ingest import ingest_access_file, ingest_chunks, ingest_line_blocks
from kansa.ingest.access_jsonl import ACCESS_STAGE_SQL
from kansa.ingest.ocsf import looks_like_ocsf, read_ocsf
ws = init_workspace(sys.argv[2])
r0 = resource.getrusage(resource.RUSAGE_SELF); t = time.perf_counter()
if sys.argv[3] == "lines" and looks_like_ocsf(Path(sys.argv[1])):
    res = ingest_chunks(ws, Path(sys.argv[1]), "ocsf", read_ocsf).to_dict()
elif sys.argv[3] == "lines":
    res = ingest_line_blocks(ws, Path(sys.argv[1]), "access", ACCESS_STAGE_SQL).to_dict()
else:
    res = ingest_access_file(ws, Path(sys.argv[1]))
ws.close()
wall = time.perf_counter() - t; r1 = resource.getrusage(resource.RUSAGE_SELF)
tenths = [max(samples[len(samples) * i // 10:max(len(samples) * (i + 1) // 10, len(samples) * i // 10 + 1)])
          for i in range(10)] if samples else []
print(json.dumps({"wall": wall, "cpu": r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime,
                  "rss_mb": r1.ru_maxrss / 1024, "events": res["events"], "rss_by_tenth": tenths}))
"""

CHILD_DUCKDB = """
import sys, time, resource, json
import duckdb
con = duckdb.connect(sys.argv[2] + ".duckdb")
r0 = resource.getrusage(resource.RUSAGE_SELF); t = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_json(?)", [sys.argv[1]])
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
con.close()
wall = time.perf_counter() - t; r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": wall, "cpu": r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime,
                  "rss_mb": r1.ru_maxrss / 1024, "events": n}))
"""


def _run(child: str, log: Path, out: Path, case: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", child, str(log), str(out), case], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


LABELS = {
    "kansa": "kansa `ingest_access_file` (block parse, resolve, subjects, quarantine, seal)",
    "lines": "kansa, the path before (kansa schema: every line parsed by DuckDB, `ACCESS_STAGE_SQL`, the"
             " fallback; OCSF: `ingest_chunks` + `read_ocsf`, record by record)",
    "peer": "DuckDB `CREATE TABLE AS SELECT * FROM read_json` (peer)",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gzip", action="store_true", help="ingest a gzipped log (the peer reads it too)")
    ap.add_argument("--cases", default="peer,kansa,lines", help="comma-separated, of: " + ", ".join(LABELS))
    ap.add_argument("--ocsf", action="store_true", help="the log in OCSF (Datastore Activity) instead")
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    if not cases or any(c not in LABELS for c in cases):
        raise SystemExit(f"--cases: choose from {', '.join(LABELS)}")
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in cases}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        log = tmp / ("access.jsonl.gz" if args.gzip else "access.jsonl")
        (write_ocsf_log if args.ocsf else write_log)(log, args.events, packed=args.gzip)
        load = os.getloadavg()[0]
        for i in range(args.repeat):  # alternate, so that every case sees the same load on average
            for case in cases:
                child = CHILD_DUCKDB if case == "peer" else CHILD_KANSA
                runs[case].append(_run(child, log, tmp / f"{case}{i}", case))
        size_mb = log.stat().st_size / 2**20
    med = {c: {m: statistics.median(r[m] for r in rs) for m in ("wall", "cpu", "rss_mb")} for c, rs in runs.items()}
    assert all(r["events"] == args.events for rs in runs.values() for r in rs)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}; load average at start {load:.1f}, after {os.getloadavg()[0]:.1f}")
    print(f"command: python -m benchmarks.ingest_access --events {args.events} --repeat {args.repeat}"
          f"{' --gzip' if args.gzip else ''}{' --ocsf' if args.ocsf else ''} --cases {','.join(cases)}"
          f"  ({size_mb:.0f} MiB file)")
    print("| | wall s (median) | events/s | CPU s | events per CPU-s | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for case in cases:
        m = med[case]
        print(f"| {LABELS[case]} | {m['wall']:.2f} | {args.events / m['wall']:,.0f} | {m['cpu']:.2f} |"
              f" {args.events / m['cpu']:,.0f} | {m['rss_mb']:.0f} |")
    if "peer" in med:
        for case in cases:
            if case != "peer":
                print(f"ratio {case}/peer: wall {med[case]['wall'] / med['peer']['wall']:.2f}x, "
                      f"CPU {med[case]['cpu'] / med['peer']['cpu']:.2f}x")
    for case in cases:
        for i, r in enumerate(runs[case]):
            if "rss_by_tenth" in r:
                print(f"{case} run {i}: resident MiB, peak of each tenth of the child process (imports first):",
                      " ".join(str(v) for v in r["rss_by_tenth"]))
    print("raw runs:", json.dumps(runs))


if __name__ == "__main__":
    start = time.time()
    main()
    print(f"benchmark took {time.time() - start:.0f} s; peak RSS of this parent {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
