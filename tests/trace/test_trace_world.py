"""Trace on simulated worlds (issue #5 quality targets): the broker's damaged lists back to their
true owner records — ≥ 99.5 % of rows to the right owner and dataset, pairwise F1 ≥ 0.99, the
broker's rows from other sources left unattributed — and the insider as the top suspect, on
several seeds and also for a list whose pulls left no audit line.

Per leak the lists are small (40–140 rows), so the rate is also pooled over every leak of every
world a test traces: one wrong row in a 60-row list is 98.3 %, and the target is stated over
records, not per list."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from kansa.ingest import ingest_world
from kansa.model.workspace import Workspace
from kansa.simulate import simulate
from kansa.trace import index_world_datasets, trace_file


def _truth(leak: Path) -> dict[int, tuple[str, str]]:
    with leak.with_name(leak.stem + ".truth.csv").open(encoding="utf-8") as fh:
        return {int(r["row"]): (r["owner"], r["record_id"]) for r in csv.DictReader(fh)}


def _datasets_of(world: Path) -> dict[str, set[str]]:
    """Owner → the dataset names it registered (the truth names the owner and record only)."""
    manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
    out: dict[str, set[str]] = {}
    for f in manifest["files"]:
        if f.get("kind") == "dataset":
            out.setdefault(f["owner"], set()).add(f["name"])
    return out


def _world_with_unlogged_leak(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The first seed whose world has a list made only of pulls that left no audit line (the
    hardest case for suspects); which seed that is depends on the simulator, not on this test."""
    for seed in range(1, 11):
        world = tmp_path / f"world-{seed}"
        simulate("ntt-west", seed, world, days=40, scale=0.3)
        truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
        unlogged = {p["owner"] for p in truth.get("pulls", []) if not p.get("logged", True)}
        if any(set(leak["owners"]) <= unlogged for leak in truth["leaks"]):
            return world, truth
    raise AssertionError("no seed in 1..10 gives a leak from unlogged pulls only")


def _trace_world(ws: Workspace, world: Path, truth: dict[str, Any]) -> tuple[int, int]:
    """Trace every leak of the world; assert per-list F1 and the top suspect; return (rows with
    the right owner, dataset and record — or rightly none, rows) over all its leaks."""
    insider = truth["bad_actors"][0]["actor"]
    datasets = _datasets_of(world)
    ingest_world(ws, world)
    index_world_datasets(ws, world)
    leaks = sorted(p for p in (world / "leaks").glob("*.csv") if not p.name.endswith(".truth.csv"))
    assert leaks
    right = total = 0
    for leak in leaks:
        report = trace_file(ws, leak)
        want = _truth(leak)
        with open(report["per_record"], encoding="utf-8") as fh:
            got = {int(r["row"]): (r["owner"], r["dataset"], r["record_id"]) for r in csv.DictReader(fh)}
        assert set(got) == set(want)
        for row, (owner, rec) in want.items():
            g_owner, g_dataset, g_rec = got[row]
            total += 1
            right += g_owner == owner and g_rec == rec and (not owner or g_dataset in datasets[owner])
        # owner right (or rightly none) for ≥ 99.5 % of this list's rows
        right_owner = sum(1 for row, (owner, _rec) in want.items() if got[row][0] == owner)
        assert right_owner >= 0.995 * len(want), (leak.name, right_owner, len(want))
        # pairwise: (row, owner record) links predicted vs true
        true_links = {(row, o, r) for row, (o, r) in want.items() if o}
        found = {(row, o, r) for row, (o, _d, r) in got.items() if o}
        f1 = 2 * len(true_links & found) / (len(true_links) + len(found))
        assert f1 >= 0.99, (leak.name, f1)
        assert report["suspects"][0]["actor"] == insider, [(s["actor"], s["tier"]) for s in report["suspects"][:3]]
    return right, total


def test_simulated_leaks_trace_to_true_records(ws: Workspace, tmp_path: Path) -> None:
    world, truth = _world_with_unlogged_leak(tmp_path)
    right, total = _trace_world(ws, world, truth)
    assert right >= 0.995 * total, (right, total)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_leaks_of_other_seeds(ws: Workspace, tmp_path: Path, seed: int) -> None:
    """Seeds 1–3: insiders mt003/mt001, lists from one or two owners, cp932 and UTF-8."""
    world = tmp_path / "world"
    simulate("ntt-west", seed, world, days=40, scale=0.3)
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    right, total = _trace_world(ws, world, truth)
    assert total >= 100
    assert right >= 0.995 * total, (right, total)
