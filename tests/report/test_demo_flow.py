"""The whole flow on a short simulated world: every capability runs and the results agree with
what the simulator says really happened (truth.json and the leaks' truth files)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from kansa.model.workspace import init_workspace
from kansa.report import run_demo, story, write_summary


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

    evaluated = by_name["audit vs truth"].result
    assert all(a["detected"] for a in evaluated["actors"])
    assert Path(by_name["audit report"].result["page"]).is_file()

    leaks = sorted(p for p in (world / "leaks").glob("leak-*.csv") if not p.name.endswith(".truth.csv"))
    assert leaks
    traced = by_name[f"trace {leaks[0].name}"].result
    with (world / "leaks" / leaks[0].name.replace(".csv", ".truth.csv")).open(encoding="utf-8") as fh:
        truth_rows = list(csv.DictReader(fh))
    held = sum(1 for r in truth_rows if r.get("record_id"))
    assert traced["records"] == len(truth_rows)
    assert 0.8 * held <= traced["attributed"] <= traced["records"]
    assert traced["suspects"] and traced["suspects"][0]["actor"] in insiders
    assert Path(by_name[f"trace page {leaks[0].name}"].result["page"]).is_file()

    incident = by_name["respond incident"].result
    owners = {o["owner"] for o in traced["owners"]}
    notify = next(d for d in incident["deadlines"] if d["id"] == "appi.notify_entrustor")
    assert len(notify["recipients"]) == len(owners)  # every owner the leak was traced to is told
    assert incident["lines"]
    drafts = by_name["respond drafts"].result["files"]
    assert drafts and all(Path(f).is_file() for f in drafts)

    lines = story(steps)
    assert any(sorted(insiders)[0] in line and "caught" in line for line in lines)
    html = page.read_text(encoding="utf-8")
    assert "ledger verify" in html
