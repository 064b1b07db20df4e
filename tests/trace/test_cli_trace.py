"""The trace commands end to end: index a dataset file, trace a leak, JSON out, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kansa.cli.main import main
from kansa.model.workspace import init_workspace

from .people import HEADER, make_people, write_csv


def test_index_and_trace_via_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    people = make_people(60, seed=8, prefix="C")
    data = write_csv(tmp_path / "owner.csv", HEADER, [p.row() for p in people], encoding="cp932")
    leak = write_csv(tmp_path / "leak.csv", ["氏名", "電話"], [[p.name, p.phone] for p in people[:25]])
    assert main(["trace", "index", str(data), "--owner", "ins-x", "--name", "policy", "--id-column", "顧客番号",
                 "-w", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == 60
    assert main(["trace", "file", str(leak), "-w", str(root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["datasets"][0]["owner"] == "ins-x" and out["datasets"][0]["matched"] == 25
    # the report names rows by line only; no leaked values in it
    assert people[0].name not in json.dumps(out, ensure_ascii=False)


def test_index_needs_owner_for_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    f = write_csv(tmp_path / "x.csv", HEADER, [])
    assert main(["trace", "index", str(f), "-w", str(root)]) == 2
    assert "--owner" in capsys.readouterr().err
