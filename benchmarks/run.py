"""Benchmarks: kansa's pipeline steps against a peer doing the nearest plain job, same run.

Why a peer: an absolute number on one machine says little; "kansa ingests at 0.4x the speed of
DuckDB reading the same JSON" says what kansa's own work (actor resolution, quarantine, digests,
the ledger) costs. Each case runs several times; the median is reported with the machine.

    python -m benchmarks.run [--repeat 5] [--out docs/benchmarks-latest.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _world(tmp: Path) -> Path:
    from kansa.simulate import simulate

    world = tmp / "world"
    if not world.exists():
        simulate("ntt-west", 7, world)
    return world


def _kansa_ingest(tmp: Path) -> object:
    import shutil

    from kansa.ingest import ingest_world
    from kansa.model.workspace import init_workspace

    root = tmp / "ws"
    shutil.rmtree(root, ignore_errors=True)
    ws = init_workspace(root)
    try:
        return ingest_world(ws, _world(tmp))
    finally:
        ws.close()


def _duckdb_read(tmp: Path) -> object:
    import duckdb

    files = sorted(str(p) for p in (_world(tmp) / "logs" / "app").glob("*.jsonl*"))
    con = duckdb.connect()
    return con.execute("SELECT count(*) FROM read_json_auto(?)", [files]).fetchone()


def _kansa_seal(tmp: Path) -> object:
    from kansa.ledger import seal_pending
    from kansa.model.workspace import open_workspace

    _kansa_ingest(tmp)
    ws = open_workspace(tmp / "ws")
    try:
        return seal_pending(ws)
    finally:
        ws.close()


def _hash_rows(tmp: Path) -> object:
    import hashlib

    import duckdb

    con = duckdb.connect(str(tmp / "ws" / "kansa.duckdb"), read_only=True)
    h = hashlib.sha256()
    for row in con.execute("SELECT * FROM access_events ORDER BY event_id").fetchall():
        h.update(repr(row).encode())
    return h.hexdigest()


CASES: list[tuple[str, str, Callable[[Path], object], str, Callable[[Path], object]]] = [
    (
        "ingest world (app+db+endpoint logs)",
        "kansa ingest_world",
        _kansa_ingest,
        "DuckDB read_json_auto count of the app logs only",
        _duckdb_read,
    ),
    (
        "ledger seal (ingest + seal)",
        "kansa ingest_world + seal_pending",
        _kansa_seal,
        "sha256 over every access row, no tree (after the same ingest)",
        _hash_rows,
    ),
]


def _median(fn: Callable[[Path], object], tmp: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(tmp)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}",
        f"command: python -m benchmarks.run --repeat {args.repeat}",
        "",
        "| case | kansa | median s | peer | median s |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _world(tmp)
        for case, name, fn, peer_name, peer in CASES:
            try:
                ours = _median(fn, tmp, args.repeat)
                theirs = _median(peer, tmp, args.repeat)
            except (ImportError, AttributeError) as exc:
                lines.append(f"| {case} | {name} | not available ({exc}) | {peer_name} | |")
                continue
            lines.append(f"| {case} | {name} | {ours:.3f} | {peer_name} | {theirs:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
