"""The fast parse of kansa access logs: a block of lines read by DuckDB's ``read_json`` at once.

Parsing each line on its own (``json_transform`` per line, ``ACCESS_STAGE_SQL``) costs about
three times what DuckDB's ``read_json`` takes for the same bytes; most of a real log, though, is
plain lines, one object each. So a block of such lines is handed whole to ``read_json`` with the
columns typed as the line parse types them (``SHAPE_COLUMNS``), through an anonymous in-memory
file (memfd: nothing is written to disk, nothing is left behind by a crash), and the same checks
and mapping run on it (``access_jsonl.field_columns`` and ``mapping_sql``). ``read_json`` cannot
say which line broke, so a block it refuses (a line that is not JSON, not an object, too long), or
whose lines are not one object each (blank lines, CRLF, an object over two lines), is parsed line
by line with ``ACCESS_STAGE_SQL``: the exact line numbers and reasons, at the old speed, for that
block only. Lines ``read_json`` reads but the rules reject (an unknown action, a bad time) are
quarantined from the fast path itself, with the same reasons.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kansa.ingest.access_jsonl import (
    ACCESS_STAGE_SQL,
    NUMBER_CHECKS,
    SHAPE_COLUMNS,
    field_columns,
    mapping_sql,
)
from kansa.ingest.blocks import StagedBlock, block_stage, unnest_subjects
from kansa.ingest.textfile import LineBlock

_BRACE_OPEN, _BRACE_CLOSE, _NEWLINE = ord("{"), ord("}"), ord("\n")


def _fast_sql(source: str, first_line: int) -> str:
    """The block at ``source`` read by read_json, numbered from ``first_line``, checked and mapped."""
    return f"""
WITH fields AS (
    SELECT r.o + {int(first_line) - 1} AS n, {field_columns("r.")}
    FROM (SELECT ordinality AS o, * EXCLUDE (ordinality)
          FROM read_json('{source}', columns = {SHAPE_COLUMNS}, format = 'newline_delimited') WITH ORDINALITY) r
)
{mapping_sql("fields", last_checks=NUMBER_CHECKS)}"""


def _one_object_per_line(block: LineBlock) -> bool:
    """Every line starts with '{' and ends with '}' (before its newline).

    With that, no object can run over a line end (after a '}' JSON allows only ',' ']' '}' or the
    end, never a '{'), so when read_json returns as many rows as there are lines, row i is line i.
    """
    lines = block.lines
    if len(lines) == 0:
        return False
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=len(lines) + 1, offset=lines.offset * 8)
    data = np.frombuffer(lines.buffers()[2], dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:] - 1
    if not bool((ends >= starts).all()) or not bool((data[starts] == _BRACE_OPEN).all()):
        return False
    last = ends - (data[ends] == _NEWLINE)  # the byte before the newline, when there is one
    return bool((last >= starts).all()) and bool((data[last] == _BRACE_CLOSE).all())


def _block_bytes(block: LineBlock) -> memoryview:
    lines = block.lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=len(lines) + 1, offset=lines.offset * 8)
    return memoryview(lines.buffers()[2])[int(offsets[0]):int(offsets[-1])]


def read_block(con: duckdb.DuckDBPyConnection, block: LineBlock) -> pa.Table | None:
    """The block's staged rows by read_json, or None when it must be read line by line: its lines
    are not one object each, read_json refuses it, or the system has no anonymous files."""
    if not hasattr(os, "memfd_create") or not _one_object_per_line(block):
        return None
    try:
        fd = os.memfd_create("kansa-block", os.MFD_CLOEXEC)
    except OSError:
        return None
    try:
        view = _block_bytes(block)
        while view:
            view = view[os.write(fd, view):]
        staged = con.sql(_fast_sql(f"/proc/self/fd/{fd}", block.first_line)).to_arrow_table()
    except (duckdb.Error, OSError):
        return None
    finally:
        os.close(fd)
    return staged if len(staged) == len(block.lines) else None


def _staged(con: duckdb.DuckDBPyConnection, block: LineBlock) -> pa.Table:
    """The staged rows of one block (``mapping_sql``'s columns), by the fast parse if it can."""
    staged = read_block(con, block)
    if staged is not None:
        return staged
    con.register("_kansa_block", block.table())
    try:
        return con.sql(ACCESS_STAGE_SQL).to_arrow_table()
    finally:
        con.unregister("_kansa_block")


def stage_block(con: duckdb.DuckDBPyConnection, block: LineBlock) -> StagedBlock:
    """One block as the pipeline takes it: good rows in line order, their subjects, and the
    rejected lines with their reason and raw text (as ``blocks.staged_blocks`` hands them out)."""
    staged = _staged(con, block)
    reason = staged.column("reason")
    if reason.null_count == len(staged):
        good, bad_rows = staged.drop_columns(["reason"]), staged.slice(0, 0)
    else:
        good = staged.filter(reason.is_null()).drop_columns(["reason"])
        bad_rows = staged.filter(reason.is_valid())
    raw = pc.take(block.lines, pc.subtract(bad_rows.column("n"), block.first_line)).to_pylist()
    bad = pa.table({
        "n": bad_rows.column("n"),
        "reason": bad_rows.column("reason"),
        "raw": pa.array([str(text).rstrip("\r\n")[:2000] for text in raw], pa.string()),
    })
    subjects = unnest_subjects(good)
    return StagedBlock(good.drop_columns(["subjects"]), subjects, bad, len(block.lines), block.first_line,
                       block.end_line, block.end_offset, block.digest)


def access_stage(path: Path, timezone: str) -> Callable[[int, int, Any], Iterator[StagedBlock]]:
    """The ``stage`` of ``pipeline.ingest_staged_blocks`` for a kansa access log (see blocks.py)."""
    return block_stage(path, stage_block, (
        f"SET TimeZone = '{timezone}'",  # a time without offset is the workspace's
        "SET enable_external_file_cache = false",  # each block reuses a file name
    ))
