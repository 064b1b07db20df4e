"""The ingest CLI: JSON output, status counts, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from kansa.cli.main import main
from kansa.model.workspace import init_workspace


def test_cli_access_status_and_error(
    tmp_path: Path, line: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    init_workspace(tmp_path / "ws").close()
    f = tmp_path / "a.jsonl"
    f.write_text(line() + "\n" + "oops\n")
    w = ["-w", str(tmp_path / "ws")]
    assert main(["ingest", "access", str(f), *w, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["events"] == 1 and out["quarantined"] == 1
    assert main(["ingest", "status", *w, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["events"] == 1 and status["quarantined"] == 1 and status["files"] == 1
    assert status["quarantine_reasons"][0]["path"] == str(f)
    assert main(["ingest", "access", str(tmp_path / "nope.jsonl"), *w]) == 2
    assert "nope.jsonl" in capsys.readouterr().err
