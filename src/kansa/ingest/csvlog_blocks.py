"""A PostgreSQL csvlog cut into blocks of whole records, parsed by Arrow's CSV reader.

A csvlog record spans several lines when a field (a statement, a detail) holds a newline, so a
block cannot be cut at any newline: it is cut at the last newline outside quotes. In a well-formed
CSV a quote toggles "inside a field" (a doubled quote toggles twice), so a newline ends a record
exactly when the number of quotes before it is even; numpy finds those newlines without a Python
loop, and with them each record's first line number (for quarantine and for resuming a live log).

Anything this fast path does not read exactly as the line-by-line reader would (bytes that are not
UTF-8, a record whose column count is not 26, a blank line, unbalanced quotes) raises ``Irregular``,
and the caller reads the file with that reader instead (see ``pipeline.ingest_pgaudit_columnar``).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from kansa.ingest.textfile import open_binary, read_into
from kansa.model.errors import InputError
from kansa.model.formats import CSVLOG_COLUMNS

BLOCK_BYTES = 16 << 20
# The columns the pgaudit mapper reads (see pgaudit._USED); the other 17 are checked, not kept.
USED = ("log_time", "user_name", "database_name", "process_id", "connection_from", "session_id",
        "virtual_transaction_id", "error_severity", "sql_state_code", "message", "query")


class Irregular(Exception):
    """The file needs the line-by-line reader: it holds something the columnar path does not read."""


@dataclass
class RecordBlock:
    """Whole csvlog records: ``table`` has the USED columns plus ``n`` (each record's first line)."""

    table: pa.Table
    first_line: int
    end_line: int  # last line consumed (a record's continuation lines included)
    end_offset: int  # content offset just after the block
    digest: str | None = None  # sha256 (hex) of the content up to end_offset, when a hasher is fed


_CONVERT = pacsv.ConvertOptions(
    column_types={c: pa.string() for c in USED}, include_columns=list(USED),
    strings_can_be_null=False, quoted_strings_can_be_null=False,
)
_PARSE = pacsv.ParseOptions(newlines_in_values=True)
_READ = pacsv.ReadOptions(column_names=list(CSVLOG_COLUMNS), use_threads=False, block_size=1 << 20)


def record_ends(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions of all newlines, indexes into them of the newlines that end a record)."""
    newlines = np.flatnonzero(buf == 10)
    quotes = np.flatnonzero(buf == 34)
    before = np.searchsorted(quotes, newlines)  # quotes before each newline (few per line: cheap)
    ends = np.flatnonzero((before & 1) == 0)
    return newlines, ends


def parse_records(data: bytes | np.ndarray, first_line: int, newlines: np.ndarray, ends: np.ndarray) -> pa.Table:
    """The records of ``data`` (ending with a record's newline) as a table, with line numbers."""
    try:
        table = pacsv.read_csv(pa.py_buffer(data), read_options=_READ, parse_options=_PARSE,
                               convert_options=_CONVERT)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise Irregular(str(exc)) from exc
    if table.num_rows != len(ends):  # a blank line (Arrow skips it) or a quote we counted wrong
        raise Irregular(f"{table.num_rows} CSV rows but {len(ends)} records")
    starts = np.empty(len(ends), dtype=np.int64)
    if len(ends):
        starts[0] = first_line
        starts[1:] = first_line + ends[:-1] + 1
    return table.append_column("n", pa.array(starts))


def record_blocks(
    path: Path,
    *,
    start_offset: int = 0,
    start_line: int = 0,
    hasher: Any = None,
    block_bytes: int | None = None,
) -> Iterator[RecordBlock]:
    """The records after content offset ``start_offset`` (which ends line ``start_line``).

    ``hasher`` is fed every content byte from ``start_offset`` to the end of the last record
    handed out. A plain file whose last record has no final newline and does not parse is a record
    the server is still writing: it is left out (neither hashed nor counted) for the next run.
    """
    block_bytes = block_bytes or BLOCK_BYTES
    line = start_line
    offset = start_offset
    carry = np.empty(0, dtype=np.uint8)
    gz = False
    try:
        with open_binary(path) as fh:
            gz = isinstance(fh, gzip.GzipFile)
            if start_offset:
                if gz:
                    left = start_offset
                    while left > 0 and (skipped := fh.read(min(left, block_bytes))):
                        left -= len(skipped)
                else:
                    fh.seek(start_offset)
            while True:
                buf, got = read_into(fh, carry, block_bytes)  # read in place: no copy of the block
                if not got:
                    break
                data = buf[: len(carry) + got]
                newlines, ends = record_ends(data)
                if not len(ends):
                    carry = data
                    continue
                cut = int(newlines[ends[-1]]) + 1
                carry = data[cut:]
                block = data[:cut]
                if len(newlines) > ends[-1] + 1:
                    newlines = newlines[: ends[-1] + 1]
                table = parse_records(block, line + 1, newlines, ends)
                if hasher is not None:
                    hasher.update(block)
                offset += cut
                line += len(newlines)
                yield RecordBlock(table, int(table.column("n")[0].as_py()), line, offset,
                                  hasher.copy().hexdigest() if hasher is not None else None)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read after line {line}: {exc}", path=str(path), line=line + 1) from exc
    if len(carry):
        tail = carry.tobytes() + b"\n"
        newlines, ends = record_ends(np.frombuffer(tail, dtype=np.uint8))
        try:
            if len(ends) != 1 or ends[0] != len(newlines) - 1:
                raise Irregular("the last record is unfinished")
            table = parse_records(tail, line + 1, newlines, ends)
        except Irregular:
            if gz or line == 0:
                raise  # a rotated log's damaged end, or nothing read before it: the line reader judges
            return  # a live log's record still being written: left for the next run
        if hasher is not None:
            hasher.update(tail[:-1])
        yield RecordBlock(table, line + 1, line + len(newlines), offset + len(carry),
                          hasher.copy().hexdigest() if hasher is not None else None)
