"""The whole flow on a short simulated world: every capability runs and the results agree with
what the simulator says really happened (truth.json and the leaks' truth files)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from kansa.model.workspace import init_workspace
from kansa.report import run_demo, write_summary


def test_demo_flow_finds_the_insider_and_attributes_the_leak(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    world = tmp_path / "world"
    try:
        steps = run_demo(ws, world, scenario="ntt-west", seed=11, days=30)
        page = write_summary(steps, world, tmp_path / "demo.html")
    finally:
        ws.close()
    by_name = {s.name: s for s in steps}
    assert [s.name for s in steps if s.status != "ok"] == []
    assert by_name["ingest"].result["quarantined"] == 0
    assert by_name["ingest"].result["events"] > 0
    assert by_name["ledger verify"].result["ok"] is True
    assert by_name["ledger verify"].result["tree_size"] == by_name["ledger seal"].result["tree_size"]

    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    insiders = {b["actor"] for b in truth["bad_actors"]}
    flagged = {f["actor_id"] for f in by_name["findings"].result["top"]}
    assert insiders & flagged, f"none of {insiders} among the top findings {flagged}"

    leaks = sorted(p for p in (world / "leaks").glob("leak-*.csv") if not p.name.endswith(".truth.csv"))
    assert leaks
    traced = by_name[f"trace {leaks[0].name}"].result
    with (world / "leaks" / leaks[0].name.replace(".csv", ".truth.csv")).open(encoding="utf-8") as fh:
        truth_rows = list(csv.DictReader(fh))
    held = sum(1 for r in truth_rows if r.get("record_id"))
    assert traced["rows"] >= len(truth_rows) - 1  # a header row may or may not be present
    assert traced["matched_rows"] >= 0.8 * held
    assert traced["matched_rows"] <= held

    assert by_name["respond assess (business)"].result["reportable"] is True
    assert by_name["respond assess (entrustee)"].result["action_required"] is True
    html = page.read_text(encoding="utf-8")
    assert "ledger verify" in html
