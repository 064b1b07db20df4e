"""Simulator throughput and peak memory at a large ``--scale``, next to a peer.

Why: issue #2 asks for worlds of up to 50 million access events in bounded memory. Each run is a
separate process under ``/usr/bin/time -v`` (peak RSS is per process). The peer is the nearest
plain job: a process that only serialises and gzips the same number of JSON lines and CSV lines
(no decisions, no people, no sorting), so the ratio says what the simulation itself costs.

    python -m benchmarks.simulate_scale --scale 25 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_PEER = r"""
import csv, gzip, io, json, sys
n_app, n_db, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ev = {"time": "2024-03-04T10:15:02.123+09:00", "actor": "op0123", "action": "view",
      "resource": "pref_osaka/taxpayer", "owner": "pref_osaka", "subjects": ["P010000123"], "rows": 1,
      "purpose": "call", "ticket": "CAMP-pref_osaka-20240301", "terminal": "CC-PC-041",
      "source_ip": "10.20.4.41", "outcome": "success", "bytes": 2048, "system": "callcenter"}
row = ["2024-03-04 10:15:02.123 JST", "cc_app", "callcenter", 21000, "10.20.0.10:50000", "65e.5208", 12,
       "SELECT", "2024-03-04 08:30:00 JST", "3/12", 0, "LOG", "00000",
       "AUDIT: SESSION,11,1,READ,SELECT,TABLE,pref_osaka.taxpayer,SELECT * FROM pref_osaka.taxpayer WHERE id = $1,P010000123",
       "", "", "", "", "", "", "", "", "callcenter-app", "client backend", "", ""]
with gzip.GzipFile(out + ".jsonl.gz", "wb", mtime=0) as gz:
    for k in range(0, n_app, 20000):
        gz.write("".join(json.dumps(ev, ensure_ascii=False, separators=(",", ":")) + "\n"
                         for _ in range(min(20000, n_app - k))).encode())
with gzip.GzipFile(out + ".csv.gz", "wb", mtime=0) as gz:
    for k in range(0, n_db, 20000):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for _ in range(min(20000, n_db - k)):
            w.writerow(row)
        gz.write(buf.getvalue().encode())
"""


def _timed(cmd: list[str]) -> tuple[float, int, str]:
    """(elapsed seconds, peak RSS KiB, stdout) of one process under /usr/bin/time -v."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    assert wall and rss, proc.stderr
    parts = [float(x) for x in wall.group(1).split(":")]
    seconds = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    return seconds, int(rss.group(1)), proc.stdout


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="ntt-west")
    ap.add_argument("--scale", type=float, default=25.0)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    kansa = str(Path(sys.executable).with_name("kansa"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            out = Path(tmp) / "world"
            shutil.rmtree(out, ignore_errors=True)
            cmd = [kansa, "simulate", args.scenario, "--seed", "7", "--out", str(out), "--scale", str(args.scale),
                   "--days", str(args.days), "--json"]
            secs, rss, stdout = _timed(cmd)
            summary = json.loads(stdout)
            size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
            peer_s, peer_rss, _ = _timed([sys.executable, "-c", _PEER, str(summary["app_events"]),
                                          str(summary["db_lines"]), str(Path(tmp) / "peer")])
            rows.append((secs, rss, summary, size, peer_s, peer_rss))
    secs = statistics.median(r[0] for r in rows)
    peak = statistics.median(r[1] for r in rows)
    summary = rows[0][2]
    access = summary["app_events"] + summary["db_lines"]
    peer_s = statistics.median(r[4] for r in rows)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"command: kansa simulate {args.scenario} --seed 7 --scale {args.scale} --days {args.days}  "
          f"(median of {args.repeat})")
    print("| case | median s | access events | events/s | peak RSS MiB | output MiB |")
    print("|---|---|---|---|---|---|")
    print(f"| kansa simulate | {secs:.1f} | {access:,} | {access / secs:,.0f} | {peak / 1024:.0f} | "
          f"{rows[0][3] / 2**20:.0f} |")
    print(f"| peer: json/csv + gzip of as many lines | {peer_s:.1f} | {access:,} | {access / peer_s:,.0f} | "
          f"{statistics.median(r[5] for r in rows) / 1024:.0f} | |")
    print(f"runs (s): {[round(r[0], 1) for r in rows]}; peer runs (s): {[round(r[4], 1) for r in rows]}")


if __name__ == "__main__":
    main()
