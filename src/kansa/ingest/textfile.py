"""Opening log files the way they arrive: plain or gzip, decided by the bytes, not the name.

A damaged gzip stream surfaces as an InputError naming the file, so that the pipeline rolls the
file back instead of ingesting half of it.

Two ways to read lines: ``numbered_lines`` (one Python string per line, for readers that parse in
Python) and ``line_blocks`` (tens of megabytes at a time as an Arrow column of lines with their
numbers, for readers that parse inside DuckDB: no Python work per line, so a big log goes at the
engine's speed). Both digest the *decompressed* content, so the same log plain and gzipped is the
same content.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa

from kansa.ingest.records import BadLine, Chunk
from kansa.model.errors import InputError

BLOCK_BYTES = 32 << 20
_BOM = b"\xef\xbb\xbf"
_NEWLINE = 10


def open_binary(path: Path) -> IO[bytes] | gzip.GzipFile:
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(filename=str(path), mode="rb")
    return path.open("rb")


def open_text(path: Path, encoding: str = "utf-8-sig") -> io.TextIOWrapper:
    return io.TextIOWrapper(open_binary(path), encoding=encoding, errors="replace", newline="")


def numbered_lines(path: Path, encoding: str = "utf-8-sig") -> Iterator[tuple[int, str]]:
    """(line number from 1, line without its newline); a corrupt stream raises InputError."""
    lineno = 0
    try:
        with open_text(path, encoding) as fh:
            for lineno, line in enumerate(fh, start=1):
                yield lineno, line.rstrip("\r\n")
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read after line {lineno}: {exc}", path=str(path), line=lineno + 1) from exc


def json_line_chunks(
    path: Path, parse: Callable[[Any, int], dict[str, Any]], chunk_lines: int = 20_000
) -> Iterator[Chunk]:
    """Chunks of access records from a JSON Lines file, one parser per schema (kansa, OCSF).

    A line that is not JSON, or that ``parse`` rejects (ValueError, TypeError, OverflowError),
    becomes a BadLine with its number; blank lines are skipped but still counted.
    """
    chunk = Chunk()
    for lineno, text in numbered_lines(path):
        chunk.end_line = lineno
        if text.strip():
            try:
                chunk.access.append(parse(json.loads(text), lineno))
            except (ValueError, TypeError, OverflowError) as exc:
                chunk.bad.append(BadLine(lineno, str(exc), text[:2000]))
        if lineno % chunk_lines == 0:
            yield chunk
            chunk = Chunk(end_line=lineno)
    if chunk.access or chunk.bad or chunk.end_line:
        yield chunk


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def content_digest(path: Path, nbytes: int | None = None) -> tuple[Any, int]:
    """sha256 over the decompressed content (its first ``nbytes`` bytes when given) and its length.

    Returns the hash object itself, so that a resumed read can go on hashing from there.
    """
    h = hashlib.sha256()
    size = 0
    left = nbytes
    try:
        with open_binary(path) as fh:
            while left is None or left > 0:
                block = fh.read(BLOCK_BYTES if left is None else min(left, BLOCK_BYTES))
                if not block:
                    break
                h.update(block)
                size += len(block)
                if left is not None:
                    left -= len(block)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read: {exc}", path=str(path)) from exc
    return h, size


@dataclass
class LineBlock:
    """Consecutive lines of a file: ``lines`` (Arrow strings, each with its newline if it had one),
    ``first_line`` the number of the first (1-based), ``end_line`` of the last, and ``end_offset``
    the content offset just after the block."""

    lines: pa.Array
    first_line: int
    end_line: int
    end_offset: int = 0
    digest: str | None = None  # sha256 (hex) of the content up to end_offset, when a hasher is fed

    def table(self) -> pa.Table:
        n = len(self.lines)
        return pa.table({"line": self.lines, "n": pa.array(np.arange(self.first_line, self.first_line + n))})


def _as_utf8(data: bytes) -> bytes:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:  # rare: keep the line, mark the undecodable bytes, as open_text does
        return data.decode("utf-8", errors="replace").encode("utf-8")
    return data


def _block(data: bytes, first_line: int) -> LineBlock:
    data = _as_utf8(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10) + 1
    if len(ends) == 0 or ends[-1] != len(data):  # a last line without newline (end of file)
        ends = np.append(ends, len(data))
    offsets = np.empty(len(ends) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends
    lines = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    return LineBlock(lines, first_line, first_line + len(ends) - 1)


def line_blocks(
    path: Path,
    *,
    start_offset: int = 0,
    start_line: int = 0,
    hasher: Any = None,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[LineBlock]:
    """The file's lines after content offset ``start_offset`` (= after line ``start_line``), in blocks.

    ``hasher`` (a hashlib object) is fed every content byte from ``start_offset`` to the end of the
    block handed out; a digest of the whole content needs the caller to have fed it the bytes before. A corrupt or
    truncated stream raises InputError naming the file and the line after which it failed.
    """
    line = start_line
    offset = start_offset  # content bytes consumed, the BOM included
    carry = np.empty(0, dtype=np.uint8)
    try:
        with open_binary(path) as fh:
            if start_offset:
                if isinstance(fh, gzip.GzipFile):
                    left = start_offset
                    while left > 0 and (skipped := fh.read(min(left, block_bytes))):
                        left -= len(skipped)
                else:
                    fh.seek(start_offset)
            first = start_offset == 0
            while True:
                buf, got = read_into(fh, carry, max(block_bytes, len(_BOM)) if first else block_bytes)
                offset += got
                start = 0
                if first:
                    first = False
                    if got >= len(_BOM) and buf[: len(_BOM)].tobytes() == _BOM:
                        start = len(_BOM)
                        if hasher is not None:
                            hasher.update(_BOM)
                if not got:
                    break
                end = len(carry) + got
                newlines = np.flatnonzero(buf[start:end] == _NEWLINE) + start
                if not len(newlines):
                    carry = buf[start:end]
                    continue
                cut = int(newlines[-1]) + 1
                carry = buf[cut:end]
                block = _block_in(buf, start, newlines, line + 1)
                block.end_offset = offset - len(carry)
                _digest(block, hasher, buf[start:cut])
                line = block.end_line
                yield block
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read after line {line}: {exc}", path=str(path), line=line + 1) from exc
    if len(carry):
        tail = carry.tobytes()
        block = _block(tail, line + 1)
        block.end_offset = offset
        _digest(block, hasher, tail)
        yield block


def read_into(fh: Any, carry: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """A new buffer holding ``carry`` and then up to ``size`` bytes read from ``fh`` (fewer only at
    the end of the stream); (buffer, bytes read). Reading into place spares the copies that joining
    and slicing bytes objects would make of every block. ``fh``: a binary file or a GzipFile."""
    buf = np.empty(len(carry) + size, dtype=np.uint8)
    buf[: len(carry)] = carry
    view = buf.data[len(carry):]
    got = 0
    while got < size:
        n = fh.readinto(view[got:])
        if not n:
            break
        got += n
    return buf, got


def _block_in(buf: np.ndarray, start: int, newlines: np.ndarray, first_line: int) -> LineBlock:
    """The lines of ``buf`` from ``start`` to its newline ``newlines[-1]``, as Arrow strings over
    ``buf`` itself; Arrow checks the UTF-8 (undecodable bytes: the slow path marks them)."""
    offsets = np.empty(len(newlines) + 1, dtype=np.int64)
    offsets[0] = start
    offsets[1:] = newlines + 1
    lines = pa.LargeStringArray.from_buffers(len(newlines), pa.py_buffer(offsets), pa.py_buffer(buf))
    try:
        lines.validate(full=True)
    except pa.ArrowInvalid:
        return _block(buf[start:int(newlines[-1]) + 1].tobytes(), first_line)
    return LineBlock(lines, first_line, first_line + len(newlines) - 1)


def _digest(block: LineBlock, hasher: Any, data: bytes | np.ndarray) -> None:
    """Feed the block's bytes to the hasher (hashed as handed out, so that a block's digest covers
    exactly the content up to its end) and note the digest so far on the block."""
    if hasher is not None:
        hasher.update(data)
        block.digest = hasher.copy().hexdigest()
