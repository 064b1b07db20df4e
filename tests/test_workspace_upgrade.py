"""A workspace written by an older kansa is brought up to date when opened, and keeps its rows.

Issue #2 asks that an older workspace be "migrated on open, never silently broken". The other
workspace tests use a toy component; this one builds a real model-version-1 workspace (as kansa
made them before the database-owners table existed) and opens it with today's kansa.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import kansa.model.workspace as workspace_module
from kansa.cli.main import main
from kansa.model.errors import NotAWorkspace
from kansa.model.schema import MODEL_MIGRATIONS
from kansa.model.workspace import init_workspace, open_workspace


def _tables(root: Path) -> set[str]:
    with open_workspace(root) as ws:
        return {r[0] for r in ws.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def _old_workspace(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A workspace at model version 1 with one organisation in it."""
    first = [m for m in MODEL_MIGRATIONS if m.version == 1]
    with monkeypatch.context() as m:
        m.setattr(workspace_module, "MODEL_MIGRATIONS", first)
        with init_workspace(root) as ws:
            ws.con.execute("INSERT INTO organisations (org_id, name, kind) VALUES ('pref_osaka', '大阪府', 'owner')")
            assert ws.con.execute("SELECT version FROM schema_versions WHERE component = 'model'").fetchone() == (1,)
            tables = {r[0] for r in ws.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "db_owners" not in tables


def test_older_model_version_is_migrated_on_open_and_keeps_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(MODEL_MIGRATIONS) >= 2, "this test needs at least one migration after the first"
    root = tmp_path / "old"
    _old_workspace(root, monkeypatch)
    with open_workspace(root) as ws:
        version = ws.con.execute("SELECT version FROM schema_versions WHERE component = 'model'").fetchone()
        assert version == (MODEL_MIGRATIONS[-1].version,)
        assert ws.con.execute("SELECT org_id, name FROM organisations").fetchall() == [("pref_osaka", "大阪府")]
    assert "db_owners" in _tables(root)


def test_cli_opens_an_older_workspace_without_complaint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "old"
    _old_workspace(root, monkeypatch)
    assert main(["ingest", "status", "--workspace", str(root), "--json"]) == 0
    assert "db_owners" in _tables(root)


@pytest.mark.parametrize("content", [None, "a.txt", "kansa.duckdb"])
def test_a_folder_that_is_not_a_workspace_is_refused(tmp_path: Path, content: str | None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    if content:
        (root / content).write_bytes(b"not kansa")
    with pytest.raises(NotAWorkspace, match="not a kansa workspace"):
        open_workspace(root)
    assert main(["ingest", "status", "--workspace", str(root)]) == 2
    err = capsys.readouterr().err
    assert "not a kansa workspace" in err and "Traceback" not in err
    assert sorted(p.name for p in root.iterdir()) == ([content] if content else [])   # left as it was
