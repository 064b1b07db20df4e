"""CLI behaviour on mistakes: one line, exit code 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kansa.cli.main import main


def test_init_then_init_again_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "w"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["workspace"].endswith("w")
    assert main(["init", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert "already a kansa workspace" in err and "Traceback" not in err


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--no-such-option"]) == 2


def test_bad_timezone_is_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "w"), "--timezone", "Mars/Olympus"]) == 2
    assert "unknown time zone" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()
