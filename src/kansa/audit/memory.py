"""How much memory an audit may take, and where DuckDB puts what does not fit.

DuckDB's default limit is 80 % of the machine's RAM, and it keeps that much as cache when it can:
on a shared 2-core server a full audit of ten million events grew to 6 GiB. An audit sets a lower
limit for the time it runs, and a spill folder inside the workspace (the personal data it writes
there stays where the workspace already keeps it), so joins and aggregations that outgrow the
limit go to disk instead of failing. The limit leaves room under issue #4's 4 GB for the Python
side (the rules' numpy matrices, the behaviour model's forest), which DuckDB does not count.

The limit comes from, in order: the ``memory_limit`` argument of ``run_audit``, the environment
variable ``KANSA_AUDIT_MEMORY_LIMIT`` (any DuckDB size, e.g. ``2GB``, or ``off`` to keep DuckDB's
own), and otherwise a quarter of the RAM capped at ``DEFAULT_CAP_BYTES``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import duckdb

from kansa.model.workspace import Workspace

ENV_VAR = "KANSA_AUDIT_MEMORY_LIMIT"
DEFAULT_CAP_BYTES = 2_500 * 2**20  # 2.5 GiB for DuckDB leaves about 1.5 GiB of a 4 GB budget to Python
SPILL_DIR = "spill"
_MIN_BYTES = 256 * 2**20  # below this DuckDB cannot hold one row group of a join


def machine_ram() -> int | None:
    """Physical memory in bytes (None where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def default_limit() -> str:
    """A quarter of the RAM, capped: on a small machine the audit must leave room for the OS and Python."""
    ram = machine_ram()
    limit = DEFAULT_CAP_BYTES if ram is None else max(min(ram // 4, DEFAULT_CAP_BYTES), _MIN_BYTES)
    return f"{limit // 2**20}MiB"


def chosen_limit(explicit: str | None = None) -> str | None:
    """The limit to set (None: leave DuckDB's own)."""
    value = explicit if explicit is not None else os.environ.get(ENV_VAR)
    if value is None or not value.strip():
        return default_limit()
    if value.strip().lower() in ("off", "none", "default"):
        return None
    return value.strip()


def _setting(con: duckdb.DuckDBPyConnection, name: str) -> str:
    row = con.execute(f"SELECT current_setting('{name}')").fetchone()
    return str(row[0]) if row and row[0] is not None else ""


@contextmanager
def audit_memory(ws: Workspace, limit: str | None = None) -> Iterator[str | None]:
    """Run the body under the audit's memory limit and spill folder; restore the limit afterwards.

    The settings are the database's, not one connection's, so the rules' cursors inherit them.
    The spill folder is kept once set: DuckDB refuses to move it after it has written to it.
    """
    con = ws.con
    chosen = chosen_limit(limit)
    if chosen is None:
        yield None
        return
    before = _setting(con, "memory_limit")
    spill = ws.root / SPILL_DIR
    spill.mkdir(exist_ok=True)
    # refused once DuckDB has spilled elsewhere (by default next to the database file, also in the workspace)
    with suppress(duckdb.Error):
        con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
    con.execute(f"SET memory_limit = '{chosen.replace(chr(39), '')}'")
    try:
        yield chosen
    finally:
        if before:
            con.execute(f"SET memory_limit = '{before}'")
