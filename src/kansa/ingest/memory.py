"""A cap on the workspace DuckDB's buffer pool while a big file is ingested.

What grows with the file during an ingest is DuckDB's memory, not kansa's: it caches every page it
writes, by default up to 80 % of the machine's RAM (about half a MiB per MB of csvlog, measured per
committed batch). Under a limit DuckDB evicts those pages, which are on disk after each batch's
commit, so the pool stays flat. Before model migration 3 it could not evict everything: ART
indexes (event ids, times, subjects) live in memory whole, and under 256 MiB a 3 GB csvlog stopped
with DuckDB's out-of-memory error after 4.4 M events. Without them the same file ingests to its end
in a flat pool, so the cap is on by default (``DEFAULT_LIMIT``; 128 MiB took a 10 GB csvlog through
at a 923 MiB peak, 256 MiB a 3 GB one to 1 009). ``KANSA_INGEST_MEMORY_LIMIT``
sets another size, or ``off`` for DuckDB's own limit. The limit is the database's, so it is set for
the ingest and restored afterwards; a lower limit already in force is kept. Only the batched path
(``pipeline.ingest_staged_blocks``) takes it: the line reader holds a whole file in one
transaction, which a cap sized for one batch could not hold.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import duckdb

from kansa.model.sizes import size_bytes

ENV_LIMIT = "KANSA_INGEST_MEMORY_LIMIT"
# Room for one batch (64 MiB of log: its rows, the sealing query, the actor joins) and nothing
# kept from earlier batches; with the fixed 500-650 MiB of the reader thread and the writer, the
# process stays under 1 GB (docs/benchmarks.md, "Memory on a big csvlog").
DEFAULT_LIMIT = "128MiB"


def chosen_limit() -> str | None:
    """The cap for this ingest; None: DuckDB's own limit (``off``)."""
    text = os.environ.get(ENV_LIMIT) or DEFAULT_LIMIT
    return None if text.strip().lower() == "off" else text


@cache
def _default_text() -> str:
    """DuckDB's own default limit as it prints it (a fresh in-memory database has it)."""
    with duckdb.connect() as con:
        return str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


@contextmanager
def ingest_memory(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the body with DuckDB's memory limit at most the chosen cap; restore it afterwards."""
    limit = chosen_limit()
    if limit is None:
        yield
        return
    wanted = size_bytes(limit)
    if wanted is None:
        raise ValueError(f"{ENV_LIMIT}: not a size: {limit!r}")
    before = str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    current = size_bytes(before)
    if current is not None and current <= wanted:
        yield
        return
    con.execute(f"SET memory_limit = '{wanted}B'")
    try:
        yield
    finally:
        # DuckDB prints the limit rounded ('18.8 GiB'): the default is restored exactly by RESET
        con.execute("RESET memory_limit" if before == _default_text() else f"SET memory_limit = '{before}'")
