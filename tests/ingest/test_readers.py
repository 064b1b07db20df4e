"""Readers and the registry/world entry points, on tiny hand-written inputs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kansa.ingest import ingest_access_file, ingest_cert_dir, ingest_registry, ingest_world
from kansa.model.errors import InputError
from kansa.model.workspace import Workspace


def test_ocsf_detected_and_mapped(ws: Workspace, tmp_path: Path) -> None:
    ms = int(datetime(2024, 3, 4, 1, 0, tzinfo=UTC).timestamp() * 1000)
    events = [
        {"class_uid": 6005, "activity_id": 1, "time": ms, "actor": {"user": {"name": "op1"}},
         "database": {"name": "cartax"}, "table": {"name": "taxpayer"}, "status_id": 1,
         "src_endpoint": {"ip": "10.0.0.5"}, "unmapped": {"owner": "pref-osaka", "subjects": ["T1", "T2"], "rows": 2}},
        {"class_uid": 6005, "activity_id": 1, "activity_name": "Export", "time": ms, "actor": {"user": {"name": "op1"}},
         "status_id": 2},
        {"class_uid": 3002, "activity_id": 1, "time": ms, "actor": {"user": {"name": "op1"}}},
        {"class_uid": 4001, "activity_id": 1, "time": ms},
    ]
    f = tmp_path / "x.ocsf.jsonl"
    f.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    res = ingest_access_file(ws, f)
    assert res["source"] == "ocsf" and res["events"] == 3 and res["quarantined"] == 1
    rows = ws.con.execute(
        "SELECT action, resource, outcome, row_count, ts FROM access_events ORDER BY event_id").fetchall()
    assert [r[0] for r in rows] == ["view", "export", "login"]
    assert rows[0][1] == "cartax.taxpayer" and rows[0][2] == "success" and rows[0][3] == 2
    assert rows[1][2] == "failure"
    assert rows[0][4].astimezone(UTC) == datetime(2024, 3, 4, 1, 0, tzinfo=UTC)
    subjects = ws.con.execute("SELECT owner_id, subject_id FROM access_subjects ORDER BY subject_id").fetchall()
    assert subjects == [("pref-osaka", "T1"), ("pref-osaka", "T2")]
    reason = ws.con.execute("SELECT line, reason FROM quarantine").fetchone()
    assert reason is not None and reason[0] == 4 and "4001" in reason[1]


def test_cert_r62_and_r42_layouts(ws: Workspace, tmp_path: Path) -> None:
    r62 = tmp_path / "r62"
    r62.mkdir()
    (r62 / "device.csv").write_text(
        "id,date,user,pc,file_tree,activity\n{a},01/02/2024 10:00:00,U1,PC-1,R:\\,Connect\n"
        "{b},01/02/2024 10:30:00,U1,PC-1,,Disconnect\n{c},13/45/2024 10:30:00,U1,PC-1,,Connect\n"
    )
    (r62 / "file.csv").write_text(
        "id,date,user,pc,filename,activity,to_removable_media,from_removable_media,content\n"
        "{d},01/02/2024 10:10:00,U1,PC-1,R:\\list.csv,File Copy,True,False,x\n"
        "{e},01/02/2024 10:11:00,U1,PC-1,C:\\memo.doc,File Open,False,False,x\n"
    )
    res = ingest_cert_dir(ws, r62)
    assert res["endpoint_events"] == 4 and res["quarantined"] == 1
    rows = ws.con.execute("SELECT kind, to_removable, path, ts FROM endpoint_events ORDER BY event_id").fetchall()
    assert [(k, t) for k, t, _, _ in rows] == [
        ("usb_connect", None), ("usb_disconnect", None), ("file_copy", True), ("file_open", False)]
    # CERT times are local (workspace zone Asia/Tokyo): 10:00 JST is 01:00 UTC
    assert rows[0][3].astimezone(UTC) == datetime(2024, 1, 2, 1, 0, tzinfo=UTC)
    line = ws.con.execute("SELECT line FROM quarantine").fetchone()
    assert line == (4,)

    r42 = tmp_path / "r42"
    r42.mkdir()
    (r42 / "file.csv").write_text("id,date,user,pc,filename,content\n{f},01/03/2024 09:00:00,U2,PC-2,a.zip,x\n")
    ingest_cert_dir(ws, r42)
    last = ws.con.execute("SELECT kind, to_removable FROM endpoint_events ORDER BY event_id DESC LIMIT 1").fetchone()
    assert last == ("file_copy", True)


def test_registry_replaces_and_quarantines(ws: Workspace, registry_dir: Path) -> None:
    first = ingest_registry(ws, registry_dir)
    assert first["tables"]["actors"] == 3 and not first["skipped"]
    assert ingest_registry(ws, registry_dir)["skipped"]
    original = (registry_dir / "actors.csv").read_text(encoding="utf-8")
    (registry_dir / "actors.csv").write_text(
        "actor_id,display_name,role,org_id,placed_at,team,privileged,valid_from,valid_to\n"
        "A9,新人,operator,cc,,t1,maybe,2024-01-01,\nA8,田中,operator,cc,,t1,false,2024-02-30,\n"
        "A7,伊藤,operator,cc,,t1,true,2024-02-01,\n"
    )
    second = ingest_registry(ws, registry_dir)
    assert second["quarantined"] == 2
    assert ws.con.execute("SELECT actor_id, privileged FROM actors").fetchall() == [("A7", True)]
    assert [r[0] for r in ws.con.execute("SELECT line FROM quarantine ORDER BY line").fetchall()] == [2, 3]
    (registry_dir / "actors.csv").write_text(original, encoding="utf-8")  # back to the first export
    third = ingest_registry(ws, registry_dir)
    assert not third["skipped"] and third["tables"]["actors"] == 3


def test_world_manifest_order_kinds_and_missing_pgaudit_reader(
    ws: Workspace, tmp_path: Path, registry_dir: Path, line: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = registry_dir.parent
    (world / "logs").mkdir()
    (world / "logs" / "a.jsonl").write_text(
        line() + "\n" + line(actor="admin", source_ip="10.0.0.2") + "\n" + line(actor="admin", source_ip="10.0.0.9") + "\n"
    )
    (world / "endpoint").mkdir()
    (world / "endpoint" / "logon.csv").write_text("id,date,user,pc,activity\n{1},03/04/2024 09:00:00,U3,PC-SHARED,Logon\n")
    (world / "logs" / "pg.csv").write_text("whatever\n")
    (world / "ds.csv").write_text("納税者番号,氏名\nT1,山田\nT2,佐藤\n", encoding="cp932")
    manifest = {"format": "kansa-world/1", "files": [
        {"path": "registry", "kind": "registry"},
        {"path": "logs/a.jsonl", "kind": "access"},
        {"path": "logs/pg.csv", "kind": "pgaudit"},
        {"path": "logs/missing.jsonl", "kind": "access"},
        {"path": "endpoint", "kind": "cert"},
        {"path": "ds.csv", "kind": "dataset", "owner": "pref-osaka", "name": "car-tax", "version": "2024",
         "categories": ["basic"], "encoding": "cp932"},
    ]}
    (world / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setitem(sys.modules, "kansa.ingest.pgaudit", None)  # import now raises ImportError
    res = ingest_world(ws, world)
    assert res["events"] == 3 and res["files"] == 4 and res["quarantined"] == 2
    # the logon listed after the access log still resolves the shared account on PC-SHARED
    actors = ws.con.execute("SELECT actor_id FROM access_events ORDER BY event_id").fetchall()
    assert actors == [("A1",), ("A2",), ("A3",)]
    assert ws.con.execute("SELECT dataset_id, records FROM datasets").fetchall() == [("pref-osaka/car-tax/2024", 2)]
    again = ingest_world(ws, world)
    assert again["events"] == 0 and again["skipped"] == 4


def test_world_without_manifest_is_a_clear_error(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"manifest\.json"):
        ingest_world(ws, tmp_path)


def test_bom_and_crlf_lines_are_read(ws: Workspace, tmp_path: Path, line: Callable[..., str]) -> None:
    f = tmp_path / "excelish.jsonl"
    f.write_bytes(("\ufeff" + line() + "\r\n" + line(action="print") + "\r\n").encode("utf-8"))
    res = ingest_access_file(ws, f)
    assert (res["events"], res["quarantined"]) == (2, 0)
    cert = tmp_path / "cert"
    cert.mkdir()
    (cert / "logon.csv").write_bytes(b"\xef\xbb\xbfid,date,user,pc,activity\r\n{1},03/04/2024 09:00:00,U3,PC-9,Logon\r\n")
    assert ingest_cert_dir(ws, cert)["endpoint_events"] == 1


def test_registry_saved_by_excel_in_cp932(ws: Workspace, registry_dir: Path) -> None:
    text = (registry_dir / "actors.csv").read_text(encoding="utf-8")
    (registry_dir / "actors.csv").write_bytes(text.encode("cp932"))
    ingest_registry(ws, registry_dir)
    names = {r[0] for r in ws.con.execute("SELECT display_name FROM actors").fetchall()}
    assert names == {"山田", "佐藤", "鈴木"}
    (registry_dir / "actors.csv").write_bytes(b"actor_id,display_name,role\nA1,\x81 \xff,operator\n")
    with pytest.raises(InputError, match=r"actors\.csv"):
        ingest_registry(ws, registry_dir)
