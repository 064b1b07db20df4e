"""sqlmap: hand-written SQL onto access-model actions, tables, columns and subject keys."""

from __future__ import annotations

import pytest

from kansa.ingest.sqlmap import map_sql


@pytest.mark.parametrize(
    ("sql", "params", "action"),
    [
        ("SELECT name FROM pref_osaka.residents WHERE resident_id = $1", ["R1"], "view"),
        ("SELECT * FROM pref_osaka.residents WHERE 納税者番号 = 'T001'", [], "view"),
        ("SELECT * FROM pref_osaka.residents WHERE name LIKE $1", ["山%"], "search"),
        ("SELECT * FROM s.t WHERE birth_date BETWEEN '1950-01-01' AND '1960-01-01'", [], "search"),
        ("SELECT * FROM s.t WHERE customer_id IN ('a', 'b')", [], "search"),
        ("SELECT * FROM pref_osaka.residents", [], "export"),
        ("SELECT r.* FROM s.r JOIN s.q ON r.id = q.id", [], "export"),
        ("COPY pref_osaka.residents TO STDOUT", [], "export"),
        ("COPY (SELECT name FROM s.t WHERE city = 'Sakai') TO '/tmp/x.csv'", [], "export"),
        ("COPY s.t FROM STDIN", [], "insert"),
        ("INSERT INTO s.t (a, b) VALUES (1, 2)", [], "insert"),
        ("UPDATE s.t SET address = $1 WHERE resident_id = $2", ["x", "R9"], "update"),
        ("DELETE FROM s.t WHERE resident_id = 'R9'", [], "delete"),
        ("SET pgaudit.log = 'none'", [], "admin"),
        ("ALTER SYSTEM SET pgaudit.log = 'none'", [], "admin"),
        ("ALTER ROLE maint01 SET pgaudit.log = 'none'", [], "admin"),
        ("SELECT set_config('pgaudit.log', 'none', false)", [], "admin"),
        ("SELECT set_config('application_name', 'x', false)", [], "other"),
        ("GRANT SELECT ON s.t TO temp_user", [], "admin"),
        ("CREATE TABLE s.copy AS SELECT * FROM s.t", [], "admin"),
        ("SET application_name = 'x'", [], "other"),
        ("SELECT 1", [], "other"),
    ],
)
def test_action(sql: str, params: list[str], action: str) -> None:
    assert map_sql(sql, params).action == action


def test_view_names_table_columns_and_subject_from_parameter() -> None:
    m = map_sql("SELECT name, address FROM pref_osaka.residents WHERE resident_id = $1", ["R002"])
    assert m.tables == ["pref_osaka.residents"]
    assert m.columns == ["name", "address"]
    assert m.keys == [("resident_id", "R002")]


def test_non_key_equality_is_not_a_subject() -> None:
    m = map_sql("SELECT * FROM s.t WHERE city = 'Sakai'")
    assert m.keys == [] and m.action == "search"


def test_unfilled_parameter_keeps_placeholder() -> None:
    assert map_sql("SELECT * FROM s.t WHERE resident_id = $1").keys == [("resident_id", "$1")]


def test_setting_is_named_for_audit() -> None:
    assert map_sql("SET pgaudit.log TO 'read'").setting == "pgaudit.log"
    assert map_sql("ALTER SYSTEM SET pgaudit.log = 'none'").setting == "pgaudit.log"
    assert map_sql("ALTER ROLE m SET pgaudit.log = 'none'").setting == "pgaudit.log"
    assert map_sql("SELECT set_config('pgaudit.log', 'none', false)").setting == "pgaudit.log"


def test_prepare_line_is_other_but_executed_prepare_is_the_query() -> None:
    sql = "PREPARE q(text) AS SELECT * FROM s.t WHERE resident_id = $1"
    assert map_sql(sql, [], "PREPARE").action == "other"
    ran = map_sql(sql, ["R5"], "SELECT")
    assert ran.action == "view" and ran.keys == [("resident_id", "R5")]
    assert map_sql("EXECUTE q('R5')", [], "EXECUTE").action == "other"


def test_unparseable_sql_is_other_with_reason() -> None:
    m = map_sql("SELEC * FRM")
    assert m.action == "other" and m.parse_error


def test_same_text_with_new_parameters_gives_new_subjects() -> None:
    sql = "SELECT * FROM s.t WHERE resident_id = $1"
    assert map_sql(sql, ["A"]).keys == [("resident_id", "A")]
    assert map_sql(sql, ["B"]).keys == [("resident_id", "B")]
    # a literal that merely looks like a placeholder is a value, not a parameter
    assert map_sql("SELECT * FROM s.t WHERE resident_id = '$1'", ["B"]).keys == [("resident_id", "$1")]


def test_multi_statement_string_picks_the_logged_statement() -> None:
    sql = "SET search_path = x; SELECT * FROM s.a WHERE id = 'k1'; DELETE FROM s.b WHERE id = 'k2'"
    assert map_sql(sql, [], "DELETE").action == "delete"
    by_rel = map_sql(sql, [], "SELECT", "s.a")
    assert by_rel.action == "view" and by_rel.keys == [("id", "k1")]
    assert map_sql(sql).action == "other"  # no hint: the first statement
