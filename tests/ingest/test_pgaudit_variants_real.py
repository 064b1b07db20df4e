"""pgaudit settings, statement forms and identities as a real PostgreSQL 15 + pgaudit logs them.

Servers in the field are configured in ways the simulator does not produce (log_relation off,
parameters not logged, object auditing through pgaudit.role, functions, cursors, Japanese names,
client drivers that bind parameters). Each session below makes the real server write one of
those shapes; the tests read the csvlog and the jsonlog it wrote and check what became of them.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_harness import PG_BIN, PgCluster, require_pg
from test_pgaudit_columnar import _same_both_ways

from kansa.ingest.pgaudit import read_pgaudit
from kansa.model.errors import InputError

SETUP = r"""
CREATE SCHEMA pref_osaka;
CREATE TABLE pref_osaka.residents (resident_id text PRIMARY KEY, name text, address text);
INSERT INTO pref_osaka.residents VALUES ('R001', '山田太郎', '大阪市北区'), ('R002', '佐藤花子', '堺市'),
    ('R,3', '鈴木', 'x');
CREATE TABLE pref_osaka.health (resident_id text, result text);
CREATE SCHEMA "Pref Kyoto";
CREATE TABLE "Pref Kyoto"."住民" (住民番号 text, 氏名 text);
INSERT INTO "Pref Kyoto"."住民" VALUES ('K001', '京都一郎');
CREATE ROLE auditor NOLOGIN;
CREATE ROLE clerk LOGIN;
CREATE ROLE analysts NOLOGIN;
GRANT analysts TO clerk;
GRANT USAGE ON SCHEMA pref_osaka TO analysts;
GRANT SELECT ON pref_osaka.residents TO analysts;
GRANT SELECT ON pref_osaka.residents TO auditor;
CREATE VIEW pref_osaka.v_res AS SELECT resident_id, name FROM pref_osaka.residents;
CREATE FUNCTION pref_osaka.lookup(id text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE n text; BEGIN SELECT name INTO n FROM pref_osaka.residents WHERE resident_id = id; RETURN n; END $$;
"""

# One session per pgaudit setting that changes the line layout.
SETTINGS = r"""
SET pgaudit.log_catalog = on;
SELECT relname FROM pg_class WHERE relname = 'residents';
SET pgaudit.log_catalog = off;
SELECT relname FROM pg_class WHERE relname = 'health';
SET pgaudit.log_relation = off;
SELECT r.name FROM pref_osaka.residents r JOIN pref_osaka.health h USING (resident_id) WHERE resident_id = 'R001';
COPY (SELECT r.name FROM pref_osaka.residents r JOIN pref_osaka.health h USING (resident_id)) TO STDOUT;
WITH x AS (SELECT * FROM pref_osaka.residents WHERE resident_id = 'R002') SELECT name FROM x;
SET pgaudit.log_relation = on;
SET pgaudit.log_statement_once = off;
SELECT r.name FROM pref_osaka.residents r JOIN pref_osaka.health h USING (resident_id) WHERE resident_id = 'R002';
SET pgaudit.log_statement_once = on;
SET pgaudit.log_parameter = off;
PREPARE p1(text) AS SELECT name FROM pref_osaka.residents WHERE resident_id = $1;
EXECUTE p1('R001');
SET pgaudit.log_parameter = on;
PREPARE p2(text, text) AS SELECT name FROM pref_osaka.residents WHERE resident_id = $1 OR resident_id = $2;
EXECUTE p2('R002', 'R001');
SET pgaudit.log_rows = on;
EXECUTE p2('R001', 'R,3');
SET pgaudit.log_rows = off;
SET pgaudit.log_level = 'warning';
SELECT name FROM pref_osaka.residents WHERE resident_id = 'R002';
SET pgaudit.log_level = 'log';
SET pgaudit.log_statement = off;
SELECT name FROM pref_osaka.residents WHERE resident_id = 'R001';
SET pgaudit.log_statement = on;
SET pgaudit.log = 'none';
SET pgaudit.role = 'auditor';
SELECT name FROM pref_osaka.residents WHERE resident_id = 'R001';
SELECT * FROM pref_osaka.health;
SET pgaudit.log = 'read';
SELECT name FROM pref_osaka.residents WHERE resident_id = 'R002';
"""

LONG_VALUE = "長" * 4000

STATEMENTS = rf"""
-- the clerk's look-up, as a tool formats it
SELECT name, /* inline */ address
  FROM pref_osaka.residents -- trailing
 WHERE resident_id = 'R001';
DO $$ BEGIN PERFORM name FROM pref_osaka.residents WHERE resident_id = 'R002'; END $$;
SELECT pref_osaka.lookup('R001');
WITH x AS (SELECT * FROM pref_osaka.residents WHERE resident_id = 'R001') SELECT name FROM x;
COPY pref_osaka.residents TO STDOUT;
COPY pref_osaka.residents TO '@OUT@';
\copy (SELECT name FROM pref_osaka.residents WHERE resident_id = 'R002') TO '/dev/null'
BEGIN;
DECLARE cur CURSOR FOR SELECT * FROM pref_osaka.residents;
FETCH 2 FROM cur;
CLOSE cur;
COMMIT;
SELECT * INTO pref_osaka.copy1 FROM pref_osaka.residents;
CREATE TABLE pref_osaka.copy2 AS SELECT name FROM pref_osaka.residents WHERE resident_id = 'R001';
SELECT * FROM pref_osaka.v_res WHERE resident_id = 'R002';
SELECT 氏名 FROM "Pref Kyoto"."住民" WHERE 住民番号 = 'K001';
SELECT resident_id FROM pref_osaka.residents WHERE address = '{LONG_VALUE}';
\set ON_ERROR_STOP 0
SELECT name::int FROM pref_osaka.residents WHERE resident_id = 'R001';
SELECT * FROM pref_osaka.nosuch;
BEGIN;
SELECT address FROM pref_osaka.residents WHERE resident_id = 'R002';
SELECT * FROM pref_osaka.nosuch;
ROLLBACK;
\set ON_ERROR_STOP 1
"""

# The superuser takes on another role: the log keeps naming the login role.
IDENTITY = """
SET ROLE analysts;
SELECT name FROM pref_osaka.residents WHERE resident_id = 'R001';
RESET ROLE;
SET SESSION AUTHORIZATION clerk;
SELECT name FROM pref_osaka.residents WHERE resident_id = 'R002';
"""

# A non-superuser over the unix socket: a granted read, then one it has no right to.
CLERK = """
SET ROLE analysts;
SELECT * FROM pref_osaka.residents WHERE resident_id = 'R001';
\\set ON_ERROR_STOP 0
SELECT * FROM pref_osaka.health;
"""

# A client driver's extended protocol: statement with $n, values bound separately.
BENCH_SQL = "SELECT name FROM pref_osaka.residents WHERE resident_id = :rid AND address <> :addr;\n"
AWKWARD = 'it\'s, "quoted"\nand 大阪'


def _events(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for chunk in read_pgaudit(path):
        assert chunk.bad == [], chunk.bad
        out.extend(chunk.access)
    return out


def _sessions(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Events grouped by connection, in log order: each group starts at its login."""
    out: list[list[dict[str, Any]]] = []
    for e in events:
        if e["action"] == "login":
            out.append([])
        if out:
            out[-1].append(e)
    return out


class _Server(PgCluster):
    def as_user(self, user: str, sql: str, host: str | None = None, env: tuple[str, ...] = ()) -> None:
        psql = str(PG_BIN / "psql")
        self._run(["env", *env, psql, "-X", "-q", "-h", host or str(self.sock), "-p", str(self.port), "-U", user,
                   "-d", "postgres"], stdin=sql)

    def bench(self, script: Path, *defines: str) -> None:
        args = [str(PG_BIN / "pgbench"), "-n", "-M", "extended", "-t", "1", "-h", "127.0.0.1", "-p",
                str(self.port), "-U", "postgres", "-f", str(script)]
        for d in defines:
            args += ["-D", d]
        self._run([*args, "postgres"])


SESSION_ORDER = ("setup", "settings", "statements", "identity", "clerk", "app", "bench", "switch", "stderr")


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    require_pg()
    server = _Server(tmp_path_factory.mktemp("pgv"))
    try:
        server.start()
        try:
            server.psql(SETUP, host="127.0.0.1")
            server.psql(SETTINGS, host="127.0.0.1")
            server.psql(STATEMENTS.replace("@OUT@", str(server.root / "out.csv")), host="127.0.0.1")
            server.psql(IDENTITY, host="127.0.0.1")
            server.as_user("clerk", CLERK)  # unix socket: no client address
            server.as_user("postgres", "SELECT 1 FROM pref_osaka.residents WHERE resident_id = 'R002';\n",
                           host="127.0.0.1", env=("PGAPPNAME=madoguchi",))
            script = server.root / "bench.sql"
            script.write_text(BENCH_SQL, encoding="utf-8")
            os.chmod(script, 0o644)
            server.bench(script, "rid=R,3", f"addr={AWKWARD}")
            # from here on the server also writes a plain stderr log (file "postgresql")
            server.psql("ALTER SYSTEM SET log_destination = 'stderr,csvlog,jsonlog';\nSELECT pg_reload_conf();\n")
            time.sleep(1)
            server.psql("SELECT name FROM pref_osaka.residents WHERE resident_id = 'R001';\n", host="127.0.0.1")
        finally:
            server.stop()
        yield {"csv": server.log("csv"), "json": server.log("json"), "stderr": server.data / "log" / "postgresql"}
    finally:
        if not os.environ.get("KANSA_KEEP_PG"):
            server.cleanup()


@pytest.fixture(scope="module", params=["csv", "json"])
def sessions(request: pytest.FixtureRequest, logs: dict[str, Path]) -> dict[str, list[dict[str, Any]]]:
    """The events of each workload connection, by name (the harness's own connections dropped)."""
    groups = [s for s in _sessions(_events(logs[request.param]))
              if any(e["source_system"] == "pgaudit" for e in s)]
    assert len(groups) == len(SESSION_ORDER)
    return dict(zip(SESSION_ORDER, groups, strict=True))


def _by_statement(session: list[dict[str, Any]], start: str) -> list[dict[str, Any]]:
    return [e for e in session if (e["statement"] or "").lstrip().startswith(start)]


@pytest.mark.postgres
def test_log_catalog_reads_of_the_catalog_have_no_owner(sessions: dict[str, list[dict[str, Any]]]) -> None:
    s = sessions["settings"]
    catalog = [e for e in s if (e["resource"] or "").startswith("pg_catalog.")]
    # log_catalog on: logged, as the server's own table, nobody's data; off: not logged at all
    assert [(e["resource"], e["owner_id"]) for e in catalog] == [("pg_catalog.pg_class", None)]
    assert not _by_statement(s, "SELECT relname FROM pg_class WHERE relname = 'health'")


@pytest.mark.postgres
def test_log_relation_off_gives_the_events_of_log_relation_on(sessions: dict[str, list[dict[str, Any]]]) -> None:
    joins = _by_statement(sessions["settings"], "SELECT r.name FROM pref_osaka.residents r JOIN")

    def shape(subject: str) -> list[tuple[Any, ...]]:
        return sorted((e["resource"], e["owner_id"], e["action"], e["columns"], e["subjects"], e["source_line"] > 0)
                      for e in joins if (e["statement"] or "").endswith(f"'{subject}';"))

    # log_relation off: one line naming no table; on (log_statement_once off): one line per table,
    # each with the statement again. The same events either way: one per table.
    expected = [("pref_osaka.health", "pref_osaka", "view", ["name"], [("pref_osaka", "{}")], True),
                ("pref_osaka.residents", "pref_osaka", "view", ["name"], [("pref_osaka", "{}")], True)]
    for subject in ("R001", "R002"):
        assert shape(subject) == [(*e[:4], [(e[4][0][0], subject)], e[5]) for e in expected]
    # COPY of a join: the query's line (no table) and the COPY's own line, one export per table
    copy = _by_statement(sessions["settings"], "COPY (SELECT r.name")
    assert sorted((e["action"], e["resource"]) for e in copy) == [
        ("export", "pref_osaka.health"), ("export", "pref_osaka.residents")]
    # a WITH name is no table: the one event is on the table the WITH reads
    cte = _by_statement(sessions["settings"], "WITH x AS")
    assert [(e["action"], e["resource"], e["subjects"]) for e in cte] == [
        ("view", "pref_osaka.residents", [("pref_osaka", "R002")])]


@pytest.mark.postgres
def test_parameters_logged_off_and_with_row_counts(sessions: dict[str, list[dict[str, Any]]]) -> None:
    s = sessions["settings"]
    p1 = [e for e in _by_statement(s, "PREPARE p1") if e["resource"]]
    assert [(e["action"], e["subjects"]) for e in p1] == [("view", [])]  # log_parameter off: no value
    p2 = [e for e in _by_statement(s, "PREPARE p2") if e["resource"]]
    # two values in one field, then (log_rows on) one with a comma and the row count after them
    assert [(e["action"], e["subjects"], e["row_count"]) for e in p2] == [
        ("search", [("pref_osaka", "R001"), ("pref_osaka", "R002")], None),
        ("search", [("pref_osaka", "R,3"), ("pref_osaka", "R001")], 2)]


@pytest.mark.postgres
def test_log_level_statement_off_and_object_audit(sessions: dict[str, list[dict[str, Any]]]) -> None:
    s = sessions["settings"]
    lookups = [e for e in s if e["resource"] == "pref_osaka.residents"
               and (e["statement"] or "").startswith(("SELECT name FROM", "<not logged>"))]
    assert [(e["statement"][:12], e["action"], e["subjects"]) for e in lookups] == [
        ("SELECT name ", "view", [("pref_osaka", "R002")]),   # log_level warning: still in the log
        ("<not logged>", "other", []),                          # log_statement off: table only
        ("SELECT name ", "view", [("pref_osaka", "R001")]),   # pgaudit.role, log = none: OBJECT only
        ("SELECT name ", "view", [("pref_osaka", "R002")]),   # OBJECT and SESSION lines: one event
    ]
    # object auditing logs only what the audit role was granted: health is not logged
    assert not any(e["resource"] == "pref_osaka.health" for e in s[-4:])


@pytest.mark.postgres
def test_statement_forms(sessions: dict[str, list[dict[str, Any]]]) -> None:
    s = sessions["statements"]
    data = [(e["action"], e["resource"], e["subjects"]) for e in s if e["source_system"] == "pgaudit"]
    r = "pref_osaka.residents"
    one, two = [("pref_osaka", "R001")], [("pref_osaka", "R002")]
    assert data[:6] == [
        ("view", r, one),      # multi-line with comments
        ("view", r, two),      # DO block: the statement inside it
        ("other", None, []),   # the function call itself touches no table ...
        ("view", r, []),       # ... its statement looks up one resident by a variable
        ("view", r, one),      # CTE
        ("export", r, []),     # COPY table TO STDOUT
    ]
    assert data[6:8] == [
        ("export", r, []),     # COPY table TO 'file' (on the server)
        ("export", r, two),    # \copy (query) TO file: one export, not two
    ]
    cursor = _by_statement(s, "DECLARE cur")
    assert [(e["action"], e["resource"]) for e in cursor] == [("export", r), ("other", None)]
    into = _by_statement(s, "SELECT * INTO")
    assert [(e["action"], e["resource"]) for e in into] == [("export", r), ("admin", "pref_osaka.copy1")]
    ctas = _by_statement(s, "CREATE TABLE pref_osaka.copy2")
    assert [(e["action"], e["resource"], e["subjects"]) for e in ctas] == [
        ("view", r, one), ("admin", "pref_osaka.copy2", [])]
    view = _by_statement(s, "SELECT * FROM pref_osaka.v_res")
    # a view: the view and the table under it are both logged
    assert [(e["resource"], e["subjects"]) for e in view] == [("pref_osaka.v_res", two), (r, two)]
    kyoto = _by_statement(s, "SELECT 氏名")
    assert [(e["resource"], e["owner_id"], e["subjects"], e["columns"]) for e in kyoto] == [
        ("Pref Kyoto.住民", "Pref Kyoto", [("Pref Kyoto", "K001")], ["氏名"])]
    long = _by_statement(s, "SELECT resident_id FROM pref_osaka.residents WHERE address")
    assert len(long) == 1 and LONG_VALUE in long[0]["statement"]  # not truncated
    failed = [e for e in s if e["outcome"] == "failure" and not e["statement"].startswith("SELECT address")]
    assert [e["statement"] for e in failed] == [
        "SELECT name::int FROM pref_osaka.residents WHERE resident_id = 'R001';"]
    # a statement that fails before it runs (unknown table) writes no AUDIT line
    assert not _by_statement(s, "SELECT * FROM pref_osaka.nosuch")


@pytest.mark.postgres
def test_an_error_in_a_transaction_fails_only_its_own_statement(sessions: dict[str, list[dict[str, Any]]]) -> None:
    """BEGIN; a read that succeeds; a statement that fails before pgaudit logs it (unknown table):
    the ERROR names that other statement, so the read stays a success."""
    before = _by_statement(sessions["statements"], "SELECT address")
    assert [e["outcome"] for e in before] == ["success"]


@pytest.mark.postgres
def test_identity(sessions: dict[str, list[dict[str, Any]]]) -> None:
    ident = [e for e in sessions["identity"] if e["resource"] == "pref_osaka.residents"]
    # SET ROLE / SET SESSION AUTHORIZATION: still the login role, from its address
    assert [(e["account"], e["source_ip"], e["subjects"]) for e in ident] == [
        ("postgres", "127.0.0.1", [("pref_osaka", "R001")]), ("postgres", "127.0.0.1", [("pref_osaka", "R002")])]
    assert [e["statement"] for e in _by_statement(sessions["identity"], "SET")] == [
        "SET ROLE analysts;", "SET SESSION AUTHORIZATION clerk;"]
    clerk = sessions["clerk"]
    assert {(e["account"], e["source_ip"]) for e in clerk} == {("clerk", None)}  # unix socket
    # permission denied: the check fails before pgaudit logs, so the attempt leaves no AUDIT line;
    # the server's ERROR (with the statement) is read as a failed access to the table it names
    assert [e["resource"] for e in clerk if e["source_system"] == "pgaudit"] == [None, "pref_osaka.residents"]
    denied = [e for e in clerk if e["resource"] == "pref_osaka.health"]
    assert [(e["action"], e["outcome"], e["source_system"], e["statement"]) for e in denied] == [
        ("export", "failure", "postgresql", "SELECT * FROM pref_osaka.health;")]
    app = sessions["app"]
    assert [e["action"] for e in app] == ["login", "view", "logout"]
    assert "application_name=madoguchi" in app[0]["statement"]


@pytest.mark.postgres
def test_extended_protocol_parameters(sessions: dict[str, list[dict[str, Any]]]) -> None:
    bench = [e for e in sessions["bench"] if e["source_system"] == "pgaudit"]
    assert [(e["action"], e["subjects"]) for e in bench] == [("view", [("pref_osaka", "R,3")])]


@pytest.mark.postgres
def test_stderr_log_is_refused_with_what_to_configure(logs: dict[str, Path]) -> None:
    with pytest.raises(InputError) as err:
        _events(logs["stderr"])
    text = str(err.value)
    assert str(logs["stderr"]) in text and "stderr" in text and "log_destination" in text


@pytest.mark.postgres
def test_statement_the_parser_cannot_read_keeps_its_event(logs: dict[str, Path], tmp_path: Path) -> None:
    """A real AUDIT line whose SQL is damaged: the event stays (resource from pgaudit), no crash."""
    with logs["csv"].open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    target = "SELECT name::int FROM pref_osaka.residents WHERE resident_id = 'R001';"
    hit = [r for r in rows if r[13].startswith("AUDIT: ") and target in r[13]]
    assert len(hit) == 1
    damaged_sql = "SELECT name:: FROM FROM pref_osaka.residents WHERE (;"
    hit[0][13] = hit[0][13].replace(target, damaged_sql)
    for r in rows:  # the ERROR after it names the statement by the same text
        r[19] = damaged_sql if r[19] == target else r[19]
    out = tmp_path / "damaged.csv"
    with out.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    damaged = [e for e in _events(out) if (e["statement"] or "").startswith("SELECT name:: FROM FROM")]
    assert [(e["action"], e["resource"], e["owner_id"], e["outcome"]) for e in damaged] == [
        ("other", "pref_osaka.residents", "pref_osaka", "failure")]


def _rewritten(src: Path, out: Path, keep: Callable[[list[str]], bool]) -> Path:
    with src.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f) if keep(r)]
    with out.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return out


def _lists_denials(row: list[str]) -> bool:
    """An AUDIT line of a statement with two or more parameters (pgaudit logs them as one list),
    a permission ERROR."""
    return (row[13].startswith("AUDIT: ") and "$2" in row[13]) or row[12] == "42501"


def _read_before_txn_error(row: list[str]) -> bool:
    """The BEGIN and the read that succeeded in a transaction a later, unaudited statement failed."""
    return row[13].startswith("AUDIT: ") and ("SELECT address FROM" in row[13] or row[13].endswith(",BEGIN;,<none>"))


def _relation_off_join(row: list[str]) -> bool:
    """A join logged with log_relation off: one line naming no table."""
    return row[13].startswith("AUDIT: ") and row[13].split(",")[5:7] == ["", ""] and " JOIN " in row[13]


@pytest.mark.postgres
def test_columnar_path_reads_the_whole_real_log_as_the_line_reader_does(logs: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    assert _same_both_ways(tmp_path, logs["csv"]) > 50


# Each kind alone, among the server's other lines, so that a difference names its kind.
_KINDS: dict[str, Callable[[list[str]], bool]] = {
    "bound lists and denials": _lists_denials,
    "errors in a transaction": _read_before_txn_error,
    "joins with log_relation off": _relation_off_join,
}


@pytest.mark.postgres
@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_columnar_path_reads_each_kind_as_the_line_reader_does(logs: dict[str, Path], tmp_path: Path,
                                                               kind: str) -> None:
    keep = _KINDS[kind]
    log = _rewritten(logs["csv"], tmp_path / "kind.csv", lambda r: not r[13].startswith("AUDIT: ") or keep(r))
    assert _same_both_ways(tmp_path, log) > 2
