"""Is a logged statement a whole-table export? Read with PostgreSQL's own parser (pglast).

pgaudit logs ``COPY t TO stdout`` and ``SELECT * FROM t`` without a row count, so a database bulk
pull would otherwise count as one row. A statement that reads a table without WHERE, LIMIT or
aggregation returns the whole table; ``SELECT count(*) FROM t`` returns one row and is not an
export at all. Regular expressions get these wrong (comments, quoting, sub-queries), the real
grammar does not. Unparseable text (another dialect, a truncated line) is "don't know": None.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pglast
from pglast import ast

_AGGREGATES = {"count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every", "string_agg",
               "array_agg", "json_agg", "jsonb_agg"}


def _is_aggregate_only(select: ast.SelectStmt) -> bool:
    targets = select.targetList or ()
    if not targets or select.groupClause:
        return False
    for t in targets:
        val: Any = getattr(t, "val", None)
        if not isinstance(val, ast.FuncCall):
            return False
        name = val.funcname[-1].sval if val.funcname else ""
        if name.lower() not in _AGGREGATES:
            return False
    return True


def _whole_select(select: ast.SelectStmt) -> bool:
    if select.op is not None and getattr(select.op, "name", str(select.op)) not in ("SETOP_NONE", "0"):
        return False
    if select.whereClause is not None or select.limitCount is not None or select.havingClause is not None:
        return False
    if not select.fromClause or len(select.fromClause) != 1 or not isinstance(select.fromClause[0], ast.RangeVar):
        return False
    return not _is_aggregate_only(select)


@lru_cache(maxsize=4096)
def aggregate_only(statement: str | None) -> bool:
    """True for a SELECT (or COPY of one) that returns only aggregates: no person's data leaves."""
    if not statement or not statement.strip():
        return False
    try:
        parsed = pglast.parse_sql(statement)
    except Exception:
        return False
    if len(parsed) != 1:
        return False
    stmt = parsed[0].stmt
    if isinstance(stmt, ast.CopyStmt) and isinstance(stmt.query, ast.SelectStmt):
        stmt = stmt.query
    return isinstance(stmt, ast.SelectStmt) and _is_aggregate_only(stmt)


@lru_cache(maxsize=4096)
def whole_table_export(statement: str | None) -> bool | None:
    """True for COPY/SELECT that returns a whole table, False for other SQL, None if unreadable."""
    if not statement or not statement.strip():
        return None
    try:
        parsed = pglast.parse_sql(statement)
    except Exception:  # pglast raises its own ParseError; any failure means "don't know"
        return None
    if len(parsed) != 1:
        return None
    stmt = parsed[0].stmt
    if isinstance(stmt, ast.CopyStmt):
        if stmt.is_from:
            return False
        if stmt.relation is not None:
            return True
        return isinstance(stmt.query, ast.SelectStmt) and _whole_select(stmt.query)
    if isinstance(stmt, ast.SelectStmt):
        return _whole_select(stmt)
    return False
