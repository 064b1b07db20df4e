"""The pipeline's guarantees: idempotent, atomic per file, quarantine by file+line, actors resolved."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kansa.ingest import ingest_access_file, ingest_cert_dir, ingest_chunks, ingest_registry, ingest_status
from kansa.ingest.access_jsonl import read_access
from kansa.model.errors import InputError
from kansa.model.workspace import Workspace


def _counts(ws: Workspace) -> tuple[int, ...]:
    return tuple(
        int(ws.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
        for t in ("access_events", "access_subjects", "endpoint_events", "quarantine", "ingest_files", "ingest_batches")
    )


def test_reingest_same_content_changes_nothing(ws: Workspace, tmp_path: Path, line: Callable[..., str]) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text("\n".join(line(subjects=[f"T{i}"]) for i in range(5)) + "\n", encoding="utf-8")
    first = ingest_access_file(ws, f)
    assert first["events"] == 5 and not first["skipped"]
    before = _counts(ws)
    again = ingest_access_file(ws, f)
    assert again["skipped"] and again["events"] == 0
    assert _counts(ws) == before


def test_event_ids_continue_across_files_and_kinds(ws: Workspace, tmp_path: Path, line: Callable[..., str]) -> None:
    a = tmp_path / "a.jsonl.gz"
    with gzip.open(a, "wt", encoding="utf-8") as fh:
        fh.write(line() + "\n" + line() + "\n")
    cert = tmp_path / "cert"
    cert.mkdir()
    (cert / "logon.csv").write_text("id,date,user,pc,activity\n{x},03/04/2024 08:00:00,U1,PC-1,Logon\n")
    ingest_access_file(ws, a)
    ingest_cert_dir(ws, cert)
    b = tmp_path / "b.jsonl"
    b.write_text(line(action="export") + "\n")
    ingest_access_file(ws, b)
    ids = [r[0] for r in ws.con.execute(
        "SELECT event_id FROM access_events UNION ALL SELECT event_id FROM endpoint_events ORDER BY 1").fetchall()]
    assert ids == list(range(4))


def test_bad_lines_quarantined_with_file_and_line(ws: Workspace, tmp_path: Path, line: Callable[..., str]) -> None:
    f = tmp_path / "mixed.jsonl"
    f.write_text(
        line() + "\n" + "{not json\n" + line(action="steal") + "\n"
        + '{"time": "2024-03-04T10:00:00+09:00", "action": "view"}\n' + line() + "\n",
        encoding="utf-8",
    )
    res = ingest_access_file(ws, f)
    assert res["events"] == 2 and res["quarantined"] == 3
    rows = ws.con.execute("SELECT path, line, reason FROM quarantine ORDER BY line").fetchall()
    assert [(p, ln) for p, ln, _ in rows] == [(str(f), 2), (str(f), 3), (str(f), 4)]
    assert "steal" in rows[1][2] and "actor" in rows[2][2]
    lines = [r[0] for r in ws.con.execute("SELECT source_line FROM access_events ORDER BY event_id").fetchall()]
    assert lines == [1, 5]
    assert ingest_status(ws)["quarantined"] == 3


def test_exception_mid_file_leaves_no_rows(ws: Workspace, tmp_path: Path, line: Callable[..., str]) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text("\n".join(line() for _ in range(10)) + "\n", encoding="utf-8")

    def exploding(path: Path) -> Iterator:  # type: ignore[type-arg]
        for i, chunk in enumerate(read_access(path)):
            yield chunk
            if i == 0:
                raise RuntimeError("disk on fire")

    import kansa.ingest.access_jsonl as mod

    monkey_chunks = 3
    old = mod.CHUNK_LINES
    mod.CHUNK_LINES = monkey_chunks
    try:
        with pytest.raises(RuntimeError):
            ingest_chunks(ws, f, "access", exploding)
    finally:
        mod.CHUNK_LINES = old
    assert _counts(ws) == (0, 0, 0, 0, 0, 0)
    # and the file can then be ingested for real
    assert ingest_access_file(ws, f)["events"] == 10


def test_truncated_gzip_is_an_error_naming_the_file_and_rolls_back(ws: Workspace, tmp_path: Path, line: Callable[..., str]) -> None:
    f = tmp_path / "a.jsonl.gz"
    data = gzip.compress(("\n".join(line(subjects=[f"T{i}"]) for i in range(2000)) + "\n").encode())
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        ingest_access_file(ws, f)
    assert str(f) in str(err.value)
    assert _counts(ws) == (0, 0, 0, 0, 0, 0)


def test_actor_resolution_personal_shared_by_terminal_and_by_logon(ws: Workspace, tmp_path: Path, line: Callable[..., str], registry_dir: Path
) -> None:
    ingest_registry(ws, registry_dir)
    cert = tmp_path / "cert"
    cert.mkdir()
    # U3 (A3) logs on to the shared PC at 09:00 (local); U1 logs on and off there before.
    (cert / "logon.csv").write_text(
        "id,date,user,pc,activity\n"
        "{1},03/04/2024 07:00:00,U1,PC-SHARED,Logon\n"
        "{2},03/04/2024 08:00:00,U1,PC-SHARED,Logoff\n"
        "{3},03/04/2024 09:00:00,U3,PC-SHARED,Logon\n"
    )
    ingest_cert_dir(ws, cert)
    f = tmp_path / "a.jsonl"
    f.write_text(
        "\n".join([
            line(actor="op1"),                                                   # personal → A1
            line(actor="admin", source_ip="10.0.0.2"),                          # shared, A2's PC
            line(actor="admin", source_ip="10.0.0.9"),                          # shared PC, A3 logged on
            line(actor="admin", source_ip="10.0.0.9", time="2024-03-04T08:30:00+09:00"),  # nobody on
            line(actor="nobody"),                                               # unknown account
        ]) + "\n",
        encoding="utf-8",
    )
    ingest_access_file(ws, f)
    actors = [r[0] for r in ws.con.execute("SELECT actor_id FROM access_events ORDER BY event_id").fetchall()]
    assert actors == ["A1", "A2", "A3", None, None]
    ep = ws.con.execute("SELECT actor_id, kind FROM endpoint_events ORDER BY event_id").fetchall()
    assert ep == [("A1", "logon"), ("A1", "logoff"), ("A3", "logon")]


def test_grown_log_ingests_only_new_lines(ws: Workspace, tmp_path: Path, line: Callable[..., str]) -> None:
    f = tmp_path / "live.jsonl"
    f.write_text(line(subjects=["T1"]) + "\n" + line(subjects=["T2"]) + "\n", encoding="utf-8")
    assert ingest_access_file(ws, f)["events"] == 2
    with f.open("a", encoding="utf-8") as fh:
        fh.write("broken\n" + line(subjects=["T3"]) + "\n")
    res = ingest_access_file(ws, f)
    assert res["events"] == 1 and res["quarantined"] == 1 and res["resumed_after_line"] == 2
    subjects = [r[0] for r in ws.con.execute("SELECT subject_id FROM access_subjects ORDER BY event_id").fetchall()]
    assert subjects == ["T1", "T2", "T3"]
    assert ws.con.execute("SELECT line FROM quarantine").fetchall() == [(3,)]
    # a different file at the same path (not a continuation) is read whole
    f.write_text(line(subjects=["T9"]) + "\n" + line(subjects=["T8"]) + "\n" + line(subjects=["T7"]) + "\n"
                 + line(subjects=["T6"]) + "\n" + line(subjects=["T5"]) + "\n", encoding="utf-8")
    assert ingest_access_file(ws, f)["events"] == 5


def test_any_reader_gets_source_default_account_system(ws: Workspace, tmp_path: Path, registry_dir: Path) -> None:
    """A database role resolves through accounts with system 'db', not the app account of the same name."""
    from datetime import datetime

    from kansa.ingest.records import BadLine, Chunk

    ingest_registry(ws, registry_dir)
    f = tmp_path / "pg.log"
    f.write_text("three lines\nof some\ndatabase log\n")
    ts = datetime.fromisoformat("2024-03-04T10:00:00+09:00")

    def reader(path: Path) -> Iterator[Chunk]:
        yield Chunk(
            access=[
                {"ts": ts, "account": "op1", "action": "search", "source_line": 1},
                {"ts": ts, "account": "batch", "action": "export", "source_ip": "10.0.0.2", "source_line": 2},
            ],
            bad=[BadLine(3, "not a pgaudit line", "database log")],
            end_line=3,
        )

    res = ingest_chunks(ws, f, "pgaudit", reader)
    assert (res.events, res.quarantined) == (2, 1)
    rows = ws.con.execute("SELECT actor_id, source_system FROM access_events ORDER BY event_id").fetchall()
    assert rows == [("A3", "pgaudit"), ("A2", "pgaudit")]
