"""pgaudit csvlog records → access rows, set-wise in DuckDB, block by block.

The same rules as the line reader (``pgaudit._Mapper``), written over a block of records at once:
AUDIT bodies are split by a regular expression in SQL; the SQL parser (pglast, via
``_Mapper._shape``) runs once per distinct statement text and its result is joined back; a
statement logged once (``<previously logged>``) is found by an as-of join on its session and
statement id; the second line pgaudit writes for one access (SESSION and OBJECT auditing both on)
and the COPY line after the relations its query read are dropped by window and group queries; an
ERROR in the same transaction after a statement's line marks it failed by an as-of join.

Rules that look across records see the block's neighbours too: the last records of the previous
block (``CONTEXT_ROWS``: statements logged once, lines already counted) and the first records of
the next (``LOOKAHEAD_ROWS``: an ERROR just after the cut). Python work is per distinct statement
text, not per record.

A value the SQL does not read the way the line reader would (an AUDIT body with unbalanced quotes
or fewer than eight fields, a timestamp it cannot parse) raises ``Irregular``; the caller then
reads the whole file with the line reader, which quarantines such records with their line numbers.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from kansa.ingest.blocks import StagedBlock, run_ahead, unnest_subjects
from kansa.ingest.csvlog_blocks import Irregular, RecordBlock, record_blocks
from kansa.ingest.pgaudit import _ABBREV, _COUNTED, _DENIED, OwnerMap, _Mapper, _source_ip, parse_log_time
from kansa.ingest.pipeline import FileResult, ingest_staged_blocks
from kansa.ingest.sqlmap import _PARAM_MARK
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace

CONTEXT_ROWS = 5000
# Blocks staged at once (threads, each with its own DuckDB). Two stage a 300 k-event csvlog about
# 13 % faster on two cores (9 % at 1 M events, where the writer limits) but hold 150-220 MiB more at
# the peak, which would take a 10 GB file over 1 GB: one by default, ``KANSA_CSVLOG_STAGERS`` for more.
STAGERS = 1
ENV_STAGERS = "KANSA_CSVLOG_STAGERS"
LOOKAHEAD_ROWS = 2000
MAX_SHAPES = 50_000
_PREV = "'<previously logged>'"

_WANTED_SQL = """
    starts_with(message, 'AUDIT: ') OR starts_with(message, 'connection authorized: ')
    OR starts_with(message, 'replication connection authorized: ') OR starts_with(message, 'disconnection: ')
    OR starts_with(message, 'password authentication failed')
    OR (error_severity IN ('ERROR', 'FATAL', 'PANIC') AND virtual_transaction_id <> '')
    OR (error_severity = 'ERROR' AND sql_state_code = '42501')
"""

# part: 0 context (previous block), 1 this block, 2 look-ahead (next block; failures only)
_FILTER = f"""
CREATE OR REPLACE TEMP TABLE r AS
SELECT *, coalesce(nullif(session_id, ''), nullif(process_id, ''), '') AS sess,
       CASE
           WHEN starts_with(message, 'AUDIT: ') THEN NULL
           WHEN error_severity = 'LOG' AND regexp_matches(message, '^(?:replication )?connection authorized: user=')
               THEN 1
           WHEN error_severity = 'LOG' AND regexp_matches(message, '^disconnection: session time: \\S+ user=') THEN 2
           WHEN error_severity = 'FATAL' AND regexp_matches(message, '^password authentication failed for user "(.*)"')
               THEN 3
       END AS session_kind
FROM _rec WHERE {_WANTED_SQL}
"""

_UNQUOTE = "CASE WHEN starts_with({0}, '\"') THEN replace({0}[2:-2], '\"\"', '\"') ELSE {0} END"
_QUOTED = '"(?:[^"]|"")*"'


def _field(text: str) -> str:
    """The raw CSV field at the start of ``text``: quoted (up to its closing quote) or up to a comma."""
    return (f"CASE WHEN starts_with({text}, '\"') THEN regexp_extract({text}, '^{_QUOTED}', 0)"
            f" ELSE split_part({text}, ',', 1) END")


def _field_ok(raw: str, text: str) -> str:
    """The field is well formed (a quote only around a quoted field) and a comma or the end follows."""
    return (f"(starts_with({text}, '\"') AND {raw} <> '' OR NOT contains({raw}, '\"'))"
            f" AND substr({text}, length({raw}) + 1, 1) IN (',', '')")


# The AUDIT lines split. The first six fields of the body (type, ids, class, command, object type)
# hold no comma or quote; object name and statement may be quoted; the parameters follow (quoted
# ones split by a regular expression, the rest by commas). A "<previously logged>" statement is the
# last one logged in full for the same statement and substatement of the session, else for the
# same statement.
_AUDIT = f"""
CREATE OR REPLACE TEMP TABLE b AS
WITH a0 AS (
    SELECT n, part, sess, nullif(database_name, '') AS db, virtual_transaction_id AS vxid,
           log_time, user_name, connection_from,
           substr(message, 8) AS body, regexp_extract(substr(message, 8), '^(?:[^,"]*,){{6}}', 0) AS prefix
    FROM r WHERE starts_with(message, 'AUDIT: ') AND part < 2
), a1 AS (
    SELECT *, string_split(prefix, ',') AS f, substr(body, length(prefix) + 1) AS rest7 FROM a0
), a2 AS (
    SELECT *, {_field("rest7")} AS object_raw FROM a1
), a3 AS (
    SELECT *, substr(rest7, length(object_raw) + 2) AS rest8 FROM a2
), a4 AS (
    SELECT *, {_field("rest8")} AS statement_q FROM a3
), a5 AS (
    SELECT n, part, sess, db, vxid, log_time, user_name, connection_from,
           f[2] AS stmt_id, f[3] AS substmt, f[5] AS command,
           {_UNQUOTE.format("object_raw")} AS object_name, {_UNQUOTE.format("statement_q")} AS statement_raw,
           substr(rest8, length(statement_q) + 1) AS rest,
           prefix <> '' AND {_field_ok("object_raw", "rest7")} AND substr(rest7, length(object_raw) + 1, 1) = ','
               AND {_field_ok("statement_q", "rest8")} AS matched
    FROM a4
), a6 AS (
    SELECT *, CASE WHEN rest = '' OR NOT contains(rest, '"') THEN NULL
                   ELSE regexp_extract_all(rest, ',({_QUOTED}|[^,"]*)', 1) END AS raw_tail
    FROM a5
), a AS (
    SELECT n, part, sess, db, vxid, log_time, user_name, connection_from, stmt_id, substmt, command, object_name,
           statement_raw,
           CASE WHEN rest = '' THEN []::VARCHAR[]
                WHEN raw_tail IS NULL THEN string_split(rest[2:], ',')
                ELSE list_transform(raw_tail, lambda x: {_UNQUOTE.format("x")}) END AS tail,
           matched AND (raw_tail IS NULL
                        OR length(rest) = list_sum(list_transform(raw_tail, lambda x: length(x) + 1))) AS regular
    FROM a6
)
, a7 AS (
    SELECT *, CASE WHEN len(tail) IN (1, 2) AND contains(tail[1], '"')
                   THEN regexp_extract_all(',' || tail[1], ',({_QUOTED}|[^,"]*)', 1) END AS quoted_items
    FROM a
), a8 AS (
    SELECT * EXCLUDE (quoted_items),
           CASE WHEN len(tail) NOT IN (1, 2) THEN NULL
                WHEN NOT regexp_matches(tail[1], '[,"\r\n]') THEN [tail[1]]
                WHEN NOT regexp_matches(tail[1], '["\r\n]') THEN string_split(tail[1], ',')
                WHEN quoted_items IS NOT NULL
                     AND length(tail[1]) + 1 = list_sum(list_transform(quoted_items, lambda x: length(x) + 1))
                    THEN list_transform(quoted_items, lambda x: {_UNQUOTE.format("x")})
           END AS tail_list
    FROM a7
)
SELECT * EXCLUDE (regular),
       regular AND (tail_list IS NOT NULL OR tail[1] IN ({_PREV}, '<none>', '<not logged>')
                    OR NOT (len(tail) = 1 OR len(tail) = 2 AND regexp_full_match(tail[2], '[0-9]+'))) AS regular,
       CASE WHEN statement_raw <> {_PREV} THEN statement_raw END AS stmt, NULL::BIGINT AS prior_n FROM a8
"""

# Only when the block has "<previously logged>" lines (pgaudit.log_statement_once): their statement.
_RECOVER = f"""
WITH p AS (SELECT n, sess, stmt_id, substmt FROM b WHERE statement_raw = {_PREV}),
q AS (SELECT n AS qn, sess, stmt_id, substmt, statement_raw AS stmt FROM b
      WHERE statement_raw <> {_PREV} AND (sess, stmt_id) IN (SELECT (sess, stmt_id) FROM p)),
m1 AS (SELECT p.n, q.qn, q.stmt FROM p ASOF LEFT JOIN q
       ON p.sess = q.sess AND p.stmt_id = q.stmt_id AND p.substmt = q.substmt AND p.n > q.qn),
m2 AS (SELECT p.n, q.qn, q.stmt FROM p ASOF LEFT JOIN q ON p.sess = q.sess AND p.stmt_id = q.stmt_id AND p.n > q.qn)
UPDATE b SET stmt = prev.stmt, prior_n = prev.prior_n FROM (
    SELECT m1.n, coalesce(m1.qn, m2.qn) AS prior_n, CASE WHEN m1.qn IS NOT NULL THEN m1.stmt ELSE m2.stmt END AS stmt
    FROM m1 JOIN m2 USING (n)
) prev WHERE b.n = prev.n
"""

_NEW_SHAPES = """
SELECT DISTINCT b.stmt, b.command, b.object_name, b.db FROM b
ANTI JOIN shapes s ON s.stmt IS NOT DISTINCT FROM b.stmt AND s.command = b.command
    AND s.object_name = b.object_name AND s.db IS NOT DISTINCT FROM b.db
"""

_KEYS = pa.list_(pa.struct([("p", pa.int64()), ("v", pa.string())]))
_SHAPE_TYPES = pa.schema([
    ("sid", pa.int64()),  # the shape's number: narrow rows carry it, the lists are joined at the end
    ("stmt", pa.string()), ("command", pa.string()), ("object_name", pa.string()), ("db", pa.string()),
    ("mapped", pa.bool_()), ("action", pa.string()), ("resource", pa.string()), ("owner", pa.string()),
    ("columns", pa.list_(pa.string())), ("n_params", pa.int64()),
    ("keys", _KEYS), ("tables", pa.list_(pa.string())),
    # pgaudit.log_relation = off (its default): a statement on several tables is one line naming
    # none; the tables after the first get the same event (the line reader's _Mapper._other_tables)
    ("others", pa.list_(pa.struct([("resource", pa.string()), ("owner", pa.string()), ("keys", _KEYS)]))),
])
# One row per relation a shape's event touches: xk 0 the shape's own, 1.. its ``others``.
_SHAPE_X = """
INSERT INTO shape_x
SELECT sid, 0 AS xk, resource, owner, keys FROM _new_shapes
UNION ALL
SELECT sid, xk, o.resource, o.owner, o.keys
FROM (SELECT sid, unnest(others) AS o, generate_subscripts(others, 1) AS xk FROM _new_shapes WHERE len(others) > 0)
"""


def _time_sql() -> str:
    """log_time (``%m %Z``) → TIMESTAMPTZ for numeric offsets and the zones pgaudit._ABBREV names;
    NULL for anything else (then Python's parse_log_time decides)."""
    named = " ".join(
        f"WHEN '{abbr}' THEN timezone('{zone}', naive)" for abbr, zone in _ABBREV.items())
    return f"""
        CASE
            WHEN regexp_full_match(zone, '[+-][0-9]{{2}}(:?[0-9]{{2}})?') THEN timezone('UTC', naive
                - (CASE WHEN zone[1] = '-' THEN -1 ELSE 1 END)
                  * (to_hours(zone[2:3]::INT) + to_minutes(coalesce(nullif(regexp_replace(zone[4:], ':', ''), ''), '0')::INT)))
            ELSE CASE zone {named} END
        END"""


# b (the AUDIT lines) and the statement shapes → the block's access rows, in line order:
#   params and row count from the fields after the statement (pgaudit.params_and_rows);
#   one event per access: the first line of (session, statement, substatement, relation), and no
#   COPY line after the relations its query read (they are that COPY's own lines just before);
#   an ERROR of the same session and transaction after a statement's line: that statement failed.
# The rules run on narrow rows (ids and short texts); the list columns (a shape's columns and
# keys, a line's parameters) are joined to the surviving rows at the end: carried through the
# materialised steps and the window, they cost more than the rules themselves.
_OUT = f"""
WITH j0 AS NOT MATERIALIZED (
    SELECT b.n, b.part, b.sess, b.vxid, b.log_time, b.user_name, b.connection_from, b.stmt_id, b.substmt,
           b.command, b.object_name, b.statement_raw, b.stmt, b.prior_n, b.tail, b.tail_list, s.sid, s.mapped, s.action,
           CASE
               WHEN len(b.tail) = 0 OR b.tail[1] IN ('<none>', '<not logged>') THEN 'none'
               WHEN b.tail[1] = {_PREV} THEN 'prev'
               WHEN len(b.tail) = 1 THEN 'list'
               WHEN len(b.tail) = 2 AND regexp_full_match(b.tail[2], '[0-9]+') AND len(b.tail_list) >= s.n_params
                   THEN 'list_counted'
               WHEN len(b.tail) = s.n_params + 1 AND regexp_full_match(b.tail[-1], '[0-9]+') THEN 'counted'
               ELSE 'all'
           END AS tail_kind
    FROM b JOIN shapes s ON s.stmt IS NOT DISTINCT FROM b.stmt AND s.command = b.command
        AND s.object_name = b.object_name AND s.db IS NOT DISTINCT FROM b.db
), j AS (
    SELECT * EXCLUDE (tail, tail_list, tail_kind),
           CASE
               WHEN tail_kind IN ('none', 'prev') THEN
                   CASE WHEN len(tail) = 2 AND regexp_full_match(tail[2], '[0-9]+') THEN try_cast(tail[2] AS BIGINT) END
               WHEN tail_kind IN ('counted', 'list_counted') THEN try_cast(tail[-1] AS BIGINT)
           END AS nrows
    FROM j0
), l AS NOT MATERIALIZED (
    SELECT n, statement_raw, prior_n,
           CASE tail_kind WHEN 'none' THEN []::VARCHAR[] WHEN 'prev' THEN [{_PREV}]
               WHEN 'list' THEN tail_list WHEN 'list_counted' THEN tail_list
               WHEN 'counted' THEN tail[1:len(tail) - 1] ELSE tail END AS params0
    FROM j0
), par AS NOT MATERIALIZED (
    SELECT l.n,
           CASE
               WHEN l.statement_raw = {_PREV} AND (l.params0 = [{_PREV}] OR len(l.params0) = 0)
                   THEN coalesce(pp.stored, []::VARCHAR[])
               WHEN l.params0 = [{_PREV}] THEN []::VARCHAR[]
               ELSE l.params0
           END AS params
    FROM l LEFT JOIN (
        SELECT n, CASE WHEN params0 = [{_PREV}] THEN []::VARCHAR[] ELSE params0 END AS stored
        FROM l WHERE statement_raw <> {_PREV} AND n IN (SELECT prior_n FROM j)
    ) pp ON pp.n = l.prior_n
), c AS (
    SELECT j.*, x.xk, x.resource, x.owner FROM j JOIN shape_x x USING (sid)
), cp AS (
    SELECT k.n FROM (
        SELECT c.n, c.sess, c.stmt_id, s.tables FROM c JOIN shapes s USING (sid)
        WHERE c.command = 'COPY' AND c.object_name = '' AND c.mapped AND len(s.tables) > 0
    ) k JOIN c AS x ON x.sess = k.sess AND x.stmt_id = k.stmt_id AND x.n < k.n
    GROUP BY k.n, k.tables HAVING list_has_all(list(x.resource), k.tables)
), e AS (
    SELECT * FROM c WHERE {{'n': n, 'xk': xk}} IN (
        SELECT min({{'n': n, 'xk': xk}}) FROM c WHERE n NOT IN (SELECT n FROM cp)
        GROUP BY sess, stmt_id, substmt, resource)
), err AS (
    SELECT n, sess, virtual_transaction_id AS vxid, query FROM r
    WHERE session_kind IS NULL AND NOT starts_with(message, 'AUDIT: ')
      AND error_severity IN ('ERROR', 'FATAL', 'PANIC') AND virtual_transaction_id <> ''
), q AS (
    SELECT n, sess, vxid, stmt_id FROM e WHERE vxid <> '' AND (sess, vxid) IN (SELECT (sess, vxid) FROM err)
    UNION ALL
    SELECT n, sess, virtual_transaction_id, split_part(substr(message, 8), ',', 2) FROM r
    WHERE part = 2 AND starts_with(message, 'AUDIT: ') AND virtual_transaction_id <> ''
), hit AS (
    -- each ERROR's last audited statement; the first ERROR after it settles it (a later one marks nothing)
    SELECT err.n AS err_n, err.sess, err.vxid, err.query, q.n AS qn, q.stmt_id FROM err ASOF JOIN q
        ON err.sess = q.sess AND err.vxid = q.vxid AND err.n > q.n
    QUALIFY row_number() OVER (PARTITION BY err.sess, err.vxid, q.n ORDER BY err.n) = 1
), texts AS (
    SELECT h.err_n, list(b.stmt) FILTER (WHERE b.stmt IS NOT NULL) AS stmts FROM hit h
    JOIN b ON b.sess = h.sess AND b.vxid = h.vxid AND b.stmt_id = h.stmt_id AND b.n < h.err_n
    GROUP BY h.err_n
), failed AS (
    -- the ERROR names that statement (or none): all its events failed; else it was another, unaudited one
    SELECT DISTINCT e.n FROM hit h JOIN texts t USING (err_n)
    JOIN e ON e.sess = h.sess AND e.vxid = h.vxid AND e.stmt_id = h.stmt_id AND e.n < h.err_n
    WHERE coalesce(h.query, '') = '' OR list_contains(t.stmts, h.query)
), o AS (
    SELECT e.n, e.log_time, nullif(e.user_name, '') AS account, e.action, e.resource, s.columns,
           e.owner AS owner_id, e.connection_from,
           CASE WHEN e.n IN (SELECT n FROM failed) THEN 'failure' ELSE 'success' END AS outcome,
           CASE WHEN e.command IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE') THEN e.nrows END AS row_count,
           e.stmt AS statement, 'pgaudit' AS source_system,
           CASE WHEN len(x.keys) = 0 THEN []::VARCHAR[] ELSE list_sort(list_distinct(list_filter(
               list_transform(x.keys, lambda k: CASE WHEN k.p = 0 THEN k.v
                                                     WHEN k.p <= len(par.params) THEN par.params[k.p]
                                                     ELSE '$' || k.p END),
               lambda v: NOT starts_with(v, '$') AND v <> '<long param suppressed>'))) END AS subjects, e.xk
    FROM e JOIN shapes s USING (sid) JOIN shape_x x ON x.sid = e.sid AND x.xk = e.xk
        LEFT JOIN par ON par.n = e.n
    WHERE e.part = 1
    UNION ALL
    SELECT n, log_time,
           coalesce(nullif(user_name, ''), nullif(CASE session_kind
               WHEN 1 THEN regexp_extract(message, '^(?:replication )?connection authorized: user=(\\S*)', 1)
               WHEN 2 THEN regexp_extract(message, '^disconnection: session time: \\S+ user=(\\S*)', 1)
               ELSE regexp_extract(message, '^password authentication failed for user "(.*)"', 1) END, '')),
           CASE session_kind WHEN 2 THEN 'logout' ELSE 'login' END,
           CASE WHEN sess <> '' THEN 'session:' || sess END, NULL::VARCHAR[], NULL::VARCHAR, connection_from,
           CASE session_kind WHEN 3 THEN 'failure' ELSE 'success' END, NULL::BIGINT, message, 'postgresql',
           []::VARCHAR[], 0
    FROM r WHERE session_kind IS NOT NULL AND part = 1
), ip AS (
    SELECT connection_from,
           CASE
               WHEN connection_from = '' OR starts_with(connection_from, '[') THEN NULL
               WHEN regexp_matches(connection_from, ':[0-9]+$')
                   THEN trim(regexp_extract(connection_from, '^(.*):[^:]*$', 1), '[]')
               ELSE connection_from
           END AS source_ip
    FROM (SELECT DISTINCT connection_from FROM r)
), u AS (
    SELECT o.*, ip.source_ip, string_split(o.log_time, ' ')[-1] AS zone,
           try_cast(left(o.log_time, length(o.log_time) - length(zone) - 1) AS TIMESTAMP) AS naive
    FROM o JOIN ip USING (connection_from)
)
SELECT n, NULL::VARCHAR AS reason, {_time_sql()} AS ts, account, action, resource, columns, owner_id,
       NULL::VARCHAR AS purpose, NULL::VARCHAR AS ticket, NULL::VARCHAR AS terminal, source_ip,
       outcome, row_count, NULL::BIGINT AS bytes, statement, NULL::VARCHAR AS system, subjects, source_system,
       log_time
FROM u ORDER BY n, xk
"""


class CsvlogStager:
    """Stages csvlog record blocks in a private DuckDB; holds what carries from block to block."""

    def __init__(self, owners: OwnerMap, local: ZoneInfo) -> None:
        self.con = duckdb.connect()
        # one core: the other is the writer's (insert, resolve, seal), which takes longer per block
        self.con.execute("SET threads = 1")
        self.mapper = _Mapper(owners, local)
        self.local = local
        self.next_sid = 0
        self._new_shapes_table()

    def _new_shapes_table(self) -> None:
        self.con.register("_shapes0", _SHAPE_TYPES.empty_table())
        self.con.execute("CREATE OR REPLACE TEMP TABLE shapes AS SELECT * FROM _shapes0")
        self.con.execute("CREATE OR REPLACE TEMP TABLE shape_x AS SELECT sid, 0 AS xk, resource, owner, keys FROM _shapes0")
        self.con.unregister("_shapes0")

    def close(self) -> None:
        self.con.close()

    def _add_shapes(self) -> None:
        new = self.con.execute(_NEW_SHAPES).fetchall()
        if not new:
            return
        if self.con.execute("SELECT count(*) FROM shapes").fetchall()[0][0] + len(new) > MAX_SHAPES:
            self._new_shapes_table()  # endless distinct texts (literals in the SQL): start again
            new = self.con.execute(_NEW_SHAPES).fetchall()
        rows: list[dict[str, Any]] = []
        for stmt, command, object_name, db in new:
            mapped, action, resource, owner = self.mapper._shape(stmt, command, object_name, db)
            keys = mapped.keys if (owner and mapped and mapped.keys) else []
            self.next_sid += 1
            rows.append({
                "sid": self.next_sid, "stmt": stmt, "command": command, "object_name": object_name, "db": db,
                "mapped": mapped is not None, "action": action, "resource": resource, "owner": owner,
                "columns": list(mapped.columns) if mapped and mapped.columns else None,
                "n_params": mapped.n_params if mapped else 0,
                "keys": [{"p": _param_number(v), "v": v} for _, v in keys],
                "tables": list(mapped.tables) if mapped else [],
                "others": self._other_tables(mapped, command, object_name, db),
            })
        self.con.register("_new_shapes", pa.Table.from_pylist(rows, schema=_SHAPE_TYPES))
        try:
            self.con.execute("INSERT INTO shapes SELECT * FROM _new_shapes")
            self.con.execute(_SHAPE_X)
        finally:
            self.con.unregister("_new_shapes")

    def _other_tables(self, mapped: Any, command: str, object_name: str, db: str | None) -> list[dict[str, Any]]:
        if object_name or command not in _COUNTED or not mapped or len(mapped.tables) < 2:
            return []
        out = []
        for table in mapped.tables[1:]:
            owner = self.mapper.owners.owner_of(db, table)
            keys = [{"p": _param_number(v), "v": v} for _, v in mapped.keys] if owner and mapped.keys else []
            out.append({"resource": table, "owner": owner, "keys": keys})
        return out

    def _context(self, before: RecordBlock) -> pa.Table:
        """The previous block's last ``CONTEXT_ROWS`` wanted records (``part`` 0), newest first:
        read from that block itself, so that blocks need not be staged one after another."""
        self.con.register("_before", before.table)
        try:
            return self.con.sql(
                f"SELECT *, 0::TINYINT AS part FROM _before WHERE {_WANTED_SQL} ORDER BY n DESC LIMIT {CONTEXT_ROWS}"
            ).to_arrow_table()
        finally:
            self.con.unregister("_before")

    def stage(self, block: RecordBlock, ahead: RecordBlock | None, before: RecordBlock | None = None) -> StagedBlock:
        """The access rows of ``block``; ``before`` and ``ahead`` are the blocks around it, for
        the rules that look across the cut (none: the file's first or last block)."""
        con = self.con
        parts = [block.table.append_column("part", pa.array([1] * block.table.num_rows, pa.int8()))]
        if before is not None:
            parts.insert(0, self._context(before))
        if ahead is not None:
            head = ahead.table.slice(0, LOOKAHEAD_ROWS)
            parts.append(head.append_column("part", pa.array([2] * head.num_rows, pa.int8())))
        con.register("_rec", pa.concat_tables(parts))
        try:
            con.execute(_FILTER)
        finally:
            con.unregister("_rec")
        con.execute(_AUDIT)
        if con.execute(f"SELECT count(*) FROM b WHERE statement_raw = {_PREV}").fetchall()[0][0]:
            con.execute(_RECOVER)
        bad = con.execute("SELECT min(n) FROM b WHERE NOT regular").fetchall()[0][0]
        if bad is not None:
            raise Irregular(f"line {bad}: an AUDIT body the columnar path does not split")
        self._add_shapes()
        out = con.sql(_OUT).to_arrow_table()
        out = self._add_denied(self._fill_times(out))
        good = out.drop_columns(["reason", "log_time"])
        subjects = unnest_subjects(good)
        good = good.drop_columns(["subjects"])
        empty_bad = pa.table({"n": pa.array([], pa.int64()), "reason": pa.array([], pa.string()),
                              "raw": pa.array([], pa.string())})
        return StagedBlock(good, subjects, empty_bad, block.end_line - block.first_line + 1,
                           block.first_line, block.end_line, block.end_offset, block.digest)

    def _add_denied(self, out: pa.Table) -> pa.Table:
        """Statements the server refused for lack of privilege (SQLSTATE 42501): they have no AUDIT
        line, only the ERROR; the line reader's ``_Mapper.denied`` reads each (they are rare)."""
        denied = self.con.sql(
            "SELECT n, log_time, user_name, database_name, message, query, connection_from FROM r "
            f"WHERE part = 1 AND error_severity = 'ERROR' AND sql_state_code = '{_DENIED}' AND query <> '' ORDER BY n"
        ).fetchall()
        if not denied:
            return out
        rows: list[dict[str, Any]] = []
        for n, log_time, user, database, message, query, connection_from in denied:
            try:
                got = self.mapper.denied({"log_time": log_time, "user_name": user, "database_name": database,
                                          "message": message, "query": query,
                                          "source_ip": _source_ip(connection_from)}, n)
            except ValueError as exc:
                raise Irregular(f"line {n}: {exc}") from exc
            rows.append({**got, "n": n, "reason": None, "purpose": None, "ticket": None, "bytes": None,
                         "system": None, "log_time": log_time,
                         "subjects": [v for _, v in got["subjects"]]})
        extra = pa.Table.from_pylist(rows, schema=out.schema)
        return pa.concat_tables([out, extra]).sort_by("n")

    def _fill_times(self, out: pa.Table) -> pa.Table:
        """Times the SQL left NULL (zone abbreviations it does not know): parse_log_time decides,
        with the workspace's zone for abbreviations that zone uses; a time it rejects is Irregular."""
        ts = out.column("ts")
        if ts.null_count == 0:
            return out
        values = ts.to_pylist()
        texts = out.column("log_time").to_pylist()
        lines = out.column("n").to_pylist()
        for i, v in enumerate(values):
            if v is None:
                try:
                    values[i] = parse_log_time(str(texts[i]), self.local)
                except ValueError as exc:
                    raise Irregular(f"line {lines[i]}: {exc}") from exc
        col = out.schema.get_field_index("ts")
        return out.set_column(col, out.schema.field(col), pa.array(values, type=ts.type))


def _param_number(value: str) -> int:
    """A key template's parameter number ($n), 0 for a literal value."""
    return int(value[len(_PARAM_MARK):]) if value.startswith(_PARAM_MARK) else 0


def _stagers() -> int:
    text = os.environ.get(ENV_STAGERS, "").strip()
    if not text:
        return STAGERS
    if not text.isdigit() or not 1 <= int(text) <= 16:
        raise KansaError(f"{ENV_STAGERS} must be a number of threads from 1 to 16, not {text!r}")
    return int(text)


def staged_csvlog_blocks(
    path: Path,
    owners: OwnerMap,
    local: ZoneInfo,
    *,
    start_offset: int = 0,
    start_line: int = 0,
    hasher: Any = None,
    block_bytes: int | None = None,
) -> Iterator[StagedBlock]:
    """The csvlog's access rows after ``start_offset``, one staged block per record block, in order.

    A background thread reads the record blocks and hands each, with its neighbours, to one of
    ``STAGERS`` threads (``KANSA_CSVLOG_STAGERS`` sets another number; each with its own DuckDB
    and statement shapes), while the caller writes an earlier one (see blocks.run_ahead). Staging
    is the longest step of a csvlog's ingest: with one stager the writer waits for it; with more,
    blocks are staged side by side, at the cost of memory.
    """
    parallel = _stagers()

    def produce() -> Iterator[StagedBlock]:
        mine = threading.local()
        made: list[CsvlogStager] = []

        def stage(before: RecordBlock | None, block: RecordBlock, ahead: RecordBlock | None) -> StagedBlock:
            stager = getattr(mine, "stager", None)
            if stager is None:
                stager = mine.stager = CsvlogStager(owners, local)
                made.append(stager)
            return stager.stage(block, ahead, before)

        pool = ThreadPoolExecutor(parallel, thread_name_prefix="kansa-csvlog-stage")
        waiting: deque[Future[StagedBlock]] = deque()
        try:
            kwargs: dict[str, Any] = {"start_offset": start_offset, "start_line": start_line, "hasher": hasher}
            if block_bytes:
                kwargs["block_bytes"] = block_bytes
            before: RecordBlock | None = None
            block: RecordBlock | None = None
            for ahead in record_blocks(path, **kwargs):
                if block is not None:
                    waiting.append(pool.submit(stage, before, block, ahead))
                    before = block
                block = ahead
                while len(waiting) >= parallel:
                    yield waiting.popleft().result()
            if block is not None:
                waiting.append(pool.submit(stage, before, block, None))
            while waiting:
                yield waiting.popleft().result()
        finally:
            for future in waiting:
                future.cancel()
            pool.shutdown(wait=True)
            for stager in made:
                stager.close()

    return run_ahead(produce)


def ingest_pgaudit_columnar(ws: Workspace, path: Path) -> FileResult:
    """A PostgreSQL csvlog through the columnar pgaudit path (see pgaudit_stage).

    Raises ``Irregular`` (everything rolled back) when the file holds something that path does not
    read exactly as the line reader does; the caller then uses the line reader.
    """
    owners = OwnerMap.load(ws)

    def blocks(start_offset: int, start_line: int, hasher: Any) -> Iterator[StagedBlock]:
        return staged_csvlog_blocks(path, owners, ws.timezone, start_offset=start_offset, start_line=start_line,
                                    hasher=hasher)

    return ingest_staged_blocks(ws, path, "pgaudit", blocks, resume_at_line_end=True)
