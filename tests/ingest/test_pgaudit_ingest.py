"""pgaudit through the pipeline: table owners from db_owners.csv, live logs that grow."""

from __future__ import annotations

from pathlib import Path

from kansa.ingest import ingest_pgaudit_file, ingest_registry
from kansa.ingest.pgaudit import OwnerMap
from kansa.model.workspace import init_workspace


def _line(message: str, db: str = "callcenter", n: int = 1) -> str:
    msg = '"' + message.replace('"', '""') + '"'
    ts = "2024-01-05 10:00:00.123 JST"
    return (f'{ts},"maint01","{db}",4242,"10.0.0.5:5123",65a.{n},1,"SELECT",{ts},3/{n},0,LOG,00000,'
            f'{msg},,,,,,,,,"psql","client backend",,0\n')


def test_most_specific_mapping_wins() -> None:
    owners = OwnerMap([
        ("callcenter", "cc_2019", None, "pref-osaka"),
        ("callcenter", "cc_2019", "health_check", "city-sakai"),
        (None, "public", "customers", "insurer-a"),
        ("", "shared", "", "muni-b"),
    ])
    assert owners.owner_of("callcenter", "cc_2019.taxpayer") == "pref-osaka"
    assert owners.owner_of("callcenter", "cc_2019.health_check") == "city-sakai"
    assert owners.owner_of("other_db", "cc_2019.taxpayer") == "cc_2019"  # mapping is per database
    assert owners.owner_of("anydb", "customers") == "insurer-a"  # unqualified → public
    assert owners.owner_of(None, "shared.x") == "muni-b"
    assert owners.owner_of("callcenter", "pref_kyoto.residents") == "pref_kyoto"  # default: schema
    assert owners.owner_of("callcenter", "orphan") is None


def test_registry_db_owners_drive_pgaudit_ingest(tmp_path: Path) -> None:
    reg = tmp_path / "registry"
    reg.mkdir()
    (reg / "db_owners.csv").write_text(
        "database,schema,table,owner_id\ncallcenter,cc_2019,,pref-osaka\n", encoding="utf-8")
    log = tmp_path / "pg.csv"
    log.write_text(
        _line("AUDIT: SESSION,1,1,READ,SELECT,TABLE,cc_2019.taxpayer,"
              "SELECT * FROM cc_2019.taxpayer WHERE taxpayer_id = 'T9',<none>")
        + _line("AUDIT: SESSION,1,1,READ,SELECT,TABLE,pref_kyoto.residents,"
                "SELECT * FROM pref_kyoto.residents WHERE resident_id = 'R1',<none>", n=2),
        encoding="utf-8")
    with init_workspace(tmp_path / "ws") as ws:
        assert ingest_registry(ws, reg)["tables"] == {"db_owners": 1}
        assert ingest_pgaudit_file(ws, log)["events"] == 2
        rows = ws.con.execute(
            "SELECT e.resource, e.owner_id, s.owner_id, s.subject_id FROM access_events e"
            " JOIN access_subjects s USING (event_id) ORDER BY e.event_id").fetchall()
    assert rows == [("cc_2019.taxpayer", "pref-osaka", "pref-osaka", "T9"),
                    ("pref_kyoto.residents", "pref_kyoto", "pref_kyoto", "R1")]


def test_live_log_record_being_written_waits_for_the_next_run(tmp_path: Path) -> None:
    """A csvlog the server is still appending to: its unfinished last record is neither
    quarantined nor counted; once finished, the next ingest takes it and what follows."""
    lines = [_line(f"AUDIT: SESSION,{n},1,READ,SELECT,TABLE,cc.t,SELECT * FROM cc.t WHERE t_id = 'T{n}',<none>",
                   n=n) for n in range(1, 5)]
    log = tmp_path / "postgresql.csv"
    cut = len(lines[2]) // 2
    log.write_text(lines[0] + lines[1] + lines[2][:cut], encoding="utf-8")
    with init_workspace(tmp_path / "ws") as ws:
        first = ingest_pgaudit_file(ws, log)
        assert (first["events"], first["quarantined"]) == (2, 0)
        with log.open("a", encoding="utf-8") as fh:
            fh.write(lines[2][cut:] + lines[3])
        second = ingest_pgaudit_file(ws, log)
        assert (second["events"], second["quarantined"], second["resumed_after_line"]) == (2, 0, 2)
        got = ws.con.execute("SELECT subject_id FROM access_subjects ORDER BY event_id").fetchall()
    assert [g[0] for g in got] == ["T1", "T2", "T3", "T4"]


def test_last_record_without_newline_is_still_read(tmp_path: Path) -> None:
    """A finished file that merely lacks the final newline loses nothing."""
    log = tmp_path / "pg.csv"
    log.write_text(_line("AUDIT: SESSION,1,1,READ,SELECT,TABLE,cc.t,SELECT * FROM cc.t,<none>").rstrip("\n"),
                   encoding="utf-8")
    with init_workspace(tmp_path / "ws") as ws:
        assert ingest_pgaudit_file(ws, log)["events"] == 1
