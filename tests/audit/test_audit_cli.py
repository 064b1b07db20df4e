"""The audit commands run end to end on a workspace and print JSON a machine can read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_world import Builder, at, normal_days, registry

from kansa.cli.main import main
from kansa.model.workspace import Workspace


def test_run_findings_explain_eval(ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 12)
    b.access(at(12, 11), "op2", "view", "city-b", ["C001"])
    root = str(ws.root)
    ws.close()
    assert main(["audit", "run", "-w", root, "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["by_rule"]["no_task"] == 1
    assert main(["audit", "findings", "-w", root, "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert items[0]["actor_id"] == "op2"
    assert main(["audit", "explain", items[0]["finding_id"], "-w", root, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["access_events"][0]["owner_id"] == "city-b"
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"bad_actors": [{"actor": "op2", "first_bad_act": "2024-04-13"}]}), encoding="utf-8")
    assert main(["eval", "audit", "--truth", str(truth), "-w", root, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recall"] == 1.0


def test_bad_until_is_a_user_error(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(ws.root)
    ws.close()
    assert main(["audit", "run", "-w", root, "--until", "yesterday"]) == 2
    assert main(["audit", "explain", "F-none", "-w", root]) == 2
