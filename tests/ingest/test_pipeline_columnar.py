"""The columnar access path: parsed in DuckDB block by block, with the same rules and guarantees
as the record-by-record path (line numbers, quarantine, ids, idempotency across plain and gzip)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path

import pytest

from kansa.ingest import ingest_access_file, textfile
from kansa.ingest.access_jsonl import ACCESS_STAGE_SQL, parse_access
from kansa.ingest.blocks import staged_blocks
from kansa.model.errors import InputError
from kansa.model.workspace import Workspace


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Blocks of ~300 bytes: every file spans many blocks, and lines are cut at block edges."""
    monkeypatch.setattr(textfile, "BLOCK_BYTES", 300)
    yield


def _counts(ws: Workspace) -> tuple[int, ...]:
    return tuple(
        int(ws.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
        for t in ("access_events", "access_subjects", "quarantine", "ingest_files", "ingest_batches")
    )


VARIANTS: list[dict[str, object]] = [
    {},
    {"time": "2024-03-04T10:15:02Z"},
    {"time": "2024-03-04T10:15:02"},  # no offset: the workspace's zone
    {"time": "2024-03-04 10:15:02.5+09:00"},
    {"action": "EXPORT", "rows": 250, "bytes": "4096"},
    {"subjects": "T9"},  # a single subject, not a list
    {"subjects": ["T1", 42, "T3"]},
    {"subjects": []},
    {"columns": ["氏名", "住所"], "actor": "佐藤"},
    {"action": "steal"},
    {"time": "yesterday"},
    {"time": ""},
    {"actor": None},
    {"rows": "many"},
]


def test_sql_and_python_rules_agree(tmp_path: Path, line: Callable[..., str]) -> None:
    texts = [line(**v) for v in VARIANTS] + ["{broken", "[1, 2]"]
    f = tmp_path / "a.jsonl"
    f.write_text("\n".join(texts) + "\n", encoding="utf-8")
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Tokyo")
    staged = list(staged_blocks(f, ACCESS_STAGE_SQL, timezone=tz.key))
    good: dict[int, dict[str, object]] = {}
    for b in staged:
        rows = b.good.to_pylist()
        for r in rows:
            r["subjects"] = []
        for s in b.subjects.to_pylist():
            rows[s["row"]]["subjects"].append(s["subject_id"])
        good.update((r["n"], r) for r in rows)
    bad = {r["n"]: r["reason"] for b in staged for r in b.bad.to_pylist()}
    for n, text in enumerate(texts, start=1):
        try:
            expected = parse_access(json.loads(text), n)
        except (ValueError, TypeError):
            assert n in bad and n not in good, text
            continue
        assert n in good, (text, bad.get(n))
        got = good[n]
        ts = expected["ts"] if expected["ts"].tzinfo else expected["ts"].replace(tzinfo=tz)
        assert got["ts"].astimezone(UTC) == ts.astimezone(UTC)  # type: ignore[attr-defined]
        for key in ("account", "action", "resource", "owner_id", "row_count", "bytes", "columns"):
            assert got[key] == expected[key], key
        assert got["subjects"] == [s for _, s in expected["subjects"]]
    assert "steal" in bad[VARIANTS.index({"action": "steal"}) + 1]
    assert bad[len(texts) - 1] == "not valid JSON" and bad[len(texts)] == "not a JSON object"


def test_line_numbers_ids_and_quarantine_across_block_edges(
    ws: Workspace, tmp_path: Path, line: Callable[..., str], small_blocks: None
) -> None:
    rows = []
    for i in range(40):
        rows.append(line(subjects=[f"T{i}"]) if i % 7 else "{oops")
        if i % 11 == 5:
            rows.append("   ")  # blank: skipped, but counts as a line
    f = tmp_path / "a.jsonl"
    # BOM, CRLF line ends, and a last line without a newline
    f.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode("utf-8"))
    res = ingest_access_file(ws, f)
    bad_lines = [n for n, text in enumerate(rows, start=1) if text == "{oops"]
    good_lines = [n for n, text in enumerate(rows, start=1) if text.startswith("{") and text != "{oops"]
    assert res["events"] == len(good_lines) and res["quarantined"] == len(bad_lines)
    got = ws.con.execute("SELECT event_id, source_line FROM access_events ORDER BY event_id").fetchall()
    assert [e for e, _ in got] == list(range(len(good_lines)))
    assert [n for _, n in got] == good_lines
    q = ws.con.execute("SELECT line, reason, raw FROM quarantine ORDER BY line").fetchall()
    assert [n for n, _, _ in q] == bad_lines and all(raw == "{oops" for _, _, raw in q)
    subjects = ws.con.execute(
        "SELECT s.subject_id, e.source_line FROM access_subjects s JOIN access_events e USING (event_id)"
    ).fetchall()
    expected = {json.loads(text)["subjects"][0]: n for n, text in enumerate(rows, start=1) if n in good_lines}
    assert dict(subjects) == expected and len(subjects) == len(expected)
    files = ws.con.execute("SELECT bytes_done, lines_done FROM ingest_files").fetchall()
    assert files == [(f.stat().st_size, len(rows))]


def test_same_content_plain_and_gzipped_is_ingested_once(
    ws: Workspace, tmp_path: Path, line: Callable[..., str], small_blocks: None
) -> None:
    text = "\n".join(line(subjects=[f"T{i}"]) for i in range(20)) + "\n"
    plain = tmp_path / "a.jsonl"
    plain.write_text(text, encoding="utf-8")
    packed = tmp_path / "b.jsonl.gz"
    packed.write_bytes(gzip.compress(text.encode("utf-8")))
    assert ingest_access_file(ws, packed)["events"] == 20
    before = _counts(ws)
    again = ingest_access_file(ws, plain)
    assert again["skipped"] and again["events"] == 0
    assert _counts(ws) == before
    assert ingest_access_file(ws, packed)["skipped"]
    assert _counts(ws) == before


def test_grown_log_resumes_across_blocks(
    ws: Workspace, tmp_path: Path, line: Callable[..., str], small_blocks: None
) -> None:
    f = tmp_path / "live.jsonl"
    f.write_text("".join(line(subjects=[f"T{i}"]) + "\n" for i in range(10)), encoding="utf-8")
    assert ingest_access_file(ws, f)["events"] == 10
    with f.open("a", encoding="utf-8") as fh:
        fh.write("".join(line(subjects=[f"T{i}"]) + "\n" for i in range(10, 25)))
    res = ingest_access_file(ws, f)
    assert (res["events"], res["resumed_after_line"]) == (15, 10)
    got = ws.con.execute("SELECT source_line FROM access_events ORDER BY event_id").fetchall()
    assert [n for (n,) in got] == list(range(1, 26))
    subjects = [s for (s,) in ws.con.execute("SELECT subject_id FROM access_subjects ORDER BY event_id").fetchall()]
    assert subjects == [f"T{i}" for i in range(25)]
    assert ingest_access_file(ws, f)["skipped"]


def test_truncated_gzip_after_several_blocks_rolls_back(
    ws: Workspace, tmp_path: Path, line: Callable[..., str], small_blocks: None
) -> None:
    f = tmp_path / "a.jsonl.gz"
    data = gzip.compress(("\n".join(line(subjects=[f"T{i}"]) for i in range(3000)) + "\n").encode())
    f.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(InputError) as err:
        ingest_access_file(ws, f)
    assert str(f) in str(err.value)
    assert _counts(ws) == (0, 0, 0, 0, 0)
