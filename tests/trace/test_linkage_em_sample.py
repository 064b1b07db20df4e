"""A leak larger than ``EM_SAMPLE`` rows re-estimates m by EM on a seeded sample of its rows and
links all of them with that model: the same quality as EM on the whole leak (FEBRL 4 slice).
The linkage's DuckDB memory limit is the workspace's again afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from kansa.model.workspace import Workspace
from kansa.trace import linkage

from .test_linkage_febrl import febrl_slice_f1


def test_em_on_a_sample_of_a_large_leak(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linkage, "EM_SAMPLE", 400)
    inputs: dict[int, list[str]] = {}
    em_on: list[list[str]] = []
    make, estimate = linkage._linker, linkage._estimate_m

    def spy_linker(tables: list[Any], model: Any, tf: dict[str, Any]) -> Any:
        got = make(tables, model, tf)
        inputs[id(got)] = [t.physical_name for t in tables]
        return got

    def spy_estimate(linker: Any, fields: list[str]) -> None:
        em_on.append(inputs[id(linker)])
        estimate(linker, fields)

    monkeypatch.setattr(linkage, "_linker", spy_linker)
    monkeypatch.setattr(linkage, "_estimate_m", spy_estimate)
    limit = "SELECT current_setting('memory_limit')"
    ws.con.execute("SET memory_limit = '7GB'")
    before = ws.con.execute(limit).fetchall()
    f1, tp, found, _ = febrl_slice_f1(ws)
    assert ws.con.execute(limit).fetchall() == before  # the linkage's own limit is not left behind
    # EM ran once, on the sample, not on the ~1,500 leaked rows; prediction on every row
    assert em_on == [["leak_em", "hold_side"]]
    assert [v for v in inputs.values() if v != em_on[0]] == [["leak_side", "hold_side"]]
    assert f1 >= 0.99, f1
    assert tp == found  # no false link
