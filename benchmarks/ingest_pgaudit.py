"""Benchmark: PostgreSQL csvlog with pgaudit lines → sealed access events, against DuckDB's bare read_csv.

The log is synthetic but shaped like a call centre's database traffic: sessions of an
application role that look residents up by id with parameters (pgaudit.log_parameter), list
searches, campaign COPY exports and admin statements, each session wrapped in the
log_connections / log_disconnections lines. Statement texts repeat with new parameters, as they
do in real applications.

    python -m benchmarks.ingest_pgaudit [--events 300000] [--repeat 3] [--cases peer,columnar,line]
    python -m benchmarks.ingest_pgaudit --size-mb 2000 --cases columnar --repeat 1   # memory on a big file
    python -m benchmarks.ingest_pgaudit --events 1000000 --copies 11 --cases columnar --repeat 1  # ~3 GB, fast to write

--copies K writes the --events log once and then K times over with the session ids renamed per copy
(the generator is pure Python and slow; a copy is a regular-expression pass), so a log of several
GB takes minutes to make. The child samples its own resident memory every second, and reports it
at each tenth of its life, so a memory that grows with the file shows as a rising row.

Each run is a fresh subprocess (its peak RSS is its own); wall, CPU (user + system, all threads,
from getrusage) and peak RSS are the medians of --repeat runs, cases alternated so that each sees
the same load on average. Cases:
  columnar  ingest_pgaudit_file: the columnar csvlog path, events + subjects + actors + the ledger seal,
            one transaction, into a fresh workspace file
  line      the same through the line reader (ingest_chunks + pgaudit_reader): the path before the
            columnar one, kept as the fallback
  peer      DuckDB CREATE TABLE AS SELECT * FROM read_csv(FILE), all 26 columns VARCHAR, into a fresh
            DuckDB file
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kansa.model.formats import CSVLOG_COLUMNS

STATEMENTS = [
    ("READ", "SELECT", "cc.residents", "SELECT name, address, phone FROM cc.residents WHERE resident_id = $1", 1),
    ("READ", "SELECT", "cc.taxpayer", "SELECT * FROM cc.taxpayer WHERE taxpayer_no = $1 AND year = $2", 2),
    ("READ", "SELECT", "cc.residents", "SELECT resident_id, name FROM cc.residents WHERE kana LIKE $1", 1),
    ("WRITE", "UPDATE", "cc.contacts", "UPDATE cc.contacts SET note = $2 WHERE resident_id = $1", 2),
    ("READ", "SELECT", "cc.residents", "SELECT * FROM cc.residents r WHERE r.city = 'Sakai'", 0),
    ("READ", "COPY", "cc.residents", "COPY (SELECT * FROM cc.residents) TO STDOUT WITH CSV", 0),
]


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def write_log(path: Path, events: int, seed: int = 7) -> int:
    """Write a csvlog with about ``events`` access events; returns the number written."""
    rng = random.Random(seed)
    t = datetime(2024, 4, 1, 9, 0, 0)
    written = 0
    session = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        def line(user: str, conn: str, sid: str, n: int, tag: str, vxid: str, msg: str, ts: datetime) -> None:
            stamp = ts.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d} JST"
            cols = [stamp, user, "callcenter", "4242", conn, sid, str(n), tag, stamp[:19] + " JST", vxid, "0",
                    "LOG", "00000", msg, "", "", "", "", "", "", "", "", "app", "client backend", "", "0"]
            assert len(cols) == len(CSVLOG_COLUMNS)
            fh.write(",".join(_q(c) for c in cols) + "\n")

        while written < events:
            session += 1
            user = f"op{rng.randint(1, 60):03d}"
            addr = f"10.20.{rng.randint(1, 9)}.{rng.randint(2, 250)}"
            conn, sid = f"{addr}:{rng.randint(40000, 65000)}", f"66{session:06x}.{session % 65536:x}"
            start = t
            line(user, conn, sid, 1, "authentication", "3/1", f"connection authorized: user={user} database=callcenter"
                 " application_name=app", t)
            written += 1
            n = 1
            for k in range(rng.randint(20, 80)):
                cls, cmd, obj, sql, nparams = rng.choice(STATEMENTS)
                params = ",".join(f"R{rng.randint(1, 500000):07d}" for _ in range(nparams)) or "<none>"
                t += timedelta(milliseconds=rng.randint(200, 4000))
                n += 1
                line(user, conn, sid, n, cmd, f"3/{n}", f"AUDIT: SESSION,{k + 1},1,{cls},{cmd},TABLE,{obj},"
                     f"{_q(sql)},{params}", t)
                written += 1
            n += 1
            line(user, conn, sid, n, "idle", "", f"disconnection: session time: {t - start} user={user}"
                 f" database=callcenter host={addr} port=5", t)
            written += 1
    return written


def copy_log(base: Path, path: Path, copies: int) -> int:
    """``copies`` copies of ``base`` in one file, each copy's session ids renamed (``66…`` → ``g6…``,
    ``h6…``, ...) so that no two copies share a session; returns the number of lines."""
    data = base.read_bytes()
    pattern = re.compile(rb",66([0-9a-f]{6}\.)")
    with path.open("wb") as fh:
        for k in range(copies):
            prefix = f",{chr(ord('g') + k % 20)}{k // 20}6".encode()
            fh.write(pattern.sub(prefix + rb"\1", data))
    return data.count(b"\n") * copies


_CHILD_PRELUDE = """
import sys, time, resource, json, threading
from pathlib import Path
from typing import Any
log, out = Path(sys.argv[1]), sys.argv[2]
samples = []
def _sample():
    while True:
        with open("/proc/self/status") as fh:
            samples.append(next(int(l.split()[1]) // 1024 for l in fh if l.startswith("VmRSS")))
        time.sleep(1.0)
threading.Thread(target=_sample, daemon=True).start()
"""
_CHILD_END = """
wall = time.perf_counter() - t; r1 = resource.getrusage(resource.RUSAGE_SELF)
tenths = [max(samples[len(samples) * i // 10:max(len(samples) * (i + 1) // 10, len(samples) * i // 10 + 1)])
          for i in range(10)] if samples else []
print(json.dumps({"wall": wall, "cpu": r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime,
                  "rss_mb": r1.ru_maxrss / 1024, "events": events, "rss_by_tenth": tenths}))
"""
CHILDREN = {
    "columnar": """
from kansa.model.workspace import init_workspace
from kansa.ingest import ingest_pgaudit_file
import kansa.ingest.pgaudit_stage  # imported before the clock starts, as the line case's reader is
ws = init_workspace(out)
r0 = resource.getrusage(resource.RUSAGE_SELF); t = time.perf_counter()
events = ingest_pgaudit_file(ws, log)["events"]
ws.close()
""",
    "line": """
from kansa.model.workspace import init_workspace
from kansa.ingest.pipeline import ingest_chunks
from kansa.ingest.pgaudit import pgaudit_reader
ws = init_workspace(out)
r0 = resource.getrusage(resource.RUSAGE_SELF); t = time.perf_counter()
events = ingest_chunks(ws, log, "pgaudit", pgaudit_reader(ws)).events
ws.close()
""",
    "peer": """
import duckdb
from kansa.model.formats import CSVLOG_COLUMNS
con = duckdb.connect(out + ".duckdb")
r0 = resource.getrusage(resource.RUSAGE_SELF); t = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, columns = ?, header = false)",
            [str(log), {c: "VARCHAR" for c in CSVLOG_COLUMNS}])
events = con.execute("SELECT count(*) FROM t").fetchone()[0]
con.close()
""",
}


def _run(case: str, log: Path, out: Path) -> dict[str, Any]:
    child = _CHILD_PRELUDE + CHILDREN[case] + _CHILD_END
    done = subprocess.run([sys.executable, "-c", child, str(log), str(out)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{case} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--size-mb", type=int, default=0, help="instead of --events: a log of about this many MB")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", default="peer,columnar,line")
    ap.add_argument("--tmp", default=None, help="where to write the log and the workspaces (default: $TMPDIR)")
    ap.add_argument("--log", default=None, help="ingest this existing csvlog instead of writing one")
    ap.add_argument("--copies", type=int, default=1, help="the --events log this many times, session ids renamed")
    args = ap.parse_args()
    cases = args.cases.split(",")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="kansa-bench-pg-", dir=args.tmp) as d:
        tmp = Path(d)
        log = tmp / "postgresql.csv"
        events = args.events if not args.size_mb else int(args.size_mb * 1e6 / 284)  # ~284 bytes a line
        if args.log:
            log = Path(args.log)
            with log.open("rb") as fh:
                n = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b""))
        else:
            n = write_log(log, events)
        if args.copies > 1 and not args.log:
            base = tmp / "base.csv"
            log.rename(base)
            n = copy_log(base, log, args.copies)
            base.unlink()
        size_mb = log.stat().st_size / 1e6
        load = os.getloadavg()
        runs: dict[str, list[dict[str, Any]]] = {c: [] for c in cases}
        for i in range(args.repeat):
            for case in cases:
                runs[case].append(_run(case, log, tmp / f"{case}{i}"))
                for leftover in tmp.glob(f"{case}{i}*"):
                    _remove(leftover)
        load_after = os.getloadavg()
    med = {c: {m: statistics.median(r[m] for r in rs) for m in ("wall", "cpu", "rss_mb")} for c, rs in runs.items()}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()},"
          f" Python {platform.python_version()}; load average (1, 5, 15 min) at start {load[0]:.1f} {load[1]:.1f}"
          f" {load[2]:.1f}, at end {load_after[0]:.1f} {load_after[1]:.1f} {load_after[2]:.1f}")
    print(f"command: python -m benchmarks.ingest_pgaudit {' '.join(sys.argv[1:])}")
    print(f"log: {n:,} lines, {size_mb:,.1f} MB csvlog; events ingested: "
          + ", ".join(f"{c} {int(runs[c][0]['events']):,}" for c in cases))
    print("| case | wall s | CPU s | lines/s (wall) | lines per CPU-s | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for c in cases:
        m = med[c]
        print(f"| {c} | {m['wall']:.2f} | {m['cpu']:.2f} | {n / m['wall']:,.0f} | {n / m['cpu']:,.0f}"
              f" | {m['rss_mb']:.0f} |")
    if "peer" in med:
        for c in cases:
            if c != "peer":
                print(f"ratio {c}/peer: wall {med[c]['wall'] / med['peer']['wall']:.2f}x,"
                      f" CPU {med[c]['cpu'] / med['peer']['cpu']:.2f}x")
    for c in cases:
        for i, r in enumerate(runs[c]):
            if r.get("rss_by_tenth"):
                print(f"{c} run {i}: resident MiB, peak of each tenth of the child process (imports first):",
                      " ".join(str(v) for v in r["rss_by_tenth"]))
    print("raw runs:", json.dumps(runs))
    print(f"benchmark took {time.time() - started:.0f} s")


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
