"""Trace on a simulated world: every leaked row back to its true owner record, and the bulk
exporter ranked first even though his exports named no subjects."""

from __future__ import annotations

import csv
from pathlib import Path

from kansa.ingest import ingest_world
from kansa.model.workspace import Workspace
from kansa.simulate import simulate
from kansa.trace import index_world_datasets, trace_file


def test_simulated_leaks_trace_to_true_records(ws: Workspace, tmp_path: Path) -> None:
    world = tmp_path / "world"
    simulate("ntt-west", 3, world, days=20, scale=0.1)
    ingest_world(ws, world)
    index_world_datasets(ws, world)
    leaks = sorted(p for p in (world / "leaks").glob("*.csv") if not p.name.endswith(".truth.csv"))
    assert leaks
    for leak in leaks:
        report = trace_file(ws, leak)
        truth_file = leak.with_name(leak.stem + ".truth.csv")
        with truth_file.open(encoding="utf-8") as fh:
            truth = list(csv.DictReader(fh))
        # rows the simulator made unattributable (no owner) must stay unmatched
        want = {(int(r["row"]) + 1, r["owner"], r["record_id"]) for r in truth if r["owner"]}
        orphans = {int(r["row"]) + 1 for r in truth if not r["owner"]}
        got = {(m["line"], m["owner"], m["subject_id"]) for m in report["matches"]}
        assert len(got & want) >= 0.95 * len(want)
        assert len(got - want) <= 0.02 * len(want)
        assert len(orphans & {m["line"] for m in report["matches"]}) <= 0.1 * max(1, len(orphans))
        bad = {a["actor"] for a in report["actors"][:2]}
        assert any(a.startswith("mt") for a in bad), report["actors"][:3]
