"""kill -9 in the middle of an ingest: the workspace stays consistent and a re-run completes it.

The child process ingests two files and SIGKILLs itself at a chosen database statement (so the
kill points are reproducible: inside a block's inserts, in the sealing step, just before commit),
or the parent kills it after a delay. After each kill the workspace is reopened and checked:
every event belongs to a committed file, every committed file's events are all there and sealed,
the ledger verifies; then the ingest is run again and must leave exactly one copy of every line.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kansa.ingest import ingest_access_file, pipeline, textfile
from kansa.ledger import verify
from kansa.model.workspace import Workspace, init_workspace, open_workspace

LINES = 600

CHILD = r"""
import os, signal, sys
from pathlib import Path
from kansa.ingest import ingest_access_file, pipeline, textfile
from kansa.model.workspace import open_workspace

kill_at = int(sys.argv[2])
textfile.BLOCK_BYTES = 4096  # many blocks per file
pipeline.BATCH_BYTES = int(os.environ.get("KANSA_TEST_BATCH_BYTES", pipeline.BATCH_BYTES))
ws = open_workspace(sys.argv[1])
con = ws.con
calls = 0

class Dying:
    def execute(self, *args, **kw):
        global calls
        calls += 1
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return con.execute(*args, **kw)
    def commit(self):
        if kill_at == -1:
            os.kill(os.getpid(), signal.SIGKILL)
        return con.commit()
    def __getattr__(self, name):
        return getattr(con, name)

ws._con = Dying()
print("ready", flush=True)
for f in sys.argv[3:]:
    ingest_access_file(ws, Path(f))
ws.close()
"""


def _line(i: int) -> str:
    return json.dumps({"time": f"2024-03-04T10:{i // 60 % 60:02d}:{i % 60:02d}+09:00", "actor": f"op{i % 7}",
                       "action": "view", "owner": "pref-osaka", "subjects": [f"T{i}"], "resource": "taxpayer"})


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    a = tmp_path / "a.jsonl"
    a.write_text("\n".join(_line(i) for i in range(LINES)) + "\n", encoding="utf-8")
    b = tmp_path / "b.jsonl.gz"
    b.write_bytes(gzip.compress(("\n".join(_line(i) for i in range(LINES, 2 * LINES)) + "\n").encode()))
    return [a, b]


def _ids_are_the_sequence(ws: Workspace) -> None:
    """Event ids are 0..n-1, each once: no key enforces it (model migration 3), the ingest sequence
    does, and a kill between batches is where it could slip."""
    ids = [r[0] for r in ws.con.execute(
        "SELECT event_id FROM access_events UNION ALL SELECT event_id FROM endpoint_events ORDER BY 1").fetchall()]
    assert ids == list(range(len(ids)))


def _check_consistent(ws: Workspace) -> int:
    """Events ↔ batches ↔ ingest_files ↔ ledger agree; returns the number of events."""
    con = ws.con
    orphans = con.execute(
        "SELECT count(*) FROM access_events e ANTI JOIN ingest_files f ON f.path = e.source_file"
    ).fetchall()[0][0]
    assert orphans == 0, "events of a file that was never committed"
    per_file = con.execute(
        "SELECT f.path, b.ingested, (SELECT count(*) FROM access_events e WHERE e.batch_id = b.batch_id)"
        " FROM ingest_files f JOIN ingest_batches b ON b.path = f.path"
    ).fetchall()
    for path, ingested, present in per_file:
        assert ingested == present == LINES, path
    n = int(con.execute("SELECT count(*) FROM access_events").fetchall()[0][0])
    subjects = int(con.execute("SELECT count(*) FROM access_subjects").fetchall()[0][0])
    assert subjects == n
    _ids_are_the_sequence(ws)
    r = verify(ws)
    assert r["ok"] and r["pending"] == 0 and r["tree_size"] == n
    return n


def _run_child(ws_root: Path, kill_at: int, files: list[Path], kill_after: float | None = None,
               batch_bytes: int | None = None) -> int:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    if batch_bytes:
        env["KANSA_TEST_BATCH_BYTES"] = str(batch_bytes)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ws_root), str(kill_at), *map(str, files)],
        stdout=subprocess.PIPE, env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=120)


# statement numbers (the two files take about 140): early in the first file, in its block
# inserts, around its sealing and commit, in the second file's inserts and sealing; -1 = at the
# first commit call itself
@pytest.mark.parametrize("kill_at", [3, 12, 40, 66, 70, 75, 95, 130, -1])
def test_kill_at_a_statement_then_rerun(tmp_path: Path, inputs: list[Path], kill_at: int) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    code = _run_child(root, kill_at, inputs)
    assert code == -signal.SIGKILL  # the kill point was reached
    with open_workspace(root) as ws:
        _check_consistent(ws)
        for f in inputs:
            ingest_access_file(ws, f)
        assert _check_consistent(ws) == 2 * LINES
        again = [ingest_access_file(ws, f) for f in inputs]
        assert all(r["skipped"] for r in again)
        assert _check_consistent(ws) == 2 * LINES


def test_kill_from_outside_at_some_moment(tmp_path: Path, inputs: list[Path]) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    code = _run_child(root, 0, inputs, kill_after=0.3)
    with open_workspace(root) as ws:
        _check_consistent(ws)
        for f in inputs:
            ingest_access_file(ws, f)
        assert _check_consistent(ws) == 2 * LINES
    assert code in (0, -signal.SIGKILL)


def _check_batches_consistent(ws: Workspace) -> int:
    """As _check_consistent, for files committed in several batches: every batch holds the events it
    counts, no event lacks a committed batch, no line is there twice, the ledger verifies."""
    con = ws.con
    assert con.execute(
        "SELECT count(*) FROM access_events e ANTI JOIN"
        " (SELECT batch_id FROM ingest_batches WHERE finished_at IS NOT NULL) b ON b.batch_id = e.batch_id"
    ).fetchall()[0][0] == 0
    for ingested, present in con.execute(
        "SELECT b.ingested, (SELECT count(*) FROM access_events e WHERE e.batch_id = b.batch_id)"
        " FROM ingest_batches b"
    ).fetchall():
        assert ingested == present
    n, distinct = con.execute(
        "SELECT count(*), count(DISTINCT (source_file, source_line)) FROM access_events").fetchall()[0]
    assert n == distinct, "a line ingested twice"
    _ids_are_the_sequence(ws)
    r = verify(ws)
    assert r["ok"] and r["pending"] == 0 and r["tree_size"] == n
    return int(n)


@pytest.mark.parametrize("kill_at", [12, 40, 75, 130, 200])
def test_kill_between_batches_of_a_big_file_resumes_after_the_last(
        tmp_path: Path, inputs: list[Path], kill_at: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files bigger than BATCH_BYTES commit batch by batch; a kill loses only the open batch, and
    the next run resumes after the last committed one (nothing twice, nothing missing)."""
    monkeypatch.setattr(textfile, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(pipeline, "BATCH_BYTES", 16 << 10)
    root = tmp_path / "ws"
    init_workspace(root).close()
    _run_child(root, kill_at, inputs, batch_bytes=16 << 10)
    with open_workspace(root) as ws:
        _check_batches_consistent(ws)
        for f in inputs:
            ingest_access_file(ws, f)
        assert _check_batches_consistent(ws) == 2 * LINES
        assert ws.con.execute("SELECT count(*) FROM ingest_batches").fetchall()[0][0] > 4
        assert all(ingest_access_file(ws, f)["skipped"] for f in inputs)
