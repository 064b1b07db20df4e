"""A cap on the workspace DuckDB's buffer pool while a file is ingested.

Ingest writes each batch once and never reads it back, yet DuckDB keeps every page it wrote
(table row groups and the ART indexes of event ids, times, subjects and ledger leaves) cached in
its buffer pool up to its memory limit, which by default is 80 % of the machine's RAM. On a big
file that cache was the only part of the process that grew with the file (about half a MiB per MB
of csvlog, measured per committed batch). Under a limit DuckDB evicts those pages (they are on
disk after each batch's checkpoint) and the process stays flat. The limit is DuckDB's own, for
the database, so it is set for the ingest and restored afterwards; a lower limit already in force
is kept. Only the batched path (``pipeline.ingest_staged_blocks``) runs under it: the line reader
holds a whole file in one transaction, which a cap sized for one batch could not hold.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import duckdb

# 256 MiB: a batch's uncommitted rows and the index pages its inserts touch fit with room to spare
# (about 50 MiB per 64 MiB batch of csvlog), and the rest of a 1 GB budget is left to the reader
# thread's blocks and both threads' query working memory (about 600 MiB measured on csvlog).
DEFAULT_LIMIT = "256MiB"
ENV_LIMIT = "KANSA_INGEST_MEMORY_LIMIT"

_UNITS = {"": 1, "b": 1, "bytes": 1, "kb": 10**3, "kib": 1 << 10, "mb": 10**6, "mib": 1 << 20,
          "gb": 10**9, "gib": 1 << 30, "tb": 10**12, "tib": 1 << 40}


def size_bytes(text: str) -> int | None:
    """'18.8 GiB', '256MB', '134217728B' → bytes; None for anything else."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def chosen_limit() -> str:
    return os.environ.get(ENV_LIMIT) or DEFAULT_LIMIT


@cache
def _default_text() -> str:
    """DuckDB's own default limit as it prints it (a fresh in-memory database has it)."""
    with duckdb.connect() as con:
        return str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


@contextmanager
def ingest_memory(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the body with DuckDB's memory limit at most the ingest's; restore the limit afterwards."""
    limit = chosen_limit()
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
