"""The fast access parse (DuckDB's read_json per block) against the line-by-line parse in DuckDB:
the same events, subjects and quarantined lines, whichever of the two reads a block."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kansa.ingest import access_columnar, ingest_access_file, ingest_line_blocks, ingest_registry, textfile
from kansa.ingest.access_jsonl import ACCESS_STAGE_SQL, parse_access
from kansa.ingest.blocks import StagedBlock, staged_blocks
from kansa.model.workspace import Workspace, init_workspace
from kansa.simulate import simulate

TZ = "Asia/Tokyo"


def _shapes(line: Callable[..., str]) -> list[str]:
    """Every field shape the schema allows, Japanese text, and lines the rules reject."""
    full = {"purpose": "照会", "ticket": "CAMP-1", "terminal": "CC-OSK-001", "outcome": "success",
            "bytes": 2048, "statement": "SELECT * FROM 納税者 WHERE id = $1", "columns": ["氏名", "住所"]}
    return [
        line(**full),
        line(actor="佐藤", resource="住民/台帳", owner="大阪府", subjects=["住民-001", "住民-002"]),
        line(subjects=None),
        json.dumps({"time": "2024-03-04T10:15:02Z", "actor": "op1", "action": "login"}),  # no subjects key
        line(subjects=[]),
        line(subjects=["T1", None, "", "T2"]),
        line(time="2024-03-04T10:15:02"),  # no offset: the workspace's zone
        line(time="2024-03-04 10:15:02.5+09:00", action="EXPORT", rows=250),
        line(rows=None, bytes=None, columns=None, extra={"nested": [1, {"deep": True}]}),
        line(action="steal"),  # valid JSON, rejected by the rules
        line(time="yesterday"),
        line(actor=""),
    ]


def _odd(line: Callable[..., str]) -> list[str]:
    """Lines the line parse reads differently or read_json cannot number (and some it reads alike)."""
    return [
        line(subjects="T9"),  # one subject, not a list
        line(subjects=["T1", 42]),
        line(rows="many"),
        line(bytes="4096"),
        line(actor=7),
        "{broken",
        "[1, 2]",
        "   ",
        line().replace('"actor": "op1"', '"actor": "op1", "actor": "op2"'),  # a duplicate key
        line() + line(),  # two objects on one line
    ]


def _file(tmp_path: Path, lines: list[str], name: str = "a.jsonl") -> Path:
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f


def _rows(blocks: Iterator[StagedBlock]) -> tuple[list[dict[str, Any]], list[tuple[int, str | None, str]],
                                                   list[dict[str, Any]]]:
    """Good rows, (line, owner, subject) and bad rows of a file's staged blocks."""
    good: list[dict[str, Any]] = []
    subjects: list[tuple[int, str | None, str]] = []
    bad: list[dict[str, Any]] = []
    for b in blocks:
        rows = b.good.to_pylist()
        subjects += [(rows[s["row"]]["n"], s["owner_id"], s["subject_id"]) for s in b.subjects.to_pylist()]
        good += rows
        bad += b.bad.to_pylist()
    return good, subjects, bad


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Blocks of ~1 kB: a file spans many blocks, some of plain lines, some with an odd line."""
    monkeypatch.setattr(textfile, "BLOCK_BYTES", 1000)
    yield


def _fast_blocks(f: Path) -> tuple[int, int]:
    blocks = list(textfile.line_blocks(f, block_bytes=textfile.BLOCK_BYTES))
    con = duckdb.connect()
    return sum(access_columnar.read_block(con, b) is not None for b in blocks), len(blocks)


def test_both_parses_give_the_same_rows(tmp_path: Path, line: Callable[..., str], small_blocks: None) -> None:
    shapes, odd = _shapes(line), _odd(line)
    lines = []
    for i in range(6):
        lines += shapes + shapes[:3]  # repeated lines: each is its own event
        lines.append(odd[i % len(odd)] if i % 2 else shapes[0])
    lines += odd
    f = _file(tmp_path, lines)
    fast, total = _fast_blocks(f)
    assert 0 < fast < total  # both parses took part
    want = _rows(staged_blocks(f, ACCESS_STAGE_SQL, timezone=TZ))
    got = _rows(access_columnar.access_stage(f, TZ)(0, 0, hashlib.sha256()))
    assert got == want
    good, subjects, bad = got
    assert len(good) + len(bad) == sum(1 for t in lines if t.strip())
    assert (2, "大阪府", "住民-002") in subjects
    assert [s for n, _, s in subjects if n == 6] == ["T1", "T2"]
    assert not [s for n, _, s in subjects if n in (3, 4, 5)]
    assert {r["reason"] for r in bad} >= {"unknown action 'steal'", "bad time 'yesterday'", "not valid JSON",
                                          "missing required key 'actor'", "rows is not an integer: 'many'"}


def test_the_python_rules_agree_on_subjects(line: Callable[..., str]) -> None:
    for value, expected in ((None, []), ([], []), ("T9", ["T9"]), ("", []), (["T1", None, "", 42], ["T1", "42"])):
        rec = parse_access(json.loads(line(subjects=value)), 1)
        assert [s for _, s in rec["subjects"]] == expected, value


def test_a_plain_block_is_read_by_arrow_with_its_rejected_lines(
    tmp_path: Path, line: Callable[..., str]
) -> None:
    lines = [line(subjects=[f"T{i}"]) for i in range(5)] + [line(action="steal"), line(time="soon")]
    f = _file(tmp_path, lines)
    (block,) = list(textfile.line_blocks(f))
    con = duckdb.connect()
    assert access_columnar.read_block(con, block) is not None
    staged = access_columnar.stage_block(con, block)
    assert staged.bad.to_pylist() == [
        {"n": 6, "reason": "unknown action 'steal'", "raw": lines[5]},
        {"n": 7, "reason": "bad time 'soon'", "raw": lines[6]},
    ]
    assert staged.good.column("n").to_pylist() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("text", [
    '{"a": 1}\n\n{"a": 2}\n',  # a blank line
    '{"a": 1}\r\n{"a": 2}\r\n',  # CRLF
    '{"a": 1, "b":\n{"c": 1}}\n',  # an object over two lines
    '{"a": 1}{"a": 2}\n{"a": 3}\n',  # two objects on one line
    '{"a": 1} \n',
])
def test_lines_read_json_cannot_number_go_line_by_line(tmp_path: Path, text: str) -> None:
    f = tmp_path / "a.jsonl"
    f.write_bytes(text.encode())
    (block,) = list(textfile.line_blocks(f))
    assert access_columnar.read_block(duckdb.connect(), block) is None


def _table(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    return ws.con.execute(sql).fetchall()


def _same_workspaces(a: Workspace, b: Workspace) -> None:
    for sql in (
        "SELECT * EXCLUDE (source_file) FROM access_events ORDER BY event_id",
        "SELECT * FROM access_subjects ORDER BY event_id, subject_id",
        "SELECT line, reason, raw FROM quarantine ORDER BY line",
        "SELECT leaf_index, kind, ref_id, leaf_hash FROM ledger_leaves ORDER BY leaf_index",
    ):
        assert _table(a, sql) == _table(b, sql), sql


def test_the_same_workspace_from_either_parse(tmp_path: Path, line: Callable[..., str], registry_dir: Path,
                                              small_blocks: None) -> None:
    lines = (_shapes(line) + _odd(line)) * 3
    f = _file(tmp_path, lines)
    one, two = init_workspace(tmp_path / "one"), init_workspace(tmp_path / "two")
    try:
        for w in (one, two):
            ingest_registry(w, registry_dir)
        r1 = ingest_line_blocks(one, f, "access", ACCESS_STAGE_SQL).to_dict()
        r2 = ingest_access_file(two, f)
        assert {k: v for k, v in r1.items() if k != "batch_id"} == {k: v for k, v in r2.items() if k != "batch_id"}
        assert r2["events"] > 0 and r2["quarantined"] > 0
        _same_workspaces(one, two)
        assert _table(two, "SELECT count(*) FROM access_events WHERE actor_id IS NOT NULL")[0][0] > 0
    finally:
        one.close()
        two.close()


def test_the_simulated_worlds_access_log(tmp_path: Path) -> None:
    simulate("ntt-west", 3, tmp_path / "world", days=7, scale=0.05)
    (log,) = sorted((tmp_path / "world" / "logs" / "app").glob("access-*.jsonl.gz"))
    lines = gzip.decompress(log.read_bytes()).decode().splitlines()
    assert len(lines) > 100
    (block,) = list(textfile.line_blocks(log))
    assert access_columnar.read_block(duckdb.connect(), block) is not None  # the simulator writes plain lines
    one, two = init_workspace(tmp_path / "one"), init_workspace(tmp_path / "two")
    try:
        r1 = ingest_line_blocks(one, log, "access", ACCESS_STAGE_SQL).to_dict()
        r2 = ingest_access_file(two, log)
        assert r1["events"] == r2["events"] == len(lines) and r2["quarantined"] == 0
        _same_workspaces(one, two)
    finally:
        one.close()
        two.close()


def test_a_record_without_subjects_is_an_event_with_none(ws: Workspace, tmp_path: Path) -> None:
    f = _file(tmp_path, [
        json.dumps({"time": "2024-03-04T10:15:02Z", "actor": "op1", "action": "login"}),
        json.dumps({"time": "2024-03-04T10:16:02Z", "actor": "op1", "action": "logout", "subjects": None}),
    ])
    assert ingest_access_file(ws, f)["events"] == 2
    assert _table(ws, "SELECT count(*) FROM access_subjects") == [(0,)]


def test_read_json_refuses_what_it_cannot_read(tmp_path: Path, line: Callable[..., str]) -> None:
    for text in (line() + "\n{broken}\n", line() + "\n" + "[1, 2]" + "\n"):
        f = tmp_path / "a.jsonl"
        f.write_text(text, encoding="utf-8")
        (block,) = list(textfile.line_blocks(f))
        assert access_columnar.read_block(duckdb.connect(), block) is None, text


def test_blocks_after_the_first_are_numbered_on(tmp_path: Path, line: Callable[..., str]) -> None:
    f = _file(tmp_path, [line(subjects=[f"T{i}"]) for i in range(200)])
    blocks = list(textfile.line_blocks(f, block_bytes=5000))
    con = duckdb.connect()
    numbers = []
    for b in blocks:
        staged = access_columnar.read_block(con, b)
        assert staged is not None
        ns = staged.column("n").to_pylist()
        assert staged.column("subjects").to_pylist() == [[f"T{n - 1}"] for n in ns]  # row i is line i
        numbers += ns
    assert len(blocks) > 3 and numbers == list(range(1, 201))
