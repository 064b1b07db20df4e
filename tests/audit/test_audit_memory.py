"""The audit's memory limit: set for the run, spilled inside the workspace, restored afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from kansa.audit.memory import DEFAULT_CAP_BYTES, ENV_VAR, audit_memory, chosen_limit, default_limit
from kansa.model.workspace import init_workspace


def _limit_mib(con: object) -> float:
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()  # type: ignore[attr-defined]
    value, unit = str(row[0]).split()
    return float(value) * {"MiB": 1.0, "GiB": 1024.0, "KiB": 1 / 1024}[unit]


def test_default_is_capped_below_the_four_gigabyte_budget() -> None:
    mib = int(default_limit().removesuffix("MiB"))
    assert 256 <= mib <= DEFAULT_CAP_BYTES // 2**20


def test_environment_and_argument_choose_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "1GB")
    assert chosen_limit() == "1GB"
    assert chosen_limit("700MB") == "700MB"  # the argument wins over the environment
    monkeypatch.setenv(ENV_VAR, "off")
    assert chosen_limit() is None
    monkeypatch.delenv(ENV_VAR)
    assert chosen_limit() == default_limit()


def test_limit_holds_during_the_run_and_is_restored(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    before = _limit_mib(ws.con)
    with audit_memory(ws, "300MiB") as chosen:
        assert chosen == "300MiB"
        assert abs(_limit_mib(ws.con) - 300) < 1
        assert (tmp_path / "ws" / "spill").is_dir()
        # the rules' cursors share the database's limit
        assert abs(_limit_mib(ws.con.cursor()) - 300) < 1
    assert abs(_limit_mib(ws.con) - before) / before < 0.01
    with audit_memory(ws, "off") as chosen:
        assert chosen is None
        assert abs(_limit_mib(ws.con) - before) / before < 0.01
    ws.close()
