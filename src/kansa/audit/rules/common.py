"""What every rule shares: the action vocabulary it judges, evidence trimming, the task-scope SQL.

Causality is the contract of every rule module: each query is bounded by ``cutoff`` (the first
instant after the last audited day, in the workspace's time zone) and every baseline for day D
uses only days before D, so a finding about day D never depends on what happened later. Days are
local days (the connection's TimeZone is the workspace zone, so ``CAST(ts AS DATE)`` is local).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

DATA_ACTIONS = ("view", "search", "export", "print", "update")
WRITE_ACTIONS = ("insert", "update", "delete")
EXPORT_ACTIONS = ("export", "print")
EVIDENCE_LIMIT = 50  # event ids kept per finding (the counts in the reason cover all of them)

ACTIONS_SQL = ", ".join(f"'{a}'" for a in DATA_ACTIONS)
ANY_DATA_SQL = ", ".join(f"'{a}'" for a in (*DATA_ACTIONS, *WRITE_ACTIONS))
EXPORT_SQL = ", ".join(f"'{a}'" for a in EXPORT_ACTIONS)
SESSION_SQL = "('login', 'logout')"


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    return con.execute(sql, params).fetchall()


def evidence(values: Any) -> list[int]:
    return sorted(int(v) for v in (values or []))[:EVIDENCE_LIMIT]


def have_assignments(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT count(*) FROM assignments").fetchone()
    return bool(row and row[0])


# An event ``e`` (joined to its actor ``a``) is within a task when an assignment of the actor or
# the actor's team, valid that day, covers its owner (or every owner). ``{extra}`` narrows it.
COVERED = """
    EXISTS (SELECT 1 FROM assignments s
            WHERE (s.owner_id IS NULL OR s.owner_id = e.owner_id)
              AND (s.actor_id = e.actor_id OR (s.actor_id IS NULL AND s.team IS NOT NULL AND s.team = a.team))
              AND CAST(e.ts AS DATE) BETWEEN coalesce(s.valid_from, DATE '0001-01-01')
                                         AND coalesce(s.valid_to, DATE '9999-12-31')
              {extra})
"""


@contextmanager
def statements_where(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, name: str, test: Callable[[str], bool | None],
    actions: str = EXPORT_SQL,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on which view ``name(statement)`` lists the logged statements (of ``actions``
    events before ``cutoff``) for which ``test`` is true; SQL text is judged once per distinct text."""
    cur = con.cursor()
    texts = cur.execute(
        f"SELECT DISTINCT statement FROM access_events WHERE ts < ? AND statement IS NOT NULL AND action IN ({actions})",
        [cutoff],
    ).fetchall()
    chosen = [t for (t,) in texts if test(t)]
    cur.register(name, pd.DataFrame({"statement": pd.Series(chosen, dtype="string")}))
    try:
        yield cur
    finally:
        cur.unregister(name)
