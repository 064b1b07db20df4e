"""Model migration 3 takes the ART indexes off the event tables; workspaces made before it keep
their rows, their ids and a ledger that verifies.

The keys went because DuckDB holds every ART index in memory and cannot evict it, which alone
broke the 1 GB budget on a 10 GB log (docs/benchmarks.md, "Memory on a big csvlog").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import kansa.model.workspace as workspace_module
from kansa.ingest import ingest_access_file, ingest_cert_dir
from kansa.ledger import verify
from kansa.model.schema import MODEL_MIGRATIONS
from kansa.model.workspace import Workspace, init_workspace, open_workspace


def _keys(ws: Workspace) -> list[tuple[str, str]]:
    """(table, 'PRIMARY KEY' | 'UNIQUE' | index name) on the event tables."""
    con = ws.con
    tables = "('access_events', 'access_subjects', 'endpoint_events')"
    keys = con.execute(
        f"SELECT table_name, constraint_type FROM duckdb_constraints() WHERE table_name IN {tables}"
        " AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')").fetchall()
    indexes = con.execute(f"SELECT table_name, index_name FROM duckdb_indexes() WHERE table_name IN {tables}").fetchall()
    return sorted(keys + indexes)


def _events(ws: Workspace) -> list[tuple[object, ...]]:
    return ws.con.execute(
        "SELECT e.*, list(s.subject_id ORDER BY s.subject_id) FROM access_events e"
        " LEFT JOIN access_subjects s USING (event_id) GROUP BY ALL ORDER BY e.event_id").fetchall()


def test_a_workspace_made_before_keeps_its_events_and_verifies(
        tmp_path: Path, line: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "old"
    a = tmp_path / "a.jsonl"
    a.write_text("".join(line(subjects=[f"T{i}", f"U{i}"]) + "\n" for i in range(30)), encoding="utf-8")
    cert = tmp_path / "cert"
    cert.mkdir()
    (cert / "logon.csv").write_text("id,date,user,pc,activity\n{x},03/04/2024 08:00:00,U1,PC-1,Logon\n")
    b = tmp_path / "b.jsonl"
    b.write_text(line(action="export") + "\n", encoding="utf-8")
    with monkeypatch.context() as m:
        m.setattr(workspace_module, "MODEL_MIGRATIONS", [x for x in MODEL_MIGRATIONS if x.version <= 2])
        with init_workspace(root) as ws:
            ingest_access_file(ws, a)
            ingest_cert_dir(ws, cert)
            ingest_access_file(ws, b)
            assert ("access_events", "PRIMARY KEY") in _keys(ws)
            before = _events(ws)
            endpoint_before = ws.con.execute("SELECT * FROM endpoint_events").fetchall()
            assert verify(ws)["ok"]
    with open_workspace(root) as ws:
        assert ws.con.execute("SELECT version FROM schema_versions WHERE component = 'model'").fetchone() == (
            MODEL_MIGRATIONS[-1].version,)
        assert _keys(ws) == []
        assert _events(ws) == before
        assert ws.con.execute("SELECT * FROM endpoint_events").fetchall() == endpoint_before
        nulls = ws.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'access_events'"
            " AND is_nullable = 'NO' ORDER BY column_name").fetchall()
        assert [c for (c,) in nulls] == ["action", "batch_id", "event_id", "source_system", "ts"]
        r = verify(ws)
        assert r["ok"] and r["pending"] == 0 and r["tree_size"] == len(before) + len(endpoint_before)
        c = tmp_path / "c.jsonl"
        c.write_text(line(action="print") + "\n", encoding="utf-8")
        assert ingest_access_file(ws, c)["events"] == 1
        ids = [i for (i,) in ws.con.execute(
            "SELECT event_id FROM access_events UNION ALL SELECT event_id FROM endpoint_events ORDER BY 1").fetchall()]
        assert ids == list(range(len(before) + len(endpoint_before) + 1))
        assert verify(ws)["ok"]


def test_a_new_workspace_has_no_index_on_the_event_tables(ws: Workspace) -> None:
    assert _keys(ws) == []
