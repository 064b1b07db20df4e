"""Read PostgreSQL 15 csvlog/jsonlog files and turn pgaudit AUDIT lines into access records.

In the NTT West case the database access logs existed for ten years and nobody read them. This
reader makes them readable: every ``AUDIT:`` line becomes one access record (who, from where,
which table, which action, which subject keys), each client session's ``connection authorized``
and ``disconnection`` lines become login/logout records (a session that switched auditing off
shows nothing else, and that absence is what audit looks for), everything else the server logs
is skipped, and a line that cannot be decoded is handed back as a BadLine naming its line number,
never dropped silently. A file that is not a PostgreSQL log at all, or a truncated gzip, is an
error for the whole file.

Speed comes from doing per *statement text* what does not depend on the parameters (parsing
with pglast, action, table, owner) and from skipping lines with nothing to map before decoding
them. Resolving the database role and client address to a person is the pipeline's job
(registry tables); this module only parses.
"""
from __future__ import annotations

import csv
import gc
import io
import json
import logging
import re
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import IO, Any, cast
from zoneinfo import ZoneInfo

from kansa.ingest.records import BadLine, Chunk
from kansa.ingest.sqlmap import SqlAccess, key_values, map_shape
from kansa.ingest.textfile import open_binary
from kansa.model.errors import InputError, KansaError
from kansa.model.formats import CSVLOG_COLUMNS
from kansa.model.workspace import Workspace

log = logging.getLogger(__name__)

CHUNK_LINES = 5000
WRONG_KIND_LINES = 20
# A statement's ERROR follows its AUDIT line within a few lines (other sessions' lines may come in
# between); a full chunk is handed on only this many lines later, so that the error still finds it.
SETTLE_LINES = 200
_AUDIT_PREFIX = "AUDIT: "
_PREVIOUSLY = "<previously logged>"
_NO_PARAMS = ("<none>", "<not logged>")
_SUPPRESSED = "<long param suppressed>"  # a value longer than pgaudit.log_parameter_max_size
_COUNTED = ("SELECT", "INSERT", "UPDATE", "DELETE")  # pgaudit COMMANDs whose row count is real
# %Z of log_timezone: named zones PostgreSQL prints by abbreviation, or numeric like +09 / -0330.
_ABBREV = {"UTC": "UTC", "GMT": "UTC", "JST": "Asia/Tokyo", "KST": "Asia/Seoul",
           "CET": "Europe/Berlin", "CEST": "Europe/Berlin", "BST": "Europe/London",
           "EST": "America/New_York", "EDT": "America/New_York",
           "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles"}
_NUMERIC_TZ = re.compile(r"^([+-])(\d{2}):?(\d{2})?$")


_ZONES: dict[str, tzinfo] = {}


def _zone(name: str) -> tzinfo:
    zone = _ZONES.get(name)
    if zone is None:
        m = _NUMERIC_TZ.match(name)
        if m:
            delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
            zone = timezone(-delta if m.group(1) == "-" else delta)
        elif name in _ABBREV:
            zone = ZoneInfo(_ABBREV[name])
        else:
            raise ValueError(f"unknown time zone abbreviation {name!r}; set log_timezone to UTC or an offset")
        _ZONES[name] = zone
    return zone


def parse_log_time(text: str, local: ZoneInfo | None = None) -> datetime:
    """Parse ``2024-01-05 10:00:00.123 JST`` (csvlog/jsonlog ``%m %Z``) to an aware datetime.

    PostgreSQL prints ``log_timezone``'s abbreviation, which is ambiguous in general (CST, IST).
    An abbreviation not in the table above is accepted when it is what ``local`` (the workspace's
    zone, where the server usually is) calls that moment, e.g. CST/CDT for America/Chicago.
    """
    stamp, _, zone = text.strip().rpartition(" ")
    if not stamp:
        raise ValueError(f"no time zone in timestamp {text!r}")
    naive = datetime.fromisoformat(stamp)
    try:
        return naive.replace(tzinfo=_zone(zone))
    except ValueError:
        if local is not None:
            for fold in (0, 1):  # the repeated hour when clocks go back: the abbreviation decides
                here = naive.replace(tzinfo=local, fold=fold)
                if here.tzname() == zone:  # as a fixed offset: an instant in a fold compares unequal
                    return here.astimezone(timezone(here.utcoffset() or timedelta(0)))  # (PEP 495)
        raise


def split_audit(message: str) -> dict[str, Any] | None:
    """Split the CSV body of an ``AUDIT:`` message; None when the message is not pgaudit's."""
    if not message.startswith(_AUDIT_PREFIX):
        return None
    body = message[len(_AUDIT_PREFIX):]
    # The first six fields (type, ids, class, command, object type) never hold a comma or quote.
    head = body.split(",", 6)
    if len(head) < 7 or '"' in "".join(head[:6]):
        fields = next(csv.reader([body], strict=False), [])
    else:
        rest = head[6]
        tail = next(csv.reader([rest], strict=False), []) if '"' in rest else rest.split(",")
        fields = head[:6] + tail
    if len(fields) < 8:
        raise ValueError(f"AUDIT message has {len(fields)} fields, expected at least 8")
    return {
        "audit_type": fields[0], "statement_id": fields[1], "substatement_id": fields[2],
        "class": fields[3], "command": fields[4], "object_type": fields[5],
        "object_name": fields[6], "statement": fields[7],
        "tail": fields[8:],  # parameters, then the row count when pgaudit.log_rows is on
    }


def params_and_rows(tail: list[str], n_params: int) -> tuple[list[str], int | None]:
    """Split what follows the statement into its parameters and, with ``pgaudit.log_rows = on``,
    the row count pgaudit appends last.

    pgaudit writes all parameters as ONE field: the values, each CSV-quoted when it holds a comma,
    quote or newline, joined by commas, and that list CSV-quoted again (``"R001,大阪"`` for two; one
    value with a comma comes out in tripled quotes; a NULL is an empty item). So a real line has one
    field after the statement, two with log_rows. Lines with one field per value are not pgaudit's
    own layout (hand-made, or kansa's simulator): read one value per field, the last a count when
    there is one field more than the statement's ``$n``.
    """
    if not tail:
        return [], None
    head = tail[0]
    if head in _NO_PARAMS or head == _PREVIOUSLY:
        rows = _count(tail[1]) if len(tail) == 2 else None
        return ([] if head in _NO_PARAMS else [head]), rows
    if len(tail) == 1:
        return _param_list(head), None
    if len(tail) == 2 and (rows := _count(tail[1])) is not None:
        values = _param_list(head)
        if len(values) >= n_params:  # else: a hand-made line, one field per value (below)
            return values, rows
    if len(tail) == n_params + 1 and (rows := _count(tail[-1])) is not None:
        return tail[:-1], rows
    return tail, None


def _param_list(field: str) -> list[str]:
    """pgaudit's parameter field → the values, in $n order."""
    if not any(ch in field for ch in ',"\r\n'):
        return [field]
    return next(csv.reader([field], strict=False), None) or [""]


def _count(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _source_ip(connection_from: str | None) -> str | None:
    if not connection_from or connection_from.startswith("["):
        return None  # "[local]": a unix socket, no address
    host, sep, port = connection_from.rpartition(":")
    if sep and port.isdigit():
        return host.strip("[]")
    return connection_from


def _source_ip_json(remote_host: Any) -> str | None:
    """jsonlog gives the host without port; "[local]" is a unix socket."""
    if not remote_host or str(remote_host).startswith("[local"):
        return None
    return str(remote_host)


# With log_connections / log_disconnections on (C1 in docs/formats.md) the server writes these two
# messages for every client session. They are not pgaudit's, but they are what shows a session that
# ran with auditing switched off: a login and a logout with no AUDIT line in between.
_LOGIN = re.compile(r"^(?:replication )?connection authorized: user=(\S*)")
_LOGOUT = re.compile(r"^disconnection: session time: \S+ user=(\S*)")
_AUTH_FAILED = re.compile(r'^password authentication failed for user "(.*)"')


def session_event(row: dict[str, Any], line: int, local: ZoneInfo | None = None) -> dict[str, Any] | None:
    """A login (connection authorized), logout (disconnection) or failed login; else None."""
    message = str(row.get("message") or "")
    severity = str(row.get("error_severity") or "")
    outcome = "success"
    if severity == "LOG" and (m := _LOGIN.match(message)):
        action = "login"
    elif severity == "LOG" and (m := _LOGOUT.match(message)):
        action = "logout"
    elif severity == "FATAL" and (m := _AUTH_FAILED.match(message)):
        action, outcome = "login", "failure"
    else:
        return None
    session = row.get("session_id") or row.get("process_id")
    return {
        "ts": parse_log_time(str(row["log_time"]), local),
        "account": row.get("user_name") or m.group(1) or None,
        "action": action,
        "resource": f"session:{session}" if session else None,
        "columns": None,
        "owner_id": None,
        "terminal": None,
        "source_ip": row.get("source_ip"),
        "outcome": outcome,
        "row_count": None,
        "statement": message,
        "source_system": "postgresql",
        "source_line": line,
        "subjects": [],
    }


class OwnerMap:
    """Which owner's data a table holds: registry ``db_owners`` rows, else the schema's name.

    One database often holds several clients' data in schemas named for the project, not for the
    client (``cc_2019_osaka``), or one client's tables in ``public``. The most specific row wins:
    database + schema + table, then database + schema, then the same without a database. A table
    named without a schema is looked up in ``public`` (PostgreSQL's default search_path).
    """

    def __init__(self, rows: Iterable[tuple[str | None, str, str | None, str]] = ()) -> None:
        self.rows = {(db or None, schema, table or None): owner for db, schema, table, owner in rows}
        self._seen: dict[tuple[str | None, str], str | None] = {}

    @classmethod
    def load(cls, ws: Workspace) -> OwnerMap:
        return cls(ws.con.execute('SELECT "database", "schema", "table", owner_id FROM db_owners').fetchall())

    def owner_of(self, database: str | None, relation: str) -> str | None:
        key = (database, relation)
        if key not in self._seen:
            if len(self._seen) > 100_000:  # bounded on logs naming endless temp tables
                self._seen.clear()
            self._seen[key] = self._lookup(database, relation)
        return self._seen[key]

    def _lookup(self, database: str | None, relation: str) -> str | None:
        schema, dot, table = relation.partition(".")
        if not dot:
            schema, table = "public", relation
        for key in ((database, schema, table), (database, schema, None), (None, schema, table),
                    (None, schema, None)):
            if key in self.rows:
                return self.rows[key]
        if schema in _SYSTEM_SCHEMAS:  # pgaudit.log_catalog = on: the server's own tables
            return None
        return schema if dot else None


# Schemas of PostgreSQL itself: nobody's personal data, so never an owner by their name.
_SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})


def plain_relation(name: str) -> str:
    """pgaudit's OBJECT_NAME without identifier quoting: ``"Pref Kyoto"."住民"`` → ``Pref Kyoto.住民``.

    pgaudit quotes every name part that is not plain lower-case ASCII (so every Japanese table
    name), while pglast names the same table unquoted: one spelling, the parser's, for both.
    """
    if '"' not in name:
        return name
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == '"':
            if quoted and name[i + 1:i + 2] == '"':
                current.append('"')
                i += 1
            else:
                quoted = not quoted
        elif ch == "." and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return ".".join(parts)


_DENIED = "42501"  # SQLSTATE insufficient_privilege
_DENIED_WHAT = re.compile(r"^permission denied for (?:table|view|materialized view|sequence|schema|"
                          r"foreign table) (.+)$")
# pgaudit's COMMAND for a statement whose SQL could not be parsed: what it did, when certain.
_BY_COMMAND = {"INSERT": "insert", "UPDATE": "update", "DELETE": "delete", "TRUNCATE TABLE": "delete"}
# Statement fields that are pgaudit's placeholders, not SQL (pgaudit.log_statement = off).
_NOT_SQL = ("<not logged>", _PREVIOUSLY)


class _Mapper:
    """Turns AUDIT log records into access dicts; remembers statements logged once."""

    def __init__(self, owners: OwnerMap | None = None, local: ZoneInfo | None = None) -> None:
        self.owners = owners or OwnerMap()
        self.local = local
        self.shapes: dict[tuple[str | None, str, str, str | None], tuple[
            SqlAccess | None, str, str | None, str | None]] = {}
        self.statements: OrderedDict[tuple[str, str, str], tuple[str, list[str]]] = OrderedDict()
        # The last audited statement of each (session, virtual xid): [its statement id, its events
        # ...] (one list: a chunk keeps thousands alive). An ERROR in the same transaction after it
        # means it failed, unless the ERROR names another statement (see record()).
        self.open: dict[tuple[str, str], list[Any]] = {}
        # events of the last AUDIT line after the one record() returned (log_relation off: a join)
        self.more: list[dict[str, Any]] = []
        # (session, statement, substatement, relation) already emitted: with session AND object
        # auditing on, pgaudit writes one SESSION and one OBJECT line for the same access.
        self.emitted: OrderedDict[tuple[str, str, str, str | None], None] = OrderedDict()

    def flush(self) -> None:
        self.open.clear()

    def _shape(self, statement: str | None, command: str, relation: str,
               database: str | None) -> tuple[SqlAccess | None, str, str | None, str | None]:
        """(SQL shape, action, resource, owner) of one statement text as logged; computed once.

        Applications repeat a handful of statement texts with new parameters, so everything that
        does not depend on the parameters is looked up, not recomputed, for each line.
        """
        cache_key = (statement, command, relation, database)
        hit = self.shapes.get(cache_key)
        if hit is not None:
            return hit
        relation = plain_relation(relation)
        mapped = map_shape(statement, command.upper(), relation or None) if statement else None
        action = mapped.action if mapped else "other"
        if mapped is not None and mapped.parse_error is not None:
            # SQL pglast cannot read: the event stays, with pgaudit's relation (if logged) as its
            # resource and pgaudit's command for the kind of change; a read's breadth is unknown
            action = _BY_COMMAND.get(command.upper(), "other")
            if statement not in _NOT_SQL:
                log.warning("statement not parsed (%s); kept as %r on %s: %.200s", mapped.parse_error,
                            action, relation or "an unknown table", statement)
        resource: str | None
        if relation:
            resource = relation
        elif mapped and mapped.setting and action == "admin":
            resource = mapped.setting
        elif mapped and mapped.tables:
            resource = mapped.tables[0]
        else:
            resource = None
        owner = self.owners.owner_of(database, resource) if resource and not (mapped and mapped.setting) else None
        if len(self.shapes) > 10000:
            self.shapes.clear()
        self.shapes[cache_key] = hit = (mapped, action, resource, owner)
        return hit

    def denied(self, row: dict[str, Any], line: int) -> dict[str, Any]:
        """A statement refused for lack of privilege: a failed access to the table the message names.

        PostgreSQL checks privileges before pgaudit logs, so such a statement has no AUDIT line; the
        server's ERROR (with the statement in its ``query`` field, log_min_error_statement = error,
        the default) is the only trace of a role trying tables it was not granted.
        """
        statement = str(row["query"])
        database = row.get("database_name") or None
        named = _DENIED_WHAT.match(str(row.get("message") or ""))
        relation = ""
        if named:
            name = plain_relation(named.group(1))
            tables = map_shape(statement, None, None).tables
            relation = next((t for t in tables if t == name or t.endswith("." + name)
                             or t.startswith(name + ".")), "")
        mapped, action, resource, owner = self._shape(statement, "", relation, database)
        subjects = sorted({(owner, v) for v in key_values(mapped, []) if not v.startswith("$")}) if (
            owner and mapped and mapped.keys) else []
        return {
            "ts": parse_log_time(str(row["log_time"]), self.local), "account": row.get("user_name") or None,
            "action": action, "resource": resource,
            "columns": list(mapped.columns) if mapped and mapped.columns else None,
            "owner_id": owner, "terminal": None, "source_ip": row.get("source_ip"), "outcome": "failure",
            "row_count": None, "statement": statement, "source_system": "postgresql",
            "source_line": line, "subjects": subjects,
        }

    def record(self, row: dict[str, Any], line: int) -> dict[str, Any] | None:
        session = str(row.get("session_id") or row.get("process_id") or "")
        audit = split_audit(row.get("message") or "")
        if audit is None:
            login = session_event(row, line, self.local)
            if login is not None:
                return login
            severity = str(row.get("error_severity") or "")
            if severity in ("ERROR", "FATAL", "PANIC") and row.get("virtual_transaction_id"):
                last = self.open.pop((session, str(row["virtual_transaction_id"])), None)
                # The ERROR carries the failing statement's text (query, while log_min_error_statement
                # is error, the default). In an explicit transaction, a statement pgaudit did not log
                # (unknown table, a class not audited) can fail after one that succeeded: that one
                # keeps its success. A function's inner statement failing names the outer call,
                # which pgaudit logged under the same statement id. Without the text: the last one.
                query = row.get("query")
                if last is not None and (not query or any(r["statement"] == query for r in last[1:])):
                    for failed in last[1:]:
                        failed["outcome"] = "failure"
            if severity == "ERROR" and row.get("sql_state_code") == _DENIED and row.get("query"):
                return self.denied(row, line)
            return None
        key = (session, audit["statement_id"], audit["substatement_id"])
        statement = audit["statement"]
        cached: list[str] = []
        if statement == _PREVIOUSLY:
            statement, cached = self.statements.get(key, (None, []))  # type: ignore[assignment]
            if statement is None:
                prior = [v for k, v in self.statements.items() if k[:2] == key[:2]]
                statement, cached = prior[-1] if prior else (None, [])  # type: ignore[assignment]
        database = row.get("database_name") or None
        shape = self._shape(statement, audit["command"], audit["object_name"], database)
        mapped, action, resource, owner = shape
        params, rows = params_and_rows(audit["tail"], mapped.n_params if mapped else 0)
        if params == [_PREVIOUSLY] or (not params and audit["statement"] == _PREVIOUSLY):
            params = cached
        if audit["statement"] != _PREVIOUSLY and statement is not None:
            self.statements[key] = (statement, params)
            if len(self.statements) > 10000:  # keep memory bounded on long logs
                self.statements.popitem(last=False)
        seen = (*key, resource)
        if seen in self.emitted:
            return None
        # COPY (query) TO logs each relation the query reads (READ,SELECT,TABLE,rel; substatement 1),
        # then the COPY itself without an object (READ,COPY; substatement 2): one export, not two.
        if (audit["command"] == "COPY" and not audit["object_name"] and mapped and mapped.tables
                and all((*key[:2], "*", t) in self.emitted for t in mapped.tables)):
            return None
        self.emitted[seen] = None
        self.emitted[(*key[:2], "*", resource)] = None
        while len(self.emitted) > 20000:
            self.emitted.popitem(last=False)
        subjects = sorted({(owner, v) for v in key_values(mapped, params)
                           if not v.startswith("$") and v != _SUPPRESSED}) if (
            owner and mapped and mapped.keys) else []
        rec = {
            "ts": parse_log_time(str(row["log_time"]), self.local),
            "account": row.get("user_name") or None,
            "action": action,
            "resource": resource,
            "columns": list(mapped.columns) if mapped and mapped.columns else None,
            "owner_id": owner,
            "terminal": None,
            "source_ip": row.get("source_ip"),
            # pgaudit logs when execution starts; an ERROR in the same transaction turns this to
            # "failure" (see self.open). A rollback after success still means the data was read.
            "outcome": "success",
            # only with pgaudit.log_rows = on, and only for statements the executor counts: a COPY
            # of a table reports 0 whatever it wrote, so its size stays unknown (NULL)
            "row_count": rows if audit["command"] in _COUNTED else None,
            "statement": statement,
            "source_system": "pgaudit",
            "source_line": line,
            "subjects": subjects,
        }
        if not audit["object_name"] and audit["command"] in _COUNTED and mapped and len(mapped.tables) > 1:
            self.more = self._other_tables(rec, mapped, params, key, database)
        vxid = str(row.get("virtual_transaction_id") or "")
        if vxid:
            last = self.open.get((session, vxid))
            if last is None or last[0] != audit["statement_id"]:
                self.open[(session, vxid)] = [audit["statement_id"], rec, *self.more]
            else:
                last.append(rec)
                last.extend(self.more)
        return rec

    def _other_tables(self, rec: dict[str, Any], mapped: SqlAccess, params: list[str],
                      key: tuple[str, str, str], database: str | None) -> list[dict[str, Any]]:
        """pgaudit.log_relation = off (its default) logs a statement once, naming no table: the
        first table the SQL names is ``rec``; each other one gets the same event, as the
        one-line-per-table log of log_relation = on would have given."""
        out = []
        for table in mapped.tables[1:]:
            if (*key, table) in self.emitted:
                continue
            self.emitted[(*key, table)] = None
            self.emitted[(*key[:2], "*", table)] = None
            owner = self.owners.owner_of(database, table)
            subjects = sorted({(owner, v) for v in key_values(mapped, params)
                               if not v.startswith("$") and v != _SUPPRESSED}) if owner and mapped.keys else []
            out.append({**rec, "resource": table, "owner_id": owner, "subjects": subjects})
        return out


def _open_text(path: Path) -> IO[str]:
    """Plain or gzip by the first bytes (not the name); undecodable bytes kept for _recode."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="surrogateescape", newline="")


def _recode(value: str) -> str | None:
    """Text of a field read as UTF-8 with surrogate escapes; None if it is not UTF-8 or EUC-JP.

    A server whose database encoding is EUC_JP (common in older Japanese systems) writes the
    statement text in that encoding. SJIS/CP932 cannot be a server encoding, so we do not guess
    it: a guess that loose would turn garbage into "text" instead of quarantining it.
    """
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        return value.encode("utf-8", "surrogateescape").decode("euc_jp")
    except UnicodeError:
        return None


# Messages the mapper turns into events (AUDIT lines, sessions, failed logins); any other line is
# skipped before it costs anything, unless it is an error that can mark a statement as failed.
_WANTED = (_AUDIT_PREFIX, "connection authorized: ", "replication connection authorized: ",
           "disconnection: ", "password authentication failed")
_FAILING = ("ERROR", "FATAL", "PANIC")
_I = {name: i for i, name in enumerate(CSVLOG_COLUMNS)}
_USED = ("log_time", "user_name", "database_name", "process_id", "connection_from", "session_id",
         "virtual_transaction_id", "error_severity", "sql_state_code", "message", "query")
_USED_AT = tuple(_I[c] for c in _USED)
_MESSAGE, _SEVERITY, _VXID = _I["message"], _I["error_severity"], _I["virtual_transaction_id"]
# Column counts of the csvlog layouts: 9.0-12 end at application_name, 13 adds backend_type, 14+
# leader_pid and query_id. The columns read here are among the first 23 in all of them.
_LAYOUTS = (23, 24, len(CSVLOG_COLUMNS))
assert max(_USED_AT) < 23

Row = tuple[int, int, "dict[str, Any] | None", "str | None", str]
"""(first line, last line, row, reason, raw): a row to map; or row None with a reason (quarantine)
or with reason None (a line the mapper has no use for, skipped)."""


def _csv_rows(text: IO[str]) -> Iterator[Row]:
    """Yield one Row per csvlog record; only the columns the mapper reads are decoded and kept."""
    reader = csv.reader(text, strict=False)
    last = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield last + 1, reader.line_num, None, f"malformed CSV: {exc}", ""
            last = reader.line_num
            continue
        first, last = last + 1, reader.line_num
        if len(fields) not in _LAYOUTS:
            yield (first, last, None, f"expected a csvlog record of 26 columns (PostgreSQL 14+; 24 in 13,"
                   f" 23 in 9.0-12), got {len(fields)}", ",".join(fields)[:500])
            continue
        message = fields[_MESSAGE]
        if not message.startswith(_WANTED) and not (fields[_SEVERITY] in _FAILING and fields[_VXID]):
            yield first, last, None, None, ""
            continue
        used = [fields[i] for i in _USED_AT]
        if not "".join(used).isascii():
            recoded = [_recode(f) for f in used]
            if any(f is None for f in recoded):
                raw = ",".join(fields)[:500].encode("utf-8", "replace").decode()
                yield first, last, None, "not valid UTF-8 (nor EUC-JP)", raw
                continue
            used = cast(list[str], recoded)
        row: dict[str, Any] = dict(zip(_USED, used, strict=True))
        row["source_ip"] = _source_ip(row["connection_from"])
        yield first, last, row, "", ""


# A server's jsonlog line starts like this; one that also names none of the messages we map is
# skipped without parsing it (most lines of a busy server: statements, checkpoints, ...).
_JSON_START = '{"timestamp":"'
_JSON_WANTED = ("AUDIT: ", "connection authorized: ", "disconnection: ", "password authentication failed",
                '"error_severity":"ERROR"', '"error_severity":"FATAL"', '"error_severity":"PANIC"')


def _json_rows(text: IO[str]) -> Iterator[Row]:
    for n, line in enumerate(text, start=1):
        if not line.strip():
            continue
        if line.startswith(_JSON_START) and not any(w in line for w in _JSON_WANTED):
            yield n, n, None, None, ""
            continue
        text_line = _recode(line)
        if text_line is None:
            yield n, n, None, "not valid UTF-8 (nor EUC-JP)", line.encode("utf-8", "replace").decode()[:500]
            continue
        line = text_line
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, n, None, f"invalid JSON: {exc.msg}", line[:500]
            continue
        if not isinstance(obj, dict) or "timestamp" not in obj:
            yield n, n, None, "not a jsonlog object (no timestamp)", line[:500]
            continue
        yield n, n, {
            "log_time": obj["timestamp"], "user_name": obj.get("user"),
            "session_id": obj.get("session_id"), "process_id": obj.get("pid"),
            "database_name": obj.get("dbname"),
            "error_severity": obj.get("error_severity"), "virtual_transaction_id": obj.get("vxid"),
            "sql_state_code": obj.get("state_code"), "query": obj.get("statement"),
            "message": obj.get("message"), "source_ip": _source_ip_json(obj.get("remote_host")),
        }, "", line[:500]


def is_jsonlog(path: Path) -> bool:
    """By name: PostgreSQL names its jsonlog files *.json; a file named otherwise (a log shipper's
    *.log) by its first record, which in a jsonlog is an object starting with its timestamp."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".json", ".jsonl")):
        return True
    if name.endswith(".csv"):
        return False
    try:
        with open_binary(path) as fh:
            head = fh.read(len(_JSON_START) + 3)
    except (OSError, EOFError, zlib.error):
        return False  # the reader reports the damage
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(_JSON_START.encode())


def pgaudit_reader(ws: Workspace) -> Callable[[Path], Iterator[Chunk]]:
    """read_pgaudit bound to the workspace's table→owner mapping (registry db_owners.csv)."""
    owners = OwnerMap.load(ws)
    local = ws.timezone
    return lambda path: read_pgaudit(path, owners, local)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing allocates a few small objects per line and keeps thousands alive (the chunk, the
    statement and dedup caches), which makes CPython's cyclic collector rescan them again and again:
    about a third of the reader's time. Nothing here creates reference cycles, so while a chunk is
    parsed the collector waits; it runs as usual while the caller works on the chunk."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read_pgaudit(path: Path, owners: OwnerMap | None = None, local: ZoneInfo | None = None) -> Iterator[Chunk]:
    """Yield chunks of access records from a PostgreSQL csvlog or jsonlog file (plain or .gz)."""
    path = Path(path)
    if not path.is_file():
        raise KansaError(f"{path}: no such PostgreSQL log file")
    chunks = _chunks(path, owners, local)
    while True:
        with _gc_paused():
            chunk = next(chunks, None)
        if chunk is None:
            return
        yield chunk


def _chunks(path: Path, owners: OwnerMap | None, local: ZoneInfo | None) -> Iterator[Chunk]:
    mapper = _Mapper(owners, local)
    chunk = Chunk()
    kind = "jsonlog" if is_jsonlog(path) else "csvlog"
    recognised = False  # a file none of whose first lines is a log record is not a log at all
    full_at: int | None = None  # line at which the chunk reached CHUNK_LINES; handed on SETTLE_LINES later
    open_end = _ends_mid_line(path)
    try:
        with _open_text(path) as text:
            rows = _json_rows(text) if kind == "jsonlog" else _csv_rows(text)
            for (first, last, row, reason, raw), final in _mark_last(rows):
                if final and open_end and recognised and row is None and reason is not None:
                    break  # a live log's record still being written: left for the next run
                chunk.end_line = last
                if row is not None:
                    recognised = True
                    try:
                        rec = mapper.record(row, first)
                    except (ValueError, KeyError) as exc:
                        chunk.bad.append(BadLine(line=first, reason=str(exc), raw=raw or _raw(row)))
                        rec = None
                    if rec is not None:
                        chunk.access.append(rec)
                        if mapper.more:
                            chunk.access.extend(mapper.more)
                            mapper.more = []
                elif reason is None:  # a log line with nothing for us (checkpoint, plain LOG, ...)
                    recognised = True
                    continue
                else:
                    if not recognised and len(chunk.bad) + 1 >= WRONG_KIND_LINES:
                        raise InputError(_wrong_kind(path, kind, f"none of the first {WRONG_KIND_LINES}"
                                                     f" records is one ({reason})"), path=str(path), line=first)
                    chunk.bad.append(BadLine(line=first, reason=reason, raw=raw))
                if full_at is None and len(chunk.access) + len(chunk.bad) >= CHUNK_LINES:
                    full_at = last
                if full_at is not None and last - full_at >= SETTLE_LINES:
                    yield chunk
                    chunk, full_at = Chunk(end_line=last), None
                    mapper.flush()
    except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip: the whole file fails
        raise InputError(f"cannot read after line {chunk.end_line}: {exc}", path=str(path),
                         line=chunk.end_line + 1) from exc
    if not recognised and chunk.bad:
        first_bad = chunk.bad[0]
        raise InputError(_wrong_kind(path, kind, first_bad.reason), path=str(path), line=first_bad.line)
    if chunk.access or chunk.bad or chunk.end_line:
        yield chunk


# A line of PostgreSQL's stderr log: any log_line_prefix, then a severity and two spaces.
_STDERR_LINE = re.compile(r"\b(?:LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG[1-5]?|STATEMENT|DETAIL|HINT"
                          r"|CONTEXT):  ")


def _wrong_kind(path: Path, kind: str, why: str) -> str:
    """Why a file is refused, naming the setting to change when it is the server's stderr log.

    The stderr format is not read: its line prefix is whatever log_line_prefix says (often without
    the session or even the user), and a message with newlines spans lines with no marker.
    """
    try:
        with _open_text(path) as text:
            head = [line for _, line in zip(range(WRONG_KIND_LINES), text, strict=False)]
    except (OSError, EOFError, zlib.error):
        head = []
    if head and sum(bool(_STDERR_LINE.search(line)) for line in head) * 2 >= len(head):
        return ("a PostgreSQL stderr log, which kansa does not read: set log_destination = 'csvlog'"
                " (or 'jsonlog') and logging_collector = on, and ingest the .csv (.json) files")
    return f"not a PostgreSQL {kind} ({why})"


def _ends_mid_line(path: Path) -> bool:
    """A plain file whose last byte is not a newline: the server is still writing its last record."""
    with path.open("rb") as fh:
        if fh.read(2) == b"\x1f\x8b":
            return False  # a gzip is a finished, rotated log
        fh.seek(0, 2)
        if fh.tell() == 0:
            return False
        fh.seek(-1, 2)
        return fh.read(1) != b"\n"


def _mark_last(rows: Iterator[Row]) -> Iterator[tuple[Row, bool]]:
    """Each row with whether it is the file's last."""
    previous: Row | None = None
    for row in rows:
        if previous is not None:
            yield previous, False
        previous = row
    if previous is not None:
        yield previous, True


def _raw(row: dict[str, Any]) -> str:
    return ",".join(str(row.get(c) or "") for c in _USED)[:500]
