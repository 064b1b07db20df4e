"""What a rule keeps between runs so that a daily run reads one day of events, not the whole history.

A rule's baseline for day D is a function of per-day aggregates of earlier days (rows read per
actor-day, unexplained look-ups per actor-day, an hour histogram, ...) and of first touches (the
first day an actor touched a person, an owner, a terminal). Both are stored in workspace tables:

* a **daily table** holds one rule's aggregates with a ``day`` column; a run deletes the days it
  recomputes and inserts them again from the events of those days only;
* a **first-touch table** holds (key..., day) for the first day a key was seen; a run deletes the
  first touches on or after the days it recomputes and adds the keys first seen in them.

Both are refreshed from the same day, ``start``: the run's ``since``, moved earlier when the table
was not kept up to that day (a new table, an upgraded workspace, a rule run on its own), and the
beginning of the data when nothing is known. Table ``audit_rule_days`` says up to which day each
table is complete. Because each day's aggregate depends only on that day's events (first touches
on earlier days), an incremental run stores exactly what a full recompute would, and the findings
built on them are the same (``tests/audit/test_incremental_rules.py``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import duckdb

from kansa.audit.localday import local_clock
from kansa.model.sizes import size_bytes

# Working memory a refresh block needs per event it reads: a staged look-up row held 85 bytes in
# DuckDB (``duckdb_memory()`` after staging the 1.21 M look-ups of the 1.4 M-event synthetic
# workspace, 2026-12-02); the GROUP BY and the hash join over those rows hold about as much again,
# and the join's build side is the block's events themselves. 400 bytes per event covers them.
BLOCK_BYTES_PER_EVENT = 400

_STATE_DDL = "CREATE TABLE IF NOT EXISTS audit_rule_days (name VARCHAR PRIMARY KEY, through DATE NOT NULL)"


def midnight(day: date, cutoff: datetime) -> datetime:
    """Local midnight starting ``day``, in the time zone of ``cutoff`` (the workspace's)."""
    return datetime.combine(day, time(), tzinfo=cutoff.tzinfo)


def last_day(cutoff: datetime) -> date:
    """The last local day before ``cutoff`` (the audited day)."""
    return (cutoff - timedelta(microseconds=1)).date()


def refresh_start(con: duckdb.DuckDBPyConnection, table: str, since: date | None) -> date | None:
    """The first day ``table`` must be recomputed from (None: from the beginning of the data)."""
    con.execute(_STATE_DDL)
    rows = con.execute("SELECT through FROM audit_rule_days WHERE name = ?", [table]).fetchall()
    if not rows or since is None:
        return None
    through: date = rows[0][0]
    return min(since, through + timedelta(days=1))


def refresh(
    con: duckdb.DuckDBPyConnection, table: str, ddl: str, since: date | None, cutoff: datetime,
    inserts: list[tuple[str, list[Any]]],
) -> date | None:
    """Recompute ``table`` (created by ``ddl`` if missing) from its refresh start up to ``cutoff``.

    ``inserts`` are ``INSERT INTO table ...`` statements whose ``{lo}`` placeholder must bound the
    events they read (``ts >= {lo}``, a TIMESTAMPTZ literal; the beginning of time on a full
    rebuild) and whose parameters bound them by ``cutoff``. A first-touch insert must itself leave
    out keys already in the table (those were first touched before the start). Returns the start
    (None: rebuilt from the beginning), which the rule also uses to bound its own reads.
    """
    con.execute(ddl)
    start = refresh_start(con, table, since)
    lo = "TIMESTAMPTZ '-infinity'" if start is None else f"TIMESTAMPTZ '{midnight(start, cutoff).isoformat()}'"
    con.execute("BEGIN TRANSACTION")
    try:
        if start is None:
            con.execute(f"DELETE FROM {table}")
        else:
            con.execute(f"DELETE FROM {table} WHERE day >= ?", [start])
        for sql, params in inserts:
            con.execute(sql.format(lo=lo), params)
        con.execute("INSERT OR REPLACE INTO audit_rule_days VALUES (?, ?)", [table, last_day(cutoff)])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return start


def day_blocks(
    con: duckdb.DuckDBPyConnection, start: date | None, cutoff: datetime, max_events: int,
) -> list[tuple[date | None, datetime]]:
    """Split [``start``, ``cutoff``) into runs of whole days holding at most about ``max_events``
    events each (a day is never split): (the block's ``since``, the block's cutoff).

    A full rebuild in one statement stages one row per event (or per person looked up) of the
    whole history; past the audit's memory limit DuckDB spills those tables and their hash joins,
    and the cost grows faster than the events. Refreshing the kept tables block after block is
    the daily run repeated: each block reads only its days, the first touches of earlier blocks
    are already stored, and ``state``'s guarantee (an incremental run stores what a full
    recompute would) makes the result the same. The first block keeps ``start`` (None: rebuild
    from scratch); the last ends at ``cutoff``.
    """
    lo = midnight(start, cutoff) if start is not None else None
    rows = con.execute(
        f"SELECT {local_clock(con, cutoff).day('ts')} AS day, count(*) FROM access_events WHERE ts < ? "
        + ("AND ts >= ? " if lo is not None else "") + "GROUP BY ALL ORDER BY day",
        [cutoff, lo] if lo is not None else [cutoff],
    ).fetchall()
    blocks: list[tuple[date | None, datetime]] = []
    first: date | None = start
    held = 0
    for i, (day, n) in enumerate(rows):
        held += int(n)
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if nxt is not None and held + int(nxt[1]) > max_events:
            blocks.append((first, min(midnight(day + timedelta(days=1), cutoff), cutoff)))
            first, held = day + timedelta(days=1), 0
    blocks.append((first, cutoff))
    return blocks


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> int | None:
    """DuckDB's memory limit for this database in bytes (None when it cannot be read)."""
    rows = con.execute("SELECT current_setting('memory_limit')").fetchall()
    return size_bytes(str(rows[0][0])) if rows and rows[0][0] is not None else None


def block_events(con: duckdb.DuckDBPyConnection) -> int:
    """Events per refresh block (``day_blocks``): as many as half the memory limit holds at
    ``BLOCK_BYTES_PER_EVENT`` (the other half is the rest of the run's tables and DuckDB's cache).

    A block boundary is not free (each block scans its days again and probes the first touches
    stored so far), so blocks are only as small as memory requires: under the audit's 2.5 GiB
    limit about 3.3 M events, under DuckDB's own limit on a large machine the whole history at once.
    """
    limit = memory_limit_bytes(con)
    if limit is None:
        return 4_000_000  # the size the blocks had before they followed the limit
    return max(limit // 2 // BLOCK_BYTES_PER_EVENT, 100_000)


def lower_bound(start: date | None, cutoff: datetime) -> datetime | None:
    """The first instant a rule must read events from (None: everything)."""
    return None if start is None else midnight(start, cutoff)
