"""Map one SQL statement onto the access model (action, tables, columns, subject keys).

pgaudit tells us *that* a statement ran and its class (READ/WRITE/...), but an auditor needs to
know *what kind* of access it was: one record looked up by its key (view), a list of candidates
(search), or the whole table leaving the database (export). That distinction is exactly what
separated the call-centre maintainer's bulk pulls from ordinary work, so we read it from the SQL
itself with pglast (PostgreSQL's own parser) instead of guessing from keywords.

Values compared to key-like columns (``resident_id = $1``, ``納税者番号 = 'T001'``) become subject
ids so that audit can ask "who looked at this person" without storing names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import cast

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind
from pglast.parser import ParseError
from pglast.visitors import Visitor

# A column whose values identify one person/record: id, *_id, *_no, *number, *番号, *コード, ...
_KEY_COLUMN = re.compile(r"(^id$|_id$|^no$|_no$|number$|code$|番号$|コード$|ＩＤ$|ID$)", re.IGNORECASE)

_DDL_NODES: tuple[type, ...] = (
    ast.CreateStmt, ast.AlterTableStmt, ast.DropStmt, ast.CreateSchemaStmt, ast.GrantStmt,
    ast.GrantRoleStmt, ast.CreateRoleStmt, ast.AlterRoleStmt, ast.DropRoleStmt, ast.IndexStmt,
    ast.ViewStmt, ast.CreateFunctionStmt, ast.TruncateStmt, ast.RenameStmt, ast.AlterOwnerStmt,
    ast.CreateTableAsStmt, ast.AlterSystemStmt,
)


# Predicates that return candidate lists rather than one record.
_CANDIDATE_KINDS = (A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE, A_Expr_Kind.AEXPR_BETWEEN,
                    A_Expr_Kind.AEXPR_SIMILAR)
_CANDIDATE_OPS = ("<", ">", "<=", ">=", "~~", "~~*", "~", "~*")


@dataclass
class SqlAccess:
    """What one statement did, in access-model words."""

    action: str
    tables: list[str] = field(default_factory=list)        # "schema.table" (schema may be absent)
    columns: list[str] = field(default_factory=list)       # selected/written columns; "*" for all
    keys: list[tuple[str, str]] = field(default_factory=list)  # (key column, value) pairs
    setting: str | None = None                             # e.g. "pgaudit.log" for SET pgaudit.log
    parse_error: str | None = None
    n_params: int = 0                                      # highest $n in the query string


def _range_name(rv: ast.RangeVar) -> str:
    return f"{rv.schemaname}.{rv.relname}" if rv.schemaname else str(rv.relname)


class _Collector(Visitor):  # type: ignore[misc]
    """Collect tables, key comparisons and LIKE/range predicates in one walk."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[str] = []
        self.keys: list[tuple[str, str]] = []
        self.equalities = 0
        self.fuzzy = 0  # LIKE, ranges, IN lists: predicates that return candidate lists
        self.set_config: str | None = None
        # key_col = name: a join condition, or (in a PL/pgSQL body, which pgaudit logs as written)
        # a look-up by a variable whose value the text does not show; _map_node decides which
        self.by_name: list[str] = []
        self.ctes: set[str] = set()  # WITH names: a FROM naming one reads no table of that name

    def visit_CommonTableExpr(self, ancestors: object, node: ast.CommonTableExpr) -> None:
        self.ctes.add(str(node.ctename))

    def visit_FuncCall(self, ancestors: object, node: ast.FuncCall) -> None:
        name = node.funcname[-1].sval if node.funcname else ""
        if str(name).lower() == "set_config" and node.args:
            setting = self._value(node.args[0])
            if setting and setting.lower().startswith("pgaudit."):
                self.set_config = setting.lower()

    def visit_RangeVar(self, ancestors: object, node: ast.RangeVar) -> None:
        name = _range_name(node)
        if name not in self.tables:
            self.tables.append(name)

    def _value(self, node: object) -> str | None:
        if isinstance(node, ast.ParamRef):
            return f"{_PARAM_MARK}{node.number}"  # filled per call by map_sql
        if isinstance(node, ast.A_Const) and not node.isnull and node.val is not None:
            v = node.val
            for attr in ("sval", "ival", "fval"):
                if hasattr(v, attr):
                    return str(getattr(v, attr))
        if isinstance(node, ast.TypeCast):
            return self._value(node.arg)
        return None

    @staticmethod
    def _bare_name(node: object) -> bool:
        """An unqualified name (``id``, not ``t.id``): a column of the same table or a variable."""
        fields = (node.fields or ()) if isinstance(node, ast.ColumnRef) else ()
        return len(fields) == 1 and isinstance(fields[0], ast.String)

    @staticmethod
    def _column(node: object) -> str | None:
        if isinstance(node, ast.ColumnRef) and node.fields:
            last = node.fields[-1]
            if isinstance(last, ast.String):
                return str(last.sval)
        return None

    def visit_A_Expr(self, ancestors: object, node: ast.A_Expr) -> None:
        col = self._column(node.lexpr)
        if col is None:
            return
        op = node.name[-1].sval if node.name else ""
        kind = node.kind
        if kind == A_Expr_Kind.AEXPR_OP and op == "=":
            value = self._value(node.rexpr)
            if value is None:
                if _KEY_COLUMN.search(col) and self._bare_name(node.rexpr):
                    self.by_name.append(col)
                return  # a join condition, not a look-up (unless _map_node finds one table only)
            self.equalities += 1
            if _KEY_COLUMN.search(col):
                self.keys.append((col, value))
        elif kind == A_Expr_Kind.AEXPR_IN and isinstance(node.rexpr, tuple):
            values = [v for v in (self._value(x) for x in node.rexpr) if v is not None]
            if values:
                self.fuzzy += 1
                if _KEY_COLUMN.search(col):
                    self.keys.extend((col, v) for v in values)
        elif (kind in _CANDIDATE_KINDS or op in _CANDIDATE_OPS) and (
                self._value(node.rexpr) is not None or isinstance(node.rexpr, tuple)):
            self.fuzzy += 1


def _target_columns(targets: Sequence[ast.ResTarget] | None) -> list[str]:
    cols: list[str] = []
    for t in targets or ():
        val = getattr(t, "val", None)
        if isinstance(val, ast.ColumnRef) and val.fields:
            last = val.fields[-1]
            cols.append("*" if isinstance(last, ast.A_Star) else str(getattr(last, "sval", "?")))
        elif getattr(t, "name", None):
            cols.append(str(t.name))
    return cols


def _read_action(c: _Collector) -> str:
    # One table and `key = name`: the name can only be a variable (a function or DO block's
    # statement as pgaudit logs it, `WHERE resident_id = id`): a look-up of one unknown value,
    # not a whole-table export. Two tables: the same shape is a join condition.
    by_variable = len(c.by_name) if len(c.tables) == 1 else 0
    if (c.equalities and c.keys) or by_variable:
        distinct = len({v for _, v in c.keys}) + by_variable
        return "view" if distinct == 1 and not c.fuzzy else "search"
    if c.equalities or c.fuzzy:
        return "search"
    return "export"


_PARAM_MARK = "\x00$"  # cannot occur in SQL text, so a literal '$1' is never taken for a parameter


def map_sql(sql: str, params: Sequence[str] = (), command: str | None = None,
            relation: str | None = None) -> SqlAccess:
    """Map the first statement of ``sql``; ``params`` fill ``$1..$n`` (pgaudit.log_parameter).

    ``command`` is pgaudit's COMMAND field. pgaudit logs an EXECUTE of a prepared statement with
    the PREPARE text and command SELECT/INSERT/...: then the prepared query is what ran. The
    PREPARE itself (command PREPARE) and the EXECUTE wrapper line touch no data: "other".
    ``relation`` is pgaudit's OBJECT_NAME; with ``command`` it picks the statement that ran out of
    a multi-statement query string.
    """
    shape = map_shape(sql, None if command is None else command.upper(), relation or None)
    if not shape.keys:
        return shape
    return replace(shape, keys=list(zip((c for c, _ in shape.keys), key_values(shape, params), strict=True)))


def key_values(shape: SqlAccess, params: Sequence[str]) -> list[str]:
    """The shape's key values with ``$n`` filled from ``params`` (``$n`` kept when not logged)."""
    out = []
    for _, value in shape.keys:
        if value.startswith(_PARAM_MARK):
            n = int(value[len(_PARAM_MARK):])
            value = params[n - 1] if 0 < n <= len(params) else f"${n}"
        out.append(value)
    return out


@lru_cache(maxsize=4096)
def map_shape(sql: str, command: str | None, relation: str | None) -> SqlAccess:
    """The statement's shape, analysed once per distinct text (applications repeat one statement
    text with new parameters). ``$n`` values are left as markers; ``key_values`` fills them.

    The result is cached and shared: callers must not mutate it.
    """
    try:
        stmts = parse_sql(sql)
    except ParseError as exc:
        return SqlAccess(action="other", parse_error=str(exc))
    if not stmts:
        return SqlAccess(action="other")
    counter = _ParamCounter()
    for st in stmts:
        if st.stmt is not None:
            counter(st.stmt)
    return replace(_pick(stmts, command, relation), n_params=counter.highest)


class _ParamCounter(Visitor):  # type: ignore[misc]
    """The highest ``$n`` of a query string: pgaudit logs that many parameters (log_parameter)."""

    def __init__(self) -> None:
        super().__init__()
        self.highest = 0

    def visit_ParamRef(self, ancestors: object, node: ast.ParamRef) -> None:
        self.highest = max(self.highest, int(node.number or 0))


def _pick(stmts: Sequence[ast.RawStmt], command: str | None, relation: str | None) -> SqlAccess:
    if len(stmts) == 1:
        return _map_node(stmts[0].stmt, command)
    # A multi-statement query string: pgaudit logs the whole string for each statement, so pick
    # the one that matches the logged relation, else the logged command, else the first.
    mapped = [(st.stmt, _map_node(st.stmt, command)) for st in stmts[:50]]
    if relation:
        for _, m in mapped:
            if relation in m.tables:
                return m
    if command:
        for node, m in mapped:
            if _COMMAND_NODES.get(command) is type(node):
                return m
    return mapped[0][1]


def _into(node: ast.Node) -> str | None:
    """The table a SELECT INTO / CREATE TABLE AS writes."""
    into = node.intoClause if isinstance(node, ast.SelectStmt) else getattr(node, "into", None)
    rel = getattr(into, "rel", None)
    return _range_name(rel) if isinstance(rel, ast.RangeVar) else None


def _wrapped_query(node: ast.Node, command: str | None) -> SqlAccess | None:
    """DECLARE CURSOR, SELECT INTO and CREATE TABLE AS run a query inside another statement.

    pgaudit logs them twice: the query's own READ line (command SELECT, one per relation with
    log_relation) and the wrapper's line (command DECLARE CURSOR, SELECT INTO or CREATE TABLE AS,
    no relation). The read is the access (a cursor over a whole table is an export, fetched in
    pieces); the wrapper is none (a cursor) or creates the target table (admin on that table).
    None: not such a statement, map it as usual.
    """
    target = _into(node)
    if isinstance(node, ast.DeclareCursorStmt):
        if command == "DECLARE CURSOR":
            return SqlAccess(action="other")
        return _map_node(node.query, "SELECT")
    if target is None:
        return None
    if command in ("SELECT INTO", "CREATE TABLE AS") or (
            command is None and isinstance(node, ast.CreateTableAsStmt)):
        return SqlAccess(action="admin", tables=[target])
    query = node.query if isinstance(node, ast.CreateTableAsStmt) else _without_into(cast(ast.SelectStmt, node))
    read = _map_node(query, "SELECT")
    return replace(read, tables=[t for t in read.tables if t != target])


def _without_into(node: ast.SelectStmt) -> ast.SelectStmt:
    """The SELECT without its INTO clause (what it reads, not where it writes)."""
    slots: tuple[str, ...] = getattr(node, "__slots__", ())
    return ast.SelectStmt(**{**{k: getattr(node, k) for k in slots}, "intoClause": None})


_COMMAND_NODES: dict[str, type] = {
    "SELECT": ast.SelectStmt, "INSERT": ast.InsertStmt, "UPDATE": ast.UpdateStmt,
    "DELETE": ast.DeleteStmt, "COPY": ast.CopyStmt, "SET": ast.VariableSetStmt,
}


def _map_node(node: ast.Node | None, command: str | None) -> SqlAccess:
    if isinstance(node, ast.PrepareStmt):
        if command is None or command == "PREPARE":
            return SqlAccess(action="other")
        node = node.query
    if node is None or isinstance(node, ast.ExecuteStmt):
        return SqlAccess(action="other")
    wrapped = _wrapped_query(node, command)
    if wrapped is not None:
        return wrapped
    c = _Collector()
    c(node)
    c.tables = [t for t in c.tables if t not in c.ctes]
    if isinstance(node, ast.SelectStmt):
        if c.set_config:  # SELECT set_config('pgaudit.log', 'none', false)
            return SqlAccess(action="admin", tables=c.tables, setting=c.set_config)
        if not c.tables:
            return SqlAccess(action="other")  # SELECT 1, SELECT now(): no data touched
        return SqlAccess(action=_read_action(c), tables=c.tables,
                         columns=_target_columns(node.targetList), keys=c.keys)
    if isinstance(node, ast.CopyStmt):
        if node.is_from:
            cols = [str(a.sval) for a in node.attlist or () if isinstance(a, ast.String)]
            return SqlAccess(action="insert", tables=c.tables, columns=cols)
        cols = _target_columns(node.query.targetList) if isinstance(node.query, ast.SelectStmt) else [
            str(a.sval) for a in node.attlist or () if isinstance(a, ast.String)] or ["*"]
        return SqlAccess(action="export", tables=c.tables, columns=cols, keys=c.keys)
    if isinstance(node, ast.InsertStmt):
        return SqlAccess(action="insert", tables=c.tables, columns=_target_columns(node.cols))
    if isinstance(node, ast.UpdateStmt):
        return SqlAccess(action="update", tables=c.tables, columns=_target_columns(node.targetList),
                         keys=c.keys)
    if isinstance(node, ast.DeleteStmt):
        return SqlAccess(action="delete", tables=c.tables, keys=c.keys)
    if isinstance(node, ast.VariableSetStmt):
        name = str(node.name or "")
        if name.lower().startswith("pgaudit."):
            return SqlAccess(action="admin", setting=name.lower())
        return SqlAccess(action="other", setting=name.lower() or None)
    if isinstance(node, (ast.AlterSystemStmt, ast.AlterRoleSetStmt, ast.AlterDatabaseSetStmt)):
        # ALTER ROLE maint SET pgaudit.log = 'none' silences one account: as loud as SET itself
        name = str(node.setstmt.name or "").lower() if node.setstmt else ""
        return SqlAccess(action="admin", setting=name or None)
    if isinstance(node, _DDL_NODES):
        return SqlAccess(action="admin", tables=c.tables)
    return SqlAccess(action="other", tables=c.tables)
