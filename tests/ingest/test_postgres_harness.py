"""The PostgreSQL harness must fail, not skip, when CI demands a real server that is absent."""

from __future__ import annotations

from pathlib import Path

import pg_harness
import pytest


def test_missing_postgres_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pg_harness, "PG_BIN", tmp_path / "bin")
    monkeypatch.setenv("KANSA_REQUIRE_PG", "1")
    with pytest.raises(pytest.fail.Exception, match="initdb"):
        pg_harness.require_pg()


def test_missing_postgres_skips_locally(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pg_harness, "PG_BIN", tmp_path / "bin")
    monkeypatch.delenv("KANSA_REQUIRE_PG", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        pg_harness.require_pg()
