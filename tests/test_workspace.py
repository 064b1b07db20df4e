"""Workspace creation, opening, migration and refusal of things that are not workspaces."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import duckdb
import pytest

from kansa.model.errors import KansaError, NotAWorkspace
from kansa.model.migrations import Migration
from kansa.model.schema import MODEL_MIGRATIONS
from kansa.model.workspace import MARKER, init_workspace, open_workspace


def test_init_makes_layout_with_private_keys(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "w")
    ws.close()
    root = tmp_path / "w"
    assert (root / "kansa.duckdb").is_file()
    assert (root / "parquet").is_dir() and (root / "reports").is_dir()
    assert stat.S_IMODE((root / "keys").stat().st_mode) == 0o700
    secret = ws.secret("ledger")
    assert len(secret) == 32
    assert stat.S_IMODE((root / "keys" / "ledger.key").stat().st_mode) == 0o600
    assert ws.secret("ledger") == secret  # stable once made


def test_model_tables_exist_and_version_recorded(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "w") as ws:
        tables = {r[0] for r in ws.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"access_events", "access_subjects", "endpoint_events", "actors", "contracts", "quarantine"} <= tables
        assert ws.con.execute("SELECT version FROM schema_versions WHERE component='model'").fetchone() == (MODEL_MIGRATIONS[-1].version,)


def test_open_refuses_non_workspace(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.txt").write_text("hello")
    with pytest.raises(NotAWorkspace, match="not a kansa workspace"):
        open_workspace(tmp_path / "x")
    with pytest.raises(NotAWorkspace):
        open_workspace(tmp_path / "missing")


def test_init_refuses_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.txt").write_text("hello")
    with pytest.raises(KansaError, match="not empty"):
        init_workspace(tmp_path / "x")


def test_component_migrations_apply_forward_once(tmp_path: Path) -> None:
    v1 = [Migration(1, "t", ["CREATE TABLE t (a INT)"])]
    v2 = [*v1, Migration(2, "add b", ["ALTER TABLE t ADD COLUMN b INT"])]
    with init_workspace(tmp_path / "w") as ws:
        assert ws.ensure_component("demo", v1) == [1]
        ws.con.execute("INSERT INTO t VALUES (5)")
    with open_workspace(tmp_path / "w") as ws:  # an older workspace opened by a newer kansa
        assert ws.ensure_component("demo", v2) == [2]
        assert ws.ensure_component("demo", v2) == []
        assert ws.con.execute("SELECT a, b FROM t").fetchall() == [(5, None)]


def test_failed_migration_leaves_previous_version(tmp_path: Path) -> None:
    bad = [Migration(1, "ok", ["CREATE TABLE u (a INT)"]), Migration(2, "broken", ["CREATE TABLE u (a INT)"])]
    with init_workspace(tmp_path / "w") as ws:
        with pytest.raises(duckdb.CatalogException):
            ws.ensure_component("c", bad)
        assert ws.con.execute("SELECT version FROM schema_versions WHERE component='c'").fetchone() == (1,)


def test_newer_workspace_is_refused(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "w") as ws:
        ws.ensure_component("c", [Migration(3, "future", ["CREATE TABLE f (a INT)"])])
    with open_workspace(tmp_path / "w") as ws, pytest.raises(KansaError, match="newer"):
        ws.ensure_component("c", [Migration(1, "old", [])])
    marker = tmp_path / "w" / MARKER
    meta = json.loads(marker.read_text())
    meta["kansa_workspace"] = 99
    marker.write_text(json.dumps(meta))
    with pytest.raises(KansaError, match="newer"):
        open_workspace(tmp_path / "w")
