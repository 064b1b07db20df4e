"""Simulator throughput and peak memory at a large ``--scale``, next to a peer.

Why: issue #2 asks for worlds of up to 50 million access events in bounded memory. Each run is a
separate process under ``/usr/bin/time -v`` (peak RSS is per process). The peer is the nearest
plain job: a process that only serialises and gzips the same number of JSON lines and CSV lines
(no decisions, no people, no sorting), so the ratio says what the simulation itself costs.

    python -m benchmarks.simulate_scale --scale 10 100 --repeat 3

CPU seconds (user + system, from the same ``time -v``) are reported beside wall seconds: the
machine is shared, and wall time says more about the neighbours than about kansa.
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
from typing import NamedTuple

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


class Run(NamedTuple):
    wall: float      # seconds
    cpu: float       # user + system seconds
    rss_kib: int     # peak resident set size
    stdout: str


def _timed(cmd: list[str]) -> Run:
    """Wall and CPU seconds, peak RSS and stdout of one process under /usr/bin/time -v."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    user = re.search(r"User time \(seconds\): (\S+)", proc.stderr)
    system = re.search(r"System time \(seconds\): (\S+)", proc.stderr)
    assert wall and rss and user and system, proc.stderr
    parts = [float(x) for x in wall.group(1).split(":")]
    seconds = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    return Run(seconds, float(user.group(1)) + float(system.group(1)), int(rss.group(1)), proc.stdout)


def _measure(args: argparse.Namespace, scale: float, tmp: Path) -> list[str]:
    """Table rows for one scale: kansa simulate and the peer, medians of ``--repeat`` runs."""
    kansa = str(Path(sys.executable).with_name("kansa"))
    runs: list[tuple[Run, Run, dict[str, int], int]] = []
    for _ in range(args.repeat):
        out = tmp / "world"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [kansa, "simulate", args.scenario, "--seed", "7", "--out", str(out), "--scale", str(scale),
               "--days", str(args.days), "--json"]
        sim = _timed(cmd)
        summary = json.loads(sim.stdout)
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        shutil.rmtree(out, ignore_errors=True)   # a 50 M-event world is gigabytes
        peer = _timed([sys.executable, "-c", _PEER, str(summary["app_events"]), str(summary["db_lines"]),
                       str(tmp / "peer")])
        for f in tmp.glob("peer.*"):
            f.unlink()
        runs.append((sim, peer, summary, size))
    summary = runs[0][2]
    access = summary["app_events"] + summary["db_lines"]

    def med(values: list[float]) -> float:
        return statistics.median(values)

    sim_wall, sim_cpu = med([r[0].wall for r in runs]), med([r[0].cpu for r in runs])
    peer_wall, peer_cpu = med([r[1].wall for r in runs]), med([r[1].cpu for r in runs])
    return [
        f"| kansa simulate --scale {scale:g} --days {args.days} | {access:,} | {sim_cpu:.0f} | {sim_wall:.0f} | "
        f"{access / sim_cpu:,.0f} | {med([r[0].rss_kib for r in runs]) / 1024:.0f} | "
        f"{runs[0][3] / 2**20:,.0f} |",
        f"| peer: json/csv + gzip of as many lines | {access:,} | {peer_cpu:.0f} | {peer_wall:.0f} | "
        f"{access / peer_cpu:,.0f} | {med([r[1].rss_kib for r in runs]) / 1024:.0f} | |",
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="ntt-west")
    ap.add_argument("--scale", type=float, nargs="+", default=[10.0])
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    rows: list[str] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scale:
            rows += _measure(args, scale, Path(tmp))
            print(rows[-2], flush=True, file=sys.stderr)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"command: python -m benchmarks.simulate_scale --scenario {args.scenario} "
          f"--scale {' '.join(f'{s:g}' for s in args.scale)} --days {args.days} --repeat {args.repeat} "
          f"(medians of {args.repeat}; seed 7)")
    print("| case | access events | CPU s | wall s | events per CPU s | peak RSS MiB | output MiB |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
