"""Benchmark: PostgreSQL csvlog with pgaudit lines → access events, against DuckDB's bare read_csv.

The log is synthetic but shaped like a call centre's database traffic: sessions of an
application role that look residents up by id with parameters (pgaudit.log_parameter), list
searches, campaign COPY exports and admin statements, each session wrapped in the
log_connections / log_disconnections lines. Statement texts repeat with new parameters, as they
do in real applications.

    python -m benchmarks.ingest_pgaudit [--events 300000] [--repeat 3]

Cases (median of --repeat runs, same file, same process):
  reader   read_pgaudit alone (parse + SQL mapping), records counted
  ingest   ingest_pgaudit_file into a fresh workspace (events, subjects, actors, quarantine)
  seal     ingest + kansa.ledger.seal_pending (a no-op when the pipeline already sealed)
  peer     DuckDB read_csv of the same file into a table, all 26 columns as VARCHAR
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

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


def _median(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``repeat`` runs (CPU time of this process: on a shared
    machine it moves less with the neighbours' load than the wall clock does)."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", default="peer,reader,ingest,seal")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kansa-bench-pg-"))
    try:
        log = tmp / "postgresql.csv"
        n = write_log(log, args.events)
        print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()};"
              f" {n} events, {log.stat().st_size / 1e6:.1f} MB csvlog")

        def peer() -> object:
            import duckdb

            con = duckdb.connect()
            cols = {c: "VARCHAR" for c in CSVLOG_COLUMNS}
            con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, columns = ?, header = false)", [str(log), cols])
            return con.execute("SELECT count(*) FROM t").fetchone()

        def reader() -> object:
            from kansa.ingest.pgaudit import read_pgaudit

            return sum(len(c.access) for c in read_pgaudit(log))

        def ingest(seal: bool = False) -> object:
            from kansa.ingest import ingest_pgaudit_file
            from kansa.model.workspace import init_workspace

            root = tmp / "ws"
            shutil.rmtree(root, ignore_errors=True)
            with init_workspace(root) as ws:
                r = ingest_pgaudit_file(ws, log)
                if seal:
                    from kansa.ledger import seal_pending

                    seal_pending(ws)
                return r["events"]

        cases: dict[str, Callable[[], object]] = {
            "peer": peer, "reader": reader, "ingest": ingest, "seal": lambda: ingest(seal=True)}
        for name in args.cases.split(","):
            secs, cpu, out = _median(cases[name], args.repeat)
            print(f"{name:8s} median {secs:7.2f} s wall {cpu:7.2f} s cpu  {n / secs:10,.0f} events/s"
                  f" (result {out})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
