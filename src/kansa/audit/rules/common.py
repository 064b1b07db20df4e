"""What every rule shares: the action vocabulary it judges, evidence trimming, the task-scope SQL.

Causality is the contract of every rule module: each query is bounded by ``cutoff`` (the first
instant after the last audited day, in the workspace's time zone) and every baseline for day D
uses only days before D, so a finding about day D never depends on what happened later. Days are
local days (the connection's TimeZone is the workspace zone, so ``CAST(ts AS DATE)`` is local).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
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
# The lower bound of a read that has none (a full run): before any access log, and far enough
# from the calendar's start that look-back windows can be subtracted from it.
EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor that counts days as ``con`` does: DuckDB settings such as TimeZone are per
    connection, and a cursor is a new connection, so without this CAST(ts AS DATE) would be UTC."""
    row = con.execute("SELECT current_setting('TimeZone')").fetchone()
    cur = con.cursor()
    if row and row[0]:
        cur.execute(f"SET TimeZone = '{str(row[0]).replace(chr(39), '')}'")
    return cur


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    return con.execute(sql, params).fetchall()


def evidence(values: Any) -> list[int]:
    return sorted(int(v) for v in (values or []))[:EVIDENCE_LIMIT]


def event_id_range(con: duckdb.DuckDBPyConnection, lo: datetime, cutoff: datetime) -> tuple[int, int]:
    """The smallest and largest event id in [lo, cutoff): ids grow with ingest, so bounding
    ``access_subjects`` by them lets the engine skip the blocks of older events."""
    rows = con.execute("SELECT min(event_id), max(event_id) FROM access_events WHERE ts < ? AND ts >= ?",
                       [cutoff, lo]).fetchall()
    row = rows[0] if rows else None
    if not row or row[0] is None:
        return 0, -1
    return int(row[0]), int(row[1])


def have_assignments(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT count(*) FROM assignments").fetchone()
    return bool(row and row[0])


# An event ``e`` (joined to its actor ``a``) is within a task when an assignment of the actor or
# the actor's team, valid that day, covers its owner (or every owner). ``{extra}`` narrows it.
# Assignments are joined through a day-by-day expansion (``task_cover``), keyed by equalities
# (actor or team, and day): a date-range condition inside the join makes the engine compare every
# event with every assignment of the person, which is slow for clerks with a ticket per visit.
_COVERED_ONE = """
    EXISTS (SELECT 1 FROM _kansa_cover s
            WHERE {key} AND s.day = CAST(e.ts AS DATE)
              AND (s.owner_id IS NULL OR s.owner_id = e.owner_id)
              {{extra}})
"""
COVERED = (
    "(" + _COVERED_ONE.format(key="s.actor_id = e.actor_id")
    + " OR " + _COVERED_ONE.format(key="s.actor_id IS NULL AND s.team = a.team") + ")"
)


# The range of days: the cast of the first and last instant (the cast is monotonic), not of every event.
_COVER_SQL = """
    CREATE OR REPLACE TEMP TABLE _kansa_cover AS
    WITH r AS (SELECT CAST(min(ts) AS DATE) AS lo, CAST(max(ts) AS DATE) AS hi FROM access_events
               WHERE ts < ? AND ts >= ?)
    SELECT assignment_id, actor_id, team, owner_id, kind, purpose, CAST(day AS DATE) AS day
    FROM (SELECT s.assignment_id, s.actor_id, s.team, s.owner_id, s.kind, s.purpose,
                 unnest(generate_series(CAST(greatest(coalesce(s.valid_from, r.lo), r.lo) AS TIMESTAMP),
                                        CAST(least(coalesce(s.valid_to, r.hi), r.hi) AS TIMESTAMP),
                                        INTERVAL 1 DAY)) AS day
          FROM assignments s, r WHERE r.lo IS NOT NULL)
"""


@dataclass(frozen=True)
class _SharedCover:
    cur: duckdb.DuckDBPyConnection
    cutoff: datetime
    since: datetime


# The cover of the running audit (``shared_task_cover``): several rules test the task scope, and
# each building its own expansion of every assignment over every day repeated the same work.
_SHARED: ContextVar[_SharedCover | None] = ContextVar("kansa_task_cover", default=None)


@contextmanager
def shared_task_cover(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, since: datetime | None = None
) -> Iterator[None]:
    """Build ``_kansa_cover`` once for [``since``, ``cutoff``) and let every ``task_cover`` inside
    the body that asks for no earlier day use it (a rule rebuilding its state from further back
    still builds its own). Runs of one audit only: the cover is a snapshot of the assignments."""
    lo = since if since is not None else EPOCH
    cur = cursor(con)
    cur.execute(_COVER_SQL, [cutoff, lo])
    token = _SHARED.set(_SharedCover(cur, cutoff, lo))
    try:
        yield
    finally:
        _SHARED.reset(token)
        cur.execute("DROP TABLE IF EXISTS _kansa_cover")
        cur.close()


@contextmanager
def task_cover(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, since: datetime | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor with temp table ``_kansa_cover``: each assignment once per day it is valid, clipped to
    the days that have events in [``since``, ``cutoff``). ``COVERED`` must run on this cursor.

    Inside ``shared_task_cover`` whose range holds [``since``, ``cutoff``) this is the shared cursor
    (extra days in the cover change no join on an event's day); otherwise a cover of its own.
    """
    lo = since if since is not None else EPOCH
    shared = _SHARED.get()
    if shared is not None and shared.cutoff == cutoff and shared.since <= lo:
        yield shared.cur
        return
    cur = cursor(con)
    cur.execute(_COVER_SQL, [cutoff, lo])
    try:
        yield cur
    finally:
        cur.execute("DROP TABLE IF EXISTS _kansa_cover")
        cur.close()


@contextmanager
def statements_where(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, name: str, test: Callable[[str], bool | None],
    actions: str = EXPORT_SQL, since: datetime | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on which view ``name(statement)`` lists the logged statements (of ``actions``
    events in [``since``, ``cutoff``)) for which ``test`` is true; SQL text is judged once per distinct text."""
    cur = cursor(con)
    texts = cur.execute(
        f"SELECT DISTINCT statement FROM access_events WHERE ts < ? AND ts >= ? AND statement IS NOT NULL "
        f"AND action IN ({actions})",
        [cutoff, since if since is not None else EPOCH],
    ).fetchall()
    chosen = [t for (t,) in texts if test(t)]
    cur.register(name, pd.DataFrame({"statement": pd.Series(chosen, dtype="string")}))
    try:
        yield cur
    finally:
        cur.unregister(name)
