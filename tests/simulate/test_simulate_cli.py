"""`kansa simulate` is a thin wrapper: it writes the world and prints the summary as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kansa.cli.main import main


def test_cli_writes_world_and_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w"
    code = main(
        ["simulate", "suginami", "--seed", "4", "--out", str(out), "--days", "10", "--scale", "0.1", "--json"]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scenario"] == "suginami" and summary["app_events"] > 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 4


def test_cli_unknown_scenario_exits_2(tmp_path: Path) -> None:
    assert main(["simulate", "nowhere", "--out", str(tmp_path / "x")]) == 2


def test_scenario_as_option_matches_argument(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["--seed", "5", "--days", "8", "--scale", "0.1", "--json"]
    assert main(["simulate", "--scenario", "suginami", "--out", str(a), *common]) == 0
    assert main(["simulate", "suginami", "--out", str(b), *common]) == 0
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()
    assert main(["simulate", "ntt-west", "--scenario", "suginami", "--out", str(tmp_path / "c")]) == 2
