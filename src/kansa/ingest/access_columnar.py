"""The fast parse of kansa access logs: a block of lines through Arrow's JSON reader at once.

Parsing each line on its own inside DuckDB (``ACCESS_STAGE_SQL``) costs about three times what
DuckDB's own ``read_json`` takes for the same bytes; most of a real log, though, is plain lines
of one shape. So a block is first handed whole to Arrow's JSON reader with the schema's types
fixed, and only the checks and the mapping run in SQL (``access_jsonl.mapping_sql``, the rules
the line parse shares). Arrow's reader is strict where DuckDB's is lenient (a number where text is
due, a duplicate key, a trailing comma) and it cannot say which line broke, so any block it
refuses, or whose lines are not one object each (blank lines, an object over two lines), is
parsed again line by line with ``ACCESS_STAGE_SQL``: the exact line numbers and reasons, at the
old speed, for that block only. Lines Arrow reads but the rules reject (an unknown action, a bad
time) are quarantined from the fast path itself, with the same reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from kansa.ingest import textfile
from kansa.ingest.access_jsonl import ACCESS_STAGE_SQL, TEXT_KEYS, mapping_sql
from kansa.ingest.blocks import StagedBlock, run_ahead, unnest_subjects
from kansa.ingest.textfile import LineBlock, line_blocks

# A line longer than this is not split by Arrow's reader but refused, and its block read line by
# line: far above any access record (a few hundred bytes), far below a block.
ARROW_BLOCK_BYTES = 4 << 20

_SCHEMA = pa.schema(
    [(key, pa.string()) for key in TEXT_KEYS]
    + [("rows", pa.int64()), ("bytes", pa.int64()),
       ("subjects", pa.list_(pa.string())), ("columns", pa.list_(pa.string()))]
)
_PARSE = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="ignore")
_READ = pj.ReadOptions(block_size=ARROW_BLOCK_BYTES)

_FAST_SQL = mapping_sql(
    "(SELECT * EXCLUDE (action, \"rows\", subjects), action AS action_text, \"rows\" AS row_count,"
    " list_filter(coalesce(subjects, []::VARCHAR[]), lambda x: coalesce(x, '') <> '') AS subjects"
    " FROM _kansa_parsed)"
)
_BRACE_OPEN, _BRACE_CLOSE, _NEWLINE = ord("{"), ord("}"), ord("\n")


def _one_object_per_line(block: LineBlock) -> bool:
    """Every line starts with '{' and ends with '}' (before its newline).

    With that, no object can run over a line end (after a '}' JSON allows only ',' ']' '}' or the
    end, never a '{'), so when Arrow returns as many rows as there are lines, row i is line i.
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


def arrow_records(block: LineBlock) -> pa.Table | None:
    """The block's records typed by the schema with their line numbers ``n``, or None when Arrow
    cannot read it as one object of the schema's types per line (then the line parse must)."""
    if not _one_object_per_line(block):
        return None
    lines = block.lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=len(lines) + 1, offset=lines.offset * 8)
    body = lines.buffers()[2][int(offsets[0]):int(offsets[-1])]
    try:
        table = pj.read_json(pa.BufferReader(body), read_options=_READ, parse_options=_PARSE)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(lines):
        return None
    n = np.arange(block.first_line, block.first_line + len(lines), dtype=np.int64)
    return table.append_column("n", pa.array(n))


def _staged(con: duckdb.DuckDBPyConnection, block: LineBlock) -> pa.Table:
    """The staged rows of one block (``mapping_sql``'s columns), by the fast parse if it can."""
    records = arrow_records(block)
    if records is not None:
        con.register("_kansa_parsed", records)
        try:
            return con.sql(_FAST_SQL).to_arrow_table()
        finally:
            con.unregister("_kansa_parsed")
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
    """The ``stage`` of ``pipeline.ingest_staged_blocks`` for a kansa access log: blocks parsed in
    a private DuckDB in a reading thread, one block ahead of the writer (see blocks.py)."""

    def stage(start_offset: int, start_line: int, hasher: Any) -> Iterator[StagedBlock]:
        def produce() -> Iterator[StagedBlock]:
            con = duckdb.connect()
            try:
                con.execute(f"SET TimeZone = '{timezone}'")  # a time without offset is the workspace's
                for block in line_blocks(path, start_offset=start_offset, start_line=start_line, hasher=hasher,
                                         block_bytes=textfile.BLOCK_BYTES):
                    yield stage_block(con, block)
            finally:
                con.close()

        return run_ahead(produce)

    return stage
