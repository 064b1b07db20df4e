"""The govern commands: --json output with the API's keys, a readable tree, one-line user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kansa.cli.main import main
from kansa.model.workspace import init_workspace

from .govern_world import build


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    ws = init_workspace(root)
    build(ws)
    ws.close()
    return root


def test_json(ws_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["govern", "chains", "-w", str(ws_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["on"] == "2024-05-02" and out["owners"][0]["links"][0]["entrustee"] == "bpo"
    assert main(["govern", "access", "-w", str(ws_dir), "--since", "2024-04-01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"on", "since", "owners", "cells", "revoke", "broadest"}
    assert main(["govern", "map", "-w", str(ws_dir), "--owner", "city_a", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["owners"][0]["exports"][0]["events"] == 1


def test_terminal(ws_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["govern", "chains", "-w", str(ws_dir)]) == 0
    text = capsys.readouterr().out
    assert "sub_x" in text and "unapproved_reentrustment" in text and "outside every contract" in text
    assert main(["govern", "access", "-w", str(ws_dir), "--since", "2024-04-01"]) == 0
    text = capsys.readouterr().out
    assert "revoke" in text and "app:b4" in text
    assert main(["govern", "map", "-w", str(ws_dir)]) == 0
    assert "[basic, tax]" in capsys.readouterr().out         # categories are not eaten as markup


@pytest.mark.parametrize("argv", [
    ["govern", "chains", "--owner", "nobody"],
    ["govern", "chains", "--on", "2024-02-30"],
    ["govern", "access", "--actor", "nobody"],
    ["govern", "map", "--owner", "nobody"],
])
def test_user_errors(ws_dir: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "-w", str(ws_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_empty_workspace_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    init_workspace(tmp_path / "empty").close()
    for command in ("chains", "access", "map"):
        assert main(["govern", command, "-w", str(tmp_path / "empty")]) == 0
        assert "ingest" in capsys.readouterr().out
