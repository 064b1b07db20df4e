"""Parsing blocks of log lines inside a private, in-memory DuckDB, one block ahead of the writer.

Parsing is a pure function of the bytes, so it needs neither the workspace nor its transaction:
a background thread reads the next block (decompress, digest, split into lines) and parses it with
the source's SQL while the caller writes the previous one into the workspace. DuckDB and hashlib
release the GIL, so on two cores the two halves overlap. At most ``AHEAD`` blocks wait in between,
which bounds memory whatever the file's size.

A staged block keeps its good rows in line order (DuckDB keeps the order of a scan without ORDER
BY), so event ids are just a running count; bad rows come with their raw line for quarantine.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb

# pyarrow imports pandas the first time it builds a table (to tell whether it was handed a
# DataFrame): about 0.3 s, more under load. Imported with this module, that is start-up; left to
# the first block, it held up the reader thread while the writer waited for it.
import pandas  # noqa: F401
import pyarrow as pa
import pyarrow.compute as pc

from kansa.ingest import textfile
from kansa.ingest.textfile import LineBlock, line_blocks

AHEAD = 2
T = TypeVar("T")


@dataclass
class StagedBlock:
    good: pa.Table  # the stage SQL's columns for good lines, in line order (reason, subjects dropped)
    subjects: pa.Table  # row (index into good), owner_id, subject_id: the subjects list unnested
    bad: pa.Table  # n, reason, raw: lines to quarantine
    lines: int  # lines in the block, blank ones included
    first_line: int
    end_line: int
    end_offset: int
    digest: str | None = None  # sha256 (hex) of the file's content up to end_offset


_DONE = object()


def _stage(con: duckdb.DuckDBPyConnection, stage_sql: str, block: Any) -> StagedBlock:
    con.register("_kansa_block", block.table())
    try:
        staged = con.sql(stage_sql).to_arrow_table()
        reason = staged.column("reason")
        if reason.null_count == len(staged):
            good, bad_n = staged.drop_columns(["reason"]), None
        else:
            good = staged.filter(reason.is_null()).drop_columns(["reason"])
            bad_n = staged.filter(reason.is_valid()).select(["n", "reason"])
        if bad_n is None or len(bad_n) == 0:
            bad = pa.table({"n": pa.array([], pa.int64()), "reason": pa.array([], pa.string()),
                            "raw": pa.array([], pa.string())})
        else:
            con.register("_kansa_bad", bad_n)
            try:
                bad = con.sql(
                    "SELECT b.n, b.reason, left(rtrim(k.line, E'\\r\\n'), 2000) AS raw"
                    " FROM _kansa_bad b JOIN _kansa_block k ON k.n = b.n ORDER BY b.n"
                ).to_arrow_table()
            finally:
                con.unregister("_kansa_bad")
    finally:
        con.unregister("_kansa_block")
    subjects = unnest_subjects(good)
    good = good.drop_columns(["subjects"])
    return StagedBlock(good, subjects, bad, len(block.lines), block.first_line, block.end_line, block.end_offset,
                       block.digest)


def unnest_subjects(good: pa.Table) -> pa.Table:
    lists = good.column("subjects").combine_chunks()
    rows = pc.list_parent_indices(lists)
    return pa.table({
        "row": pc.cast(rows, pa.int64()),
        "owner_id": pc.take(good.column("owner_id"), rows),
        "subject_id": pc.list_flatten(lists),
    })


def staged_blocks(
    path: Path,
    stage_sql: str,
    *,
    start_offset: int = 0,
    start_line: int = 0,
    hasher: Any = None,
    timezone: str = "UTC",
    block_bytes: int | None = None,
) -> Iterator[StagedBlock]:
    """The file's lines after ``start_offset`` parsed by ``stage_sql`` (see pipeline.ingest_line_blocks).

    Errors in the reading thread (a truncated gzip, say) are raised here, in the caller's thread.
    Closing the iterator early stops the thread.
    """
    size = block_bytes or textfile.BLOCK_BYTES

    def produce() -> Iterator[StagedBlock]:
        con = duckdb.connect()
        try:
            con.execute(f"SET TimeZone = '{timezone}'")  # a time without offset is local to the workspace
            for block in line_blocks(
                path, start_offset=start_offset, start_line=start_line, hasher=hasher, block_bytes=size
            ):
                yield _stage(con, stage_sql, block)
        finally:
            con.close()

    return run_ahead(produce)


def block_stage(
    path: Path,
    stage_block: Callable[[duckdb.DuckDBPyConnection, LineBlock], StagedBlock],
    settings: tuple[str, ...] = (),
) -> Callable[[int, int, Any], Iterator[StagedBlock]]:
    """The ``stage`` of ``pipeline.ingest_staged_blocks`` for a source whose blocks ``stage_block``
    parses in a private DuckDB (``settings`` run on it first), one block ahead of the writer."""

    def stage(start_offset: int, start_line: int, hasher: Any) -> Iterator[StagedBlock]:
        def produce() -> Iterator[StagedBlock]:
            con = duckdb.connect()
            try:
                for setting in settings:
                    con.execute(setting)
                for block in line_blocks(path, start_offset=start_offset, start_line=start_line, hasher=hasher,
                                         block_bytes=textfile.BLOCK_BYTES):
                    yield stage_block(con, block)
            finally:
                con.close()

        return run_ahead(produce)

    return stage


def run_ahead(produce: Callable[[], Iterator[T]]) -> Iterator[T]:
    """``produce()``'s items, made in a background thread at most ``AHEAD`` items ahead.

    Errors in the thread (a truncated gzip, say) are raised here, in the caller's thread.
    Closing the iterator early stops the thread.
    """
    out: queue.Queue[Any] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        items = produce()
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, who re-raises it
            put(exc)
        finally:
            items.close()  # type: ignore[attr-defined]  # a generator: its own cleanup runs now

    thread = threading.Thread(target=work, name="kansa-ingest-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
