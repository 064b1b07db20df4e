"""read_pgaudit on hand-written csvlog/jsonlog lines: damage, gzip, statement-once, time zones."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from csvlog_lines import csv_line

from kansa.ingest import pgaudit
from kansa.ingest.pgaudit import parse_log_time, read_pgaudit
from kansa.model.errors import InputError, KansaError


def _read(path: Path) -> tuple[list[dict[str, Any]], list[Any]]:
    access: list[dict[str, Any]] = []
    bad: list[Any] = []
    for chunk in read_pgaudit(path):
        access.extend(chunk.access)
        bad.extend(chunk.bad)
    return access, bad


def test_csvlog_audit_line_maps_and_other_lines_are_skipped(tmp_path: Path) -> None:
    p = tmp_path / "postgresql.csv"
    p.write_text(
        csv_line("checkpoint starting: time", user="", conn="")
        + csv_line('AUDIT: SESSION,1,1,READ,SELECT,,,"SELECT * FROM pref_osaka.residents '
                    'WHERE resident_id = $1",R77'),
        encoding="utf-8")
    access, bad = _read(p)
    assert bad == [] and len(access) == 1
    e = access[0]
    assert (e["action"], e["resource"], e["owner_id"]) == ("view", "pref_osaka.residents", "pref_osaka")
    assert e["subjects"] == [("pref_osaka", "R77")]
    assert e["account"] == "maint01" and e["source_ip"] == "10.0.0.5" and e["terminal"] is None
    assert e["source_line"] == 2 and e["row_count"] is None
    assert e["ts"] == datetime(2024, 1, 5, 1, 0, 0, 123000, tzinfo=UTC)


def test_statement_logged_once_is_recovered(tmp_path: Path) -> None:
    p = tmp_path / "pg.csv"
    p.write_text(
        csv_line('AUDIT: SESSION,7,1,READ,SELECT,TABLE,cartax.taxpayer,'
                  '"SELECT * FROM cartax.taxpayer JOIN cartax.car USING (k) WHERE taxpayer_id = $1",T1')
        + csv_line("AUDIT: SESSION,7,1,READ,SELECT,TABLE,cartax.car,<previously logged>,"
                    "<previously logged>"),
        encoding="utf-8")
    access, _ = _read(p)
    assert [e["statement"] for e in access] == [
        "SELECT * FROM cartax.taxpayer JOIN cartax.car USING (k) WHERE taxpayer_id = $1"] * 2
    assert [e["resource"] for e in access] == ["cartax.taxpayer", "cartax.car"]
    assert access[1]["subjects"] == [("cartax", "T1")]


def test_multiline_statement_keeps_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "pg.csv"
    p.write_text(
        csv_line('AUDIT: SESSION,1,1,READ,SELECT,,,"SELECT *\nFROM s.t",<none>')
        + csv_line("AUDIT: SESSION,2,1,READ,COPY,,,COPY s.t TO STDOUT,<none>"),
        encoding="utf-8")
    access, _ = _read(p)
    assert [e["source_line"] for e in access] == [1, 3]
    assert [e["action"] for e in access] == ["export", "export"]


def test_damaged_lines_become_bad_lines_with_numbers(tmp_path: Path) -> None:
    good = csv_line("AUDIT: SESSION,1,1,READ,COPY,,,COPY s.t TO STDOUT,<none>")
    p = tmp_path / "pg.csv"
    p.write_bytes(
        good.encode()
        + b"only,three,columns\n"
        + csv_line("AUDIT: SESSION,2,1,READ,SELECT,,,SELECT * FROM s.t WHERE id = 'x',<none>")
        .encode().replace(b"'x'", b"'\xff\xfe'")
        + csv_line("AUDIT: SESSION,3,1,READ,SELECT,,,SELECT 1,<none>", ts="2024-01-05 10:00:00 XYZ").encode()
        + good.replace("SESSION,1,", "SESSION,9,").encode())
    access, bad = _read(p)
    assert len(access) == 2
    assert [b.line for b in bad] == [2, 3, 4]
    assert "26" in bad[0].reason and "UTF-8" in bad[1].reason and "XYZ" in bad[2].reason


def test_gzip_jsonlog(tmp_path: Path) -> None:
    rec = {"timestamp": "2024-03-01 09:30:00.000 +09", "user": "dba1", "remote_host": "192.0.2.7",
           "remote_port": 5000, "session_id": "s1", "pid": 1, "error_severity": "LOG",
           "message": "AUDIT: SESSION,1,1,MISC,SET,,,SET pgaudit.log = 'none',<none>"}
    p = tmp_path / "postgresql.json.gz"
    with gzip.open(p, "wt", encoding="utf-8") as f:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        f.write("{not json\n")
    access, bad = _read(p)
    assert access[0]["action"] == "admin" and access[0]["resource"] == "pgaudit.log"
    assert access[0]["owner_id"] is None and access[0]["source_ip"] == "192.0.2.7"
    assert access[0]["ts"].utcoffset() == timedelta(hours=9)
    assert [b.line for b in bad] == [2]


def test_truncated_gzip_fails_the_whole_file(tmp_path: Path) -> None:
    """Half a file is not ingested as if it were the file: the pipeline rolls it back."""
    p = tmp_path / "pg.log"  # gzip by its bytes, whatever the name
    data = gzip.compress(csv_line("AUDIT: SESSION,1,1,READ,COPY,,,COPY s.t TO STDOUT,<none>").encode() * 50)
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"pg\.log:\d+: cannot read after line \d+: .*end-of-stream"):
        _read(p)


@pytest.mark.parametrize(("settle", "ends"), [(0, [2, 4, 5]), (1, [3, 5])])
def test_chunks_resume_at_end_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settle: int,
                                   ends: list[int]) -> None:
    monkeypatch.setattr(pgaudit, "CHUNK_LINES", 2)
    monkeypatch.setattr(pgaudit, "SETTLE_LINES", settle)
    p = tmp_path / "pg.csv"
    p.write_text("".join(csv_line(f"AUDIT: SESSION,{i},1,READ,COPY,,,COPY s.t TO STDOUT,<none>")
                         for i in range(5)), encoding="utf-8")
    chunks = list(read_pgaudit(p))
    assert [c.end_line for c in chunks] == ends
    assert [e["source_line"] for c in chunks for e in c.access] == [1, 2, 3, 4, 5]
    assert all(e["source_line"] <= c.end_line for c in chunks for e in c.access)


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(KansaError, match=r"nope\.csv"):
        list(read_pgaudit(tmp_path / "nope.csv"))


@pytest.mark.parametrize(
    ("text", "offset"),
    [("2024-01-05 10:00:00 UTC", 0), ("2024-01-05 10:00:00.5 -0330", -210), ("2024-07-05 10:00:00 JST", 540)],
)
def test_parse_log_time(text: str, offset: int) -> None:
    assert parse_log_time(text).utcoffset() == timedelta(minutes=offset)


@pytest.mark.parametrize("chunk_lines", [5000, 1])
def test_error_in_same_transaction_marks_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 chunk_lines: int) -> None:
    monkeypatch.setattr(pgaudit, "CHUNK_LINES", chunk_lines)  # 1: the error comes after the chunk is full
    p = tmp_path / "pg.csv"
    p.write_text(
        csv_line("AUDIT: SESSION,1,1,READ,COPY,,,COPY s.t TO STDOUT,<none>", vxid="3/1")
        + csv_line("AUDIT: SESSION,2,1,READ,COPY,,,COPY s.u TO STDOUT,<none>", vxid="3/2")
        + csv_line("invalid input syntax", vxid="3/2", severity="ERROR")
        # an error in another session or transaction says nothing about these statements
        + csv_line("permission denied", vxid="3/1", severity="ERROR", session="other.2"),
        encoding="utf-8")
    access, _ = _read(p)
    assert [e["outcome"] for e in access] == ["success", "failure"]


def test_session_and_object_lines_for_one_access_count_once(tmp_path: Path) -> None:
    sql = '"SELECT * FROM s.t JOIN s.u USING (k)"'
    p = tmp_path / "pg.csv"
    p.write_text(
        csv_line(f"AUDIT: SESSION,4,1,READ,SELECT,TABLE,s.t,{sql},<none>")
        + csv_line(f"AUDIT: SESSION,4,1,READ,SELECT,TABLE,s.u,{sql},<none>")
        + csv_line(f"AUDIT: OBJECT,4,1,READ,SELECT,TABLE,s.t,{sql},<none>")
        + csv_line(f"AUDIT: SESSION,5,1,READ,SELECT,TABLE,s.t,{sql},<none>"),
        encoding="utf-8")
    access, _ = _read(p)
    assert [e["resource"] for e in access] == ["s.t", "s.u", "s.t"]
    assert [e["source_line"] for e in access] == [1, 2, 4]


@pytest.mark.parametrize(("conn", "ip"), [("[local]", None), ("::1:5432", "::1"), ("10.1.2.3:70", "10.1.2.3")])
def test_csv_connection_from(tmp_path: Path, conn: str, ip: str | None) -> None:
    p = tmp_path / "pg.csv"
    p.write_text(csv_line("AUDIT: SESSION,1,1,READ,COPY,,,COPY s.t TO STDOUT,<none>", conn=conn),
                 encoding="utf-8")
    assert _read(p)[0][0]["source_ip"] == ip


def test_euc_jp_statement_from_an_euc_jp_database_is_read(tmp_path: Path) -> None:
    line = csv_line("AUDIT: SESSION,1,1,READ,SELECT,,,SELECT * FROM s.t WHERE 住民番号 = 'X1',<none>")
    p = tmp_path / "pg.csv"
    p.write_bytes(line.encode("euc_jp"))
    access, bad = _read(p)
    assert bad == [] and access[0]["subjects"] == [("s", "X1")]


def test_connection_messages_become_login_and_logout(tmp_path: Path) -> None:
    """C1: log_connections/log_disconnections lines are session events keyed by session id."""
    p = tmp_path / "pg.csv"
    p.write_text(
        csv_line("connection received: host=10.0.0.5 port=51234", user="")
        + csv_line("connection authorized: user=maint01 database=kintai application_name=psql",
                    session="65a.7")
        + csv_line("AUDIT: SESSION,1,1,READ,COPY,,,COPY s.t TO STDOUT,<none>", session="65a.7")
        + csv_line("disconnection: session time: 0:41:02.117 user=maint01 database=kintai "
                    "host=10.0.0.5 port=51234", session="65a.7", vxid="",
                    ts="2024-01-05 10:41:02.240 JST")
        + csv_line('password authentication failed for user "maint02"', user="maint02",
                    severity="FATAL", session="65a.8"),
        encoding="utf-8")
    access, bad = _read(p)
    assert bad == []
    assert [(e["action"], e["outcome"], e["source_system"]) for e in access] == [
        ("login", "success", "postgresql"), ("export", "success", "pgaudit"),
        ("logout", "success", "postgresql"), ("login", "failure", "postgresql")]
    login, export, logout, failed = access
    assert login["resource"] == logout["resource"] == "session:65a.7"
    assert export["resource"] == "s.t"  # statements keep their table, not the session
    assert failed["resource"] == "session:65a.8" and failed["account"] == "maint02"
    assert login["account"] == logout["account"] == "maint01"
    assert login["source_ip"] == logout["source_ip"] == "10.0.0.5"
    assert logout["statement"].startswith("disconnection: session time: 0:41:02.117")
    assert [e["source_line"] for e in access] == [2, 3, 4, 5]
    assert logout["ts"] - login["ts"] == timedelta(minutes=41, seconds=2, microseconds=117000)


def test_copy_of_a_query_is_one_export(tmp_path: Path) -> None:
    """PostgreSQL 15 + pgaudit 1.7 log COPY (SELECT ...) TO as SELECT per table, then COPY."""
    sql = '"COPY (SELECT * FROM s.t WHERE id IN (\'a\', \'b\')) TO STDOUT;"'
    p = tmp_path / "pg.csv"
    p.write_text(
        csv_line(f"AUDIT: SESSION,4,1,READ,SELECT,TABLE,s.t,{sql},<none>")
        + csv_line(f"AUDIT: SESSION,4,2,READ,COPY,,,{sql},<none>")
        + csv_line(f"AUDIT: SESSION,5,1,READ,COPY,,,{sql},<none>"),  # a later COPY is its own export
        encoding="utf-8")
    access, bad = _read(p)
    assert bad == [] and [(e["action"], e["resource"], e["source_line"]) for e in access] == [
        ("export", "s.t", 1), ("export", "s.t", 3)]
    assert access[0]["subjects"] == [("s", "a"), ("s", "b")] and access[0]["row_count"] is None


@pytest.mark.parametrize(("tail", "n_params", "expected"), [
    (["<none>"], 0, ([], None)),
    (["<none>", "25"], 0, ([], 25)),            # log_rows on, no parameters
    (["<not logged>", "3"], 1, ([], 3)),
    (["T001"], 1, (["T001"], None)),            # log_rows off
    (["T001", "1"], 1, (["T001"], 1)),          # log_rows on: one field more than the $n
    (["T001", "7"], 2, (["T001", "7"], None)),  # one field per value (not pgaudit's layout)
    (["T001,7"], 2, (["T001", "7"], None)),     # pgaudit's: every value in one CSV field
    (["T001,7", "1"], 2, (["T001", "7"], 1)),
    (['"R,3",it\'s', "1"], 2, (["R,3", "it's"], 1)),
    (["T001,,"], 1, (["T001", "", ""], None)),  # a function's statement: NULL values empty
    (["a,b", "x", "2"], 2, (["a,b", "x"], 2)),
    (["T001", "n/a"], 1, (["T001", "n/a"], None)),
    ([], 0, ([], None)),
])
def test_params_and_rows(tail: list[str], n_params: int, expected: tuple[list[str], int | None]) -> None:
    assert pgaudit.params_and_rows(tail, n_params) == expected


def test_log_rows_fills_row_count_where_it_is_real(tmp_path: Path) -> None:
    p = tmp_path / "pg.csv"
    p.write_text(
        csv_line('AUDIT: SESSION,1,1,READ,SELECT,TABLE,s.t,"SELECT * FROM s.t WHERE id = $1",R7,1')
        + csv_line("AUDIT: SESSION,2,1,READ,SELECT,TABLE,s.t,SELECT * FROM s.t,<none>,25")
        + csv_line("AUDIT: SESSION,3,1,READ,COPY,,,COPY s.t TO STDOUT,<none>,0")  # COPY reports 0
        + csv_line("AUDIT: SESSION,4,1,READ,SELECT,TABLE,s.t,SELECT * FROM s.t,<none>"),  # log_rows off
        encoding="utf-8")
    access, bad = _read(p)
    assert bad == []
    assert [(e["action"], e["row_count"]) for e in access] == [
        ("view", 1), ("export", 25), ("export", None), ("export", None)]
    assert access[0]["subjects"] == [("s", "R7")]


@pytest.mark.parametrize("columns", [23, 24])
def test_older_server_layouts(tmp_path: Path, columns: int) -> None:
    """PostgreSQL 9.0-12 write 23 csvlog columns, 13 writes 24; the columns read are the same."""
    text = ""
    for n in (1, 2):
        line = csv_line(f"AUDIT: SESSION,{n},1,READ,COPY,,,COPY s.t TO STDOUT,<none>").rstrip("\n")
        fields = next(csv.reader([line]))
        text += ",".join('"' + f.replace('"', '""') + '"' for f in fields[:columns]) + "\n"
    p = tmp_path / "pg.csv"
    p.write_text(text, encoding="utf-8")
    access, bad = _read(p)
    assert bad == [] and [e["action"] for e in access] == ["export", "export"]
    assert access[0]["account"] == "maint01" and access[0]["source_ip"] == "10.0.0.5"


def test_zone_abbreviation_of_the_workspace_zone(tmp_path: Path) -> None:
    """CST is ambiguous in general; for a server in the workspace's zone it is that zone's name."""
    chicago = ZoneInfo("America/Chicago")
    assert pgaudit.parse_log_time("2024-01-05 10:00:00 CST", chicago) == datetime(2024, 1, 5, 16, tzinfo=UTC)
    # the hour clocks repeat on 3 Nov 2024: the abbreviation says which of the two it was
    assert pgaudit.parse_log_time("2024-11-03 01:30:00 CDT", chicago) == datetime(2024, 11, 3, 6, 30, tzinfo=UTC)
    assert pgaudit.parse_log_time("2024-11-03 01:30:00 CST", chicago) == datetime(2024, 11, 3, 7, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="CST"):
        pgaudit.parse_log_time("2024-01-05 10:00:00 CST", ZoneInfo("Asia/Tokyo"))
    p = tmp_path / "pg.csv"
    p.write_text(csv_line("AUDIT: SESSION,1,1,READ,COPY,,,COPY s.t TO STDOUT,<none>",
                           ts="2024-07-05 10:00:00.000 CDT"), encoding="utf-8")
    assert [e["ts"] for c in read_pgaudit(p, local=chicago) for e in c.access] == [
        datetime(2024, 7, 5, 15, tzinfo=UTC)]
    assert [b.reason for c in read_pgaudit(p) for b in c.bad] == [
        "unknown time zone abbreviation 'CDT'; set log_timezone to UTC or an offset"]


def test_statement_once_with_log_rows(tmp_path: Path) -> None:
    """As PostgreSQL 15 + pgaudit 1.7 write a parameterised join with log_statement_once and log_rows."""
    sql = "PREPARE q(text) AS SELECT * FROM s.t JOIN s.u USING (id) WHERE id = $1;"
    p = tmp_path / "pg.csv"
    p.write_text(
        csv_line(f"AUDIT: SESSION,9,1,READ,SELECT,TABLE,s.t,{sql},R3,1")
        + csv_line("AUDIT: SESSION,9,1,READ,SELECT,TABLE,s.u,<previously logged>,<previously logged>,1")
        + csv_line("AUDIT: SESSION,9,2,MISC,EXECUTE,,,EXECUTE q('R3');,<none>,0"),
        encoding="utf-8")
    access, bad = _read(p)
    assert bad == []
    assert [(e["action"], e["resource"], e["row_count"], e["subjects"]) for e in access] == [
        ("view", "s.t", 1, [("s", "R3")]), ("view", "s.u", 1, [("s", "R3")]), ("other", None, None, [])]
