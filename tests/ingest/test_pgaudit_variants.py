"""Shapes of real pgaudit output that need no server to check (the server-made ones are in
test_pgaudit_variants_real.py): quoting of names, suppressed values, wrapper statements, stderr."""

from __future__ import annotations

from pathlib import Path

import pytest
from csvlog_lines import csv_line

from kansa.ingest.pgaudit import OwnerMap, plain_relation, read_pgaudit
from kansa.ingest.sqlmap import map_sql
from kansa.model.errors import InputError


@pytest.mark.parametrize(("logged", "plain"), [
    ("pref_osaka.residents", "pref_osaka.residents"),
    ('"Pref Kyoto"."住民"', "Pref Kyoto.住民"),
    ('public."a.b"', "public.a.b"),
    ('"say ""hi"""."t"', 'say "hi".t'),
])
def test_plain_relation(logged: str, plain: str) -> None:
    assert plain_relation(logged) == plain


def test_catalog_tables_belong_to_nobody_unless_the_registry_says_so() -> None:
    assert OwnerMap().owner_of(None, "pg_catalog.pg_class") is None
    assert OwnerMap().owner_of(None, "information_schema.tables") is None
    assert OwnerMap([(None, "pg_catalog", None, "dba-team")]).owner_of(None, "pg_catalog.pg_class") == "dba-team"
    assert OwnerMap().owner_of(None, "cc.residents") == "cc"


def _events(path: Path) -> list[dict[str, object]]:
    out = []
    for chunk in read_pgaudit(path):
        assert chunk.bad == []
        out.extend(chunk.access)
    return out


def test_a_suppressed_value_is_no_subject(tmp_path: Path) -> None:
    """pgaudit.log_parameter_max_size (pgaudit 1.7.1+) writes a long value as a placeholder."""
    sql = '"SELECT * FROM cc.residents WHERE resident_id = $1 OR resident_id = $2"'
    log = tmp_path / "p.csv"
    log.write_text(csv_line(f'AUDIT: SESSION,1,1,READ,SELECT,TABLE,cc.residents,{sql},'
                            '"R1,<long param suppressed>"'), encoding="utf-8")
    [event] = _events(log)
    assert event["subjects"] == [("cc", "R1")]


def test_a_quoted_japanese_table_is_named_as_the_parser_names_it(tmp_path: Path) -> None:
    log = tmp_path / "q.csv"
    log.write_text(csv_line('AUDIT: SESSION,1,1,READ,SELECT,TABLE,"""京都"".""住民""",'
                            '"SELECT 氏名 FROM ""京都"".""住民"" WHERE 住民番号 = $1",K1'), encoding="utf-8")
    [event] = _events(log)
    assert (event["resource"], event["owner_id"], event["subjects"]) == ("京都.住民", "京都", [("京都", "K1")])


@pytest.mark.parametrize(("sql", "command", "action", "tables"), [
    ("DECLARE c CURSOR FOR SELECT * FROM s.t", "SELECT", "export", ["s.t"]),
    ("DECLARE c CURSOR FOR SELECT * FROM s.t", "DECLARE CURSOR", "other", []),
    ("SELECT * INTO s.copy FROM s.t", "SELECT", "export", ["s.t"]),
    ("SELECT * INTO s.copy FROM s.t", "SELECT INTO", "admin", ["s.copy"]),
    ("CREATE TABLE s.copy AS SELECT a FROM s.t WHERE id = '1'", "SELECT", "view", ["s.t"]),
    ("CREATE TABLE s.copy AS SELECT a FROM s.t", "CREATE TABLE AS", "admin", ["s.copy"]),
    # a PL/pgSQL statement as pgaudit logs it: the variable's name, not its value
    ("SELECT name FROM s.t WHERE resident_id = id", "SELECT", "view", ["s.t"]),
    ("SELECT name FROM s.t WHERE resident_id = p_id AND kind_code = p_kind", "SELECT", "search", ["s.t"]),
    # two tables: the same shape is a join condition
    ("SELECT name FROM s.t JOIN s.u ON resident_id = id", "SELECT", "export", ["s.t", "s.u"]),
    # a WITH name is no table
    ("WITH x AS (SELECT * FROM s.t WHERE id = 'A') SELECT name FROM x", "SELECT", "view", ["s.t"]),
    ("WITH x AS (SELECT * FROM s.t) SELECT * FROM x JOIN s.u USING (k)", "SELECT", "export", ["s.u", "s.t"]),
])
def test_statements_inside_statements(sql: str, command: str, action: str, tables: list[str]) -> None:
    m = map_sql(sql, [], command)
    assert (m.action, m.tables) == (action, tables)


def test_unparseable_sql_keeps_the_event_with_pgaudits_relation_and_command(tmp_path: Path) -> None:
    log = tmp_path / "u.csv"
    log.write_text(
        csv_line('AUDIT: SESSION,1,1,WRITE,UPDATE,TABLE,cc.residents,"UPDATE cc.residents SET SET (",<none>')
        + csv_line('AUDIT: SESSION,2,1,READ,SELECT,,,"SELECT FROM FROM (",<none>'), encoding="utf-8")
    events = _events(log)
    assert [(e["action"], e["resource"], e["owner_id"]) for e in events] == [
        ("update", "cc.residents", "cc"), ("other", None, None)]


def test_permission_denied_for_a_schema_is_a_failed_access_to_its_table(tmp_path: Path) -> None:
    ts = "2024-01-05 10:00:00.123 JST"
    log = tmp_path / "d.csv"
    log.write_text(f'{ts},"op1","kintai",1,"10.0.0.5:5000",65a.1,1,"SELECT",{ts},3/1,0,ERROR,42501,'
                   '"permission denied for schema secret",,,,,,"SELECT * FROM secret.t WHERE id = \'X1\'",,,'
                   '"psql","client backend",,0\n', encoding="utf-8")
    [event] = _events(log)
    assert (event["action"], event["resource"], event["outcome"], event["subjects"]) == (
        "view", "secret.t", "failure", [("secret", "X1")])


def test_a_jsonlog_named_like_any_log_is_read_as_jsonlog(tmp_path: Path) -> None:
    log = tmp_path / "db01-postgresql.log"
    log.write_text('{"timestamp":"2024-01-05 10:00:00.123 JST","user":"op1","dbname":"kintai","pid":7,'
                   '"remote_host":"10.0.0.5","session_id":"65a.1","vxid":"3/1","error_severity":"LOG",'
                   '"message":"AUDIT: SESSION,1,1,READ,SELECT,TABLE,cc.t,SELECT * FROM cc.t WHERE id = $1,X1"}\n',
                   encoding="utf-8")
    [event] = _events(log)
    assert (event["resource"], event["subjects"], event["source_ip"]) == ("cc.t", [("cc", "X1")], "10.0.0.5")


def test_stderr_log_is_refused_naming_the_setting(tmp_path: Path) -> None:
    log = tmp_path / "postgresql-2024-01-05.log"
    log.write_text(
        "2024-01-05 10:00:00.123 JST [4242] LOG:  database system is ready to accept connections\n"
        "2024-01-05 10:00:01.001 JST [4250] LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\n"
        "2024-01-05 10:00:02.002 JST [4250] ERROR:  relation \"x\" does not exist at character 15\n"
        "2024-01-05 10:00:02.002 JST [4250] STATEMENT:  SELECT * FROM x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"stderr log.*log_destination = 'csvlog'") as err:
        _events(log)
    assert str(log) in str(err.value) and "\n" not in str(err.value)
