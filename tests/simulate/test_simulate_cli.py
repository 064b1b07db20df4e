"""`kansa simulate` is a thin wrapper: it writes the world and prints the summary as JSON."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
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


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_default_world_twice_in_fresh_processes_is_byte_identical(tmp_path: Path) -> None:
    """Issue #2's check (`kansa simulate --scenario ntt-west --seed 7 --out A`, twice), on fewer days.

    Separate processes with different hash seeds: an in-process rerun would share the string
    hashing, so set or dict-of-set iteration order leaking into the bytes would go unnoticed.
    """
    kansa = str(Path(sys.executable).with_name("kansa"))
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"A{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([kansa, "simulate", "--scenario", "ntt-west", "--seed", "7", "--out", str(out),
                        "--days", "10", "--json"], check=True, env=env, capture_output=True)
        outs.append(_digests(out))
    assert outs[0] == outs[1]
    assert any(k.startswith("logs/app/") for k in outs[0]) and any(k.startswith("datasets/") for k in outs[0])
