"""Where sealing's CPU goes, step by step, as ingest seals: inside one transaction over fresh rows.

N synthetic access events (the rows of benchmarks/ledger_synthetic.py, 1 to ``--subjects-max``
subjects each) are written in a transaction, sealed with ``seal_range`` in blocks of
``--block`` and ``seal_pending`` (as ingest does at the end of a file), and committed. Each step's
process CPU seconds (all threads) are summed over the run; the peer is the same transaction
without sealing, so ``commit`` minus the peer's commit is what the leaves add to the commit.
``verify`` is then timed on the sealed workspace (outside the total).
Medians of ``--repeat`` runs, each on a fresh workspace. The ledger's internal functions are
wrapped by name, so the script also runs against an older kansa (``PYTHONPATH=<old>/src``) as
long as those names exist there.

    python -m benchmarks.ledger_seal_steps [--events 100000] [--subjects-max 2] [--block 65536] [--repeat 3]
    python -m benchmarks.ledger_seal_steps --rows pgaudit [--events 100000]

``--rows pgaudit``: instead of the synthetic rows, the access events and subjects that ingesting
the csvlog of benchmarks/ingest_pgaudit.py gives (ingested once, unsealed, then copied into each
run's transaction): wider rows, most with a ``columns`` list and 0 to 2 subjects.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kansa
import kansa.ledger.seal as seal
from benchmarks.ledger_synthetic import FILL, FILL_SUBJECTS
from kansa.ledger import ensure_ledger, merkle, seal_pending, seal_range, store, verify
from kansa.model.workspace import init_workspace

SPENT: dict[str, float] = defaultdict(float)


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        cpu = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.process_time() - cpu

    return run


def _instrument() -> None:
    store.event_leaves = _timed("frame + leaf hashes (event_leaves)", store.event_leaves)  # type: ignore[method-assign]
    seal._insert_leaves = _timed("insert leaves", seal._insert_leaves)  # type: ignore[attr-defined]
    merkle.Frontier.extend = _timed("inner nodes (Frontier.extend)", merkle.Frontier.extend)  # type: ignore[method-assign]
    store.save_frontier = _timed("save frontier", store.save_frontier)  # type: ignore[method-assign]


def _pgaudit_rows(root: Path, events: int) -> Path:
    """A workspace database holding the pgaudit benchmark's events, ingested without sealing."""
    import kansa.ingest.pipeline as pipeline
    from benchmarks.ingest_pgaudit import write_log
    from kansa.ingest import ingest_pgaudit_file

    log = root / "pg.csv"
    write_log(log, events)
    real = pipeline.seal_range, pipeline.seal_pending
    pipeline.seal_range = pipeline.seal_pending = lambda *_a, **_k: {}  # type: ignore[assignment]
    try:
        with init_workspace(root / "rows") as ws:
            ingest_pgaudit_file(ws, log)
    finally:
        pipeline.seal_range, pipeline.seal_pending = real
    return root / "rows" / "kansa.duckdb"


def _one(root: Path, args: argparse.Namespace, sealing: bool, rows: Path | None = None) -> dict[str, float]:
    SPENT.clear()
    with init_workspace(root) as ws:
        ensure_ledger(ws)
        con = ws.con
        if rows is not None:
            # read, then detached before the run: an attached access_events would be a second
            # table of that name in the session (kansa before 2026-12-02 framed its columns too)
            con.execute(f"ATTACH '{rows}' AS rows_src (READ_ONLY)")
            events = con.sql("SELECT * FROM rows_src.access_events").to_arrow_table()
            subjects = con.sql("SELECT * FROM rows_src.access_subjects").to_arrow_table()
            con.execute("DETACH rows_src")
            args.events = events.num_rows  # ids 0.. in order, as ingest hands them out
        con.begin()
        if rows is None:
            con.execute(FILL, [args.events])
            con.execute(FILL_SUBJECTS, [args.subjects_max, args.events])
        else:
            con.register("_rows_events", events)
            con.register("_rows_subjects", subjects)
            con.execute("INSERT INTO access_events SELECT * FROM _rows_events")
            con.execute("INSERT INTO access_subjects SELECT * FROM _rows_subjects")
            con.unregister("_rows_events")
            con.unregister("_rows_subjects")
        start = time.process_time()
        if sealing:
            for first in range(0, args.events, args.block):
                _timed("seal_range", seal_range)(ws, "access", first, min(first + args.block, args.events) - 1)
            _timed("seal_pending (signs the head)", seal_pending)(ws, in_transaction=True)
        _timed("commit", con.commit)()
        SPENT["total"] = time.process_time() - start
        spent = dict(SPENT)
        if sealing:  # apart from the steps: what `kansa ledger verify` then costs on these events
            cpu = time.process_time()
            verify(ws)
            spent["verify (after the commit)"] = time.process_time() - cpu
    return spent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--subjects-max", type=int, default=2)
    ap.add_argument("--block", type=int, default=65_536, help="events per seal_range call")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rows", choices=("synthetic", "pgaudit"), default="synthetic")
    args = ap.parse_args()
    _instrument()
    load = os.getloadavg()
    runs: dict[str, list[dict[str, float]]] = {"sealed": [], "peer": []}
    with tempfile.TemporaryDirectory() as d:
        rows = _pgaudit_rows(Path(d), args.events) if args.rows == "pgaudit" else None
        _one(Path(d) / "warm", argparse.Namespace(**{**vars(args), "events": 1000}), True)  # first imports
        for i in range(args.repeat):
            runs["sealed"].append(_one(Path(d) / f"s{i}", args, True, rows))
            runs["peer"].append(_one(Path(d) / f"p{i}", args, False, rows))
    print(
        f"kansa from {Path(kansa.__file__).parent}; load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n"
        f"command: python -m benchmarks.ledger_seal_steps --rows {args.rows} --events {args.events}"
        f" --subjects-max {args.subjects_max}"
        f" --block {args.block} --repeat {args.repeat}\n"
        "CPU seconds, medians (steps inside seal_range are part of it)"
    )
    for case, got in runs.items():
        for name in got[0]:
            print(f"{case:7s} {name:38s} {statistics.median(r.get(name, 0.0) for r in got):6.3f}")


if __name__ == "__main__":
    main()
