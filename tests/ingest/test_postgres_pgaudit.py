"""Real PostgreSQL 15 + pgaudit writes the logs; read_pgaudit must map them to access events."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_harness import PgCluster, require_pg
from test_pgaudit_columnar import _same_both_ways

from kansa.ingest.pgaudit import read_pgaudit

SESSION = """
CREATE SCHEMA pref_osaka;
CREATE ROLE maint LOGIN;
ALTER ROLE maint SET pgaudit.log = 'none';
CREATE TABLE pref_osaka.residents (resident_id text PRIMARY KEY, name text, address text);
INSERT INTO pref_osaka.residents VALUES ('R001', '山田太郎', '大阪市北区'), ('R002', '佐藤花子', '堺市');
PREPARE by_id(text) AS SELECT name, address FROM pref_osaka.residents WHERE resident_id = $1;
EXECUTE by_id('R002');
SELECT name FROM pref_osaka.residents WHERE name LIKE '佐%';
COPY pref_osaka.residents TO STDOUT;
CREATE TABLE pref_osaka.car_tax (resident_id text, amount int);
SELECT r.name, c.amount FROM pref_osaka.residents r JOIN pref_osaka.car_tax c USING (resident_id);
\\set ON_ERROR_STOP 0
SELECT name::int FROM pref_osaka.residents WHERE resident_id = 'R001';
\\set ON_ERROR_STOP 1
SET pgaudit.log = 'all';
SET pgaudit.log = 'none';
SELECT * FROM pref_osaka.residents;
"""

# A second connection that switches auditing off first, then reads and exports: the C1 shape of
# the NTT West maintainer's sessions.
SILENT = """
SET pgaudit.log = 'none';
SELECT * FROM pref_osaka.residents;
COPY pref_osaka.residents TO STDOUT;
"""

# Exports: the log says that they ran, never how many rows left (row_count stays NULL).
EXPORTS = """
COPY (SELECT name, address FROM pref_osaka.residents) TO STDOUT WITH CSV;
COPY (SELECT * FROM pref_osaka.residents WHERE resident_id IN ('R001', 'R002')) TO STDOUT;
SELECT * FROM pref_osaka.residents;
"""


# With pgaudit.log_rows = on the server says how many rows a statement returned or changed.
ROWS = """
SET pgaudit.log_rows = on;
SELECT * FROM pref_osaka.residents;
PREPARE r(text) AS SELECT name FROM pref_osaka.residents WHERE resident_id = $1;
EXECUTE r('R001');
COPY (SELECT * FROM pref_osaka.residents WHERE name LIKE '山%') TO STDOUT;
COPY pref_osaka.residents TO STDOUT;
"""


def _events(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for chunk in read_pgaudit(path):
        assert chunk.bad == [], chunk.bad
        out.extend(chunk.access)
    return out


@pytest.fixture(scope="module")
def pg_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    require_pg()
    cluster = PgCluster(tmp_path_factory.mktemp("pg"))
    try:
        cluster.start()
        try:
            cluster.psql(SESSION, host="127.0.0.1")
            cluster.psql(SILENT, host="127.0.0.1")
            cluster.psql(EXPORTS, host="127.0.0.1")
            cluster.psql(ROWS, host="127.0.0.1")
        finally:
            cluster.stop()
        yield {"csv": cluster.log("csv"), "json": cluster.log("json")}
    finally:
        if not os.environ.get("KANSA_KEEP_PG"):
            cluster.cleanup()


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["csv", "json"])
def test_real_pgaudit_log_maps_to_access_events(pg_logs: dict[str, Path], kind: str) -> None:
    work = _sessions(_events(pg_logs[kind]))[-4]  # SESSION's connection
    events = [e for e in work if e["source_system"] == "pgaudit"]
    resident = [e for e in events if e["resource"] == "pref_osaka.residents"]
    actions = [e["action"] for e in resident]
    assert "insert" in actions and "export" in actions and "search" in actions
    view = [e for e in resident if e["action"] == "view"]
    assert view and ("pref_osaka", "R002") in view[0]["subjects"]
    assert all(e["account"] == "postgres" for e in events)
    assert all(e["source_ip"] == "127.0.0.1" for e in events)
    assert all(e["ts"].tzinfo is not None for e in events)
    # silencing one role for all its future sessions is logged (class ROLE) as an admin event
    silencing = [e for e in events if (e["statement"] or "").startswith("ALTER ROLE maint")]
    assert [(e["action"], e["resource"]) for e in silencing] == [("admin", "pgaudit.log")]
    # changing what pgaudit logs is an admin event the audit can see ...
    assert any(e["action"] == "admin" and e["resource"] == "pgaudit.log" for e in events)
    # ... but pgaudit does NOT log the SET that turns it off ('none'): the log just goes silent,
    # and the full-table SELECT that followed is invisible. The last logged event is the SET 'all'.
    assert events[-1]["resource"] == "pgaudit.log" and "'all'" in events[-1]["statement"]
    assert not any((e["statement"] or "").startswith("SET pgaudit.log = 'none'") for e in events)
    # PREPARE and the EXECUTE wrapper touch no data; the executed query is counted once
    # log_relation + log_statement_once: a join is one line per table, the second one says
    # "<previously logged>"; both become export events carrying the statement text
    join = [e for e in events if (e["statement"] or "").startswith("SELECT r.name")]
    assert sorted(e["resource"] for e in join) == ["pref_osaka.car_tax", "pref_osaka.residents"]
    assert {e["action"] for e in join} == {"export"}
    # the statement that failed at run time is marked so; the others succeeded
    failed = [e for e in events if e["outcome"] == "failure"]
    assert [e["statement"] for e in failed] == [
        "SELECT name::int FROM pref_osaka.residents WHERE resident_id = 'R001';"]
    assert failed[0]["subjects"] == [("pref_osaka", "R001")]
    assert len(view) == 2 and [e["action"] for e in events].count("other") == 2
    assert all(e["owner_id"] == "pref_osaka" for e in resident)


def _sessions(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Events grouped by connection: from each login to its logout, in log order."""
    out: list[list[dict[str, Any]]] = []
    for e in events:
        if e["action"] == "login":
            out.append([])
        out[-1].append(e)
    return out


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["csv", "json"])
def test_real_sessions_have_login_and_logout(pg_logs: dict[str, Path], kind: str) -> None:
    events = _events(pg_logs[kind])
    logins = [e for e in events if e["action"] == "login"]
    logouts = [e for e in events if e["action"] == "logout"]
    # harness setup (unix socket, no address) and the two workload connections
    assert len(logins) == len(logouts) >= 2
    for e in logins + logouts:
        assert e["source_system"] == "postgresql" and e["account"] == "postgres"
        assert e["resource"].startswith("session:") and e["outcome"] == "success"
        assert e["owner_id"] is None and e["subjects"] == []
    assert logins[0]["statement"].startswith("connection authorized: user=postgres")
    assert logouts[0]["statement"].startswith("disconnection: session time:")
    sessions = _sessions(events)
    for s in sessions:  # every session: one login first, one logout last, same session resource
        assert s[0]["action"] == "login" and s[-1]["action"] == "logout"
        assert [e["action"] for e in s].count("login") == 1
        assert s[0]["resource"] == s[-1]["resource"]
        assert len({e["resource"] for e in s if e["source_system"] == "postgresql"}) == 1
    work, silent = sessions[-4], sessions[-3]
    assert [e["source_ip"] for e in work + silent] == ["127.0.0.1"] * len(work + silent)
    # the session that ran SET pgaudit.log = 'none' shows a login and a logout and nothing else
    assert [e["action"] for e in silent] == ["login", "logout"]
    assert silent[0]["ts"] <= silent[1]["ts"] and silent[0]["resource"] != work[0]["resource"]
    assert len(work) > 10


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["csv", "json"])
def test_real_exports_have_no_row_count(pg_logs: dict[str, Path], kind: str) -> None:
    """Every export statement is exactly one export event, its text kept, its size unknown."""
    exports = _sessions(_events(pg_logs[kind]))[-2]
    assert [e["action"] for e in exports] == ["login", "export", "export", "export", "logout"]
    statements = [line.strip() for line in EXPORTS.strip().splitlines()]
    body = exports[1:-1]
    assert [e["statement"] for e in body] == statements
    assert all(e["row_count"] is None and e["resource"] == "pref_osaka.residents" for e in body)
    assert body[0]["columns"] == ["name", "address"] and body[0]["subjects"] == []
    assert body[1]["subjects"] == [("pref_osaka", "R001"), ("pref_osaka", "R002")]


@pytest.mark.postgres
def test_csvlog_and_jsonlog_give_the_same_events(pg_logs: dict[str, Path]) -> None:
    def shape(kind: str) -> list[tuple[Any, ...]]:
        return [(e["ts"], e["account"], e["action"], e["resource"], e["owner_id"], e["source_ip"],
                 e["outcome"], e["statement"], e["subjects"], e["columns"], e["source_system"])
                for e in _events(pg_logs[kind])]

    csv_events = shape("csv")
    assert len(csv_events) > 20 and csv_events == shape("json")


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["csv", "json"])
def test_real_log_rows_gives_row_counts(pg_logs: dict[str, Path], kind: str) -> None:
    session = _sessions(_events(pg_logs[kind]))[-1]
    data = [e for e in session if e["resource"] == "pref_osaka.residents"]
    assert [(e["action"], e["row_count"]) for e in data] == [
        ("export", 2), ("view", 1), ("export", 1), ("export", None)]  # a table COPY is not counted
    assert data[1]["subjects"] == [("pref_osaka", "R001")]


@pytest.mark.postgres
def test_columnar_path_reads_the_real_csvlog_as_the_line_reader_does(pg_logs: dict[str, Path],
                                                                      tmp_path: Path) -> None:
    assert _same_both_ways(tmp_path, pg_logs["csv"]) > 20
