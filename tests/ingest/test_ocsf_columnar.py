"""OCSF through the block pipeline: plain lines mapped in SQL give what ``parse_ocsf`` gives, the
other lines are parsed by ``parse_ocsf`` itself; the workspace is the one the record-by-record
path (``ingest_chunks`` + ``read_ocsf``) built."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kansa.ingest import ingest_access_file, ingest_chunks, ingest_registry, textfile
from kansa.ingest.ocsf import read_ocsf
from kansa.ingest.ocsf_columnar import MAX_PLAIN_MS, OCSF_STAGE_SQL, stage_block
from kansa.model.workspace import Workspace, init_workspace

T0 = 1_709_514_902_123  # 2024-03-04T01:15:02.123Z


def _rec(**over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "class_uid": 6005, "activity_id": 2, "time": T0, "status_id": 1,
        "actor": {"user": {"name": "op1"}}, "database": {"name": "cartax"}, "table": {"name": "taxpayer"},
        "query_info": {"query_string": "SELECT * FROM taxpayer WHERE id = $1"},
        "src_endpoint": {"ip": "10.0.0.2", "hostname": "PC-A2"},
        "unmapped": {"owner": "pref-osaka", "subjects": ["T1", "T2"], "rows": 2},
    }
    rec.update(over)
    return rec


def _plain() -> list[dict[str, Any]]:
    """Shapes the SQL maps itself."""
    return [
        _rec(),
        _rec(activity_name="Export", activity_id=99),
        _rec(activity_name="Read", activity_id=1),  # not one of kansa's words: by the id
        _rec(class_uid=3002, activity_id=1, table=None, database=None, unmapped=None, status_id=2),
        _rec(class_uid=3002, activity_id=2, actor=None, user={"name": "山田"}),
        _rec(class_uid=1001, activity_id=4, file={"name": "/srv/名簿.csv"}, table=None, database=None),
        _rec(database={"name": ""}, status_id=None),  # no database: the table alone
        _rec(table=None, databucket={"name": "bucket-1"}),
        _rec(unmapped={"subjects": "T9"}),
        _rec(unmapped={"subjects": ""}),
        _rec(unmapped={"owner": "大阪府", "subjects": [], "rows": None}),
        _rec(unmapped="not an object"),
        _rec(activity_id=None, time=0),
        _rec(extra={"deep": [1, {"x": None}]}),
    ]


def _other() -> list[str]:
    """Lines the SQL leaves to parse_ocsf: some it accepts, some it rejects."""
    return [json.dumps(r, ensure_ascii=False) for r in (
        _rec(time=str(T0)),  # a time as text: parse_ocsf reads it
        _rec(time=T0 + 0.5),
        _rec(time=MAX_PLAIN_MS + 1),
        _rec(class_uid="6005"),  # unsupported: a string is not the class
        _rec(class_uid=4001),
        _rec(time=None),
        _rec(actor={"user": {"name": ""}}, user={"name": "fallback"}),
        _rec(actor={"user": {"name": ""}}),
        _rec(activity_id="2"),
        _rec(unmapped={"subjects": ["T1", 7], "rows": "3"}),
        _rec(unmapped={"rows": "many"}),
        _rec(status_id=True),
    )] + ["{broken", "[1, 2]", "   ", "\u3000"]


def _file(tmp_path: Path, lines: list[str]) -> Path:
    f = tmp_path / "x.ocsf.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f


def _tables(ws: Workspace) -> list[list[tuple[Any, ...]]]:
    return [ws.con.execute(sql).fetchall() for sql in (
        "SELECT * EXCLUDE (batch_id) FROM access_events ORDER BY event_id",
        "SELECT * FROM access_subjects ORDER BY event_id, subject_id",
        "SELECT line, reason, raw FROM quarantine ORDER BY line",
        "SELECT leaf_index, kind, ref_id, leaf_hash FROM ledger_leaves ORDER BY leaf_index",
    )]


def test_plain_lines_are_mapped_in_sql(tmp_path: Path) -> None:
    f = _file(tmp_path, [json.dumps(r, ensure_ascii=False) for r in _plain()])
    (block,) = list(textfile.line_blocks(f))
    con = duckdb.connect()
    con.register("_kansa_block", block.table())
    plain = con.execute(f"SELECT count(*) FILTER (WHERE plain), count(*) FROM ({OCSF_STAGE_SQL})").fetchall()
    assert plain == [(len(_plain()), len(_plain()))]


@pytest.mark.parametrize("blocks", [1 << 20, 700])
def test_same_workspace_as_record_by_record(tmp_path: Path, registry_dir: Path, blocks: int,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textfile, "BLOCK_BYTES", blocks)
    lines = [json.dumps(r, ensure_ascii=False) for r in _plain()] + _other()
    lines = lines + lines[::-1]
    f = _file(tmp_path, lines)
    one, two = init_workspace(tmp_path / "one"), init_workspace(tmp_path / "two")
    try:
        for w in (one, two):
            ingest_registry(w, registry_dir)
        r1 = ingest_chunks(one, f, "ocsf", read_ocsf).to_dict()
        r2 = ingest_access_file(two, f)
        assert r2["source"] == "ocsf" and r2["events"] == r1["events"] and r2["quarantined"] == r1["quarantined"]
        assert r2["events"] > len(_plain()) * 2 and r2["quarantined"] > 0
        assert _tables(one) == _tables(two)
        resolved = two.con.execute("SELECT count(*) FROM access_events WHERE actor_id IS NOT NULL").fetchall()
        assert resolved[0][0] > 0
    finally:
        one.close()
        two.close()


def test_a_value_the_model_cannot_hold_is_quarantined(ws: Workspace, tmp_path: Path) -> None:
    f = _file(tmp_path, [json.dumps(_rec(unmapped={"owner": 42})), json.dumps(_rec())])
    res = ingest_access_file(ws, f)
    assert (res["events"], res["quarantined"]) == (1, 1)
    assert ws.con.execute("SELECT line, reason FROM quarantine").fetchall() == [
        (1, "bad record: owner_id is not text: 42")
    ]


def test_every_block_keeps_line_order(tmp_path: Path) -> None:
    lines = [json.dumps(_rec(time=str(T0 + i)) if i % 3 else _rec(time=T0 + i)) for i in range(30)]
    f = _file(tmp_path, lines)
    (block,) = list(textfile.line_blocks(f))
    staged = stage_block(duckdb.connect(), block)
    assert staged.good.column("n").to_pylist() == list(range(1, 31))
    assert [t.timestamp() for t in staged.good.column("ts").to_pylist()] == [(T0 + i) / 1000 for i in range(30)]
