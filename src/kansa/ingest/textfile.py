"""Opening log files the way they arrive: plain or gzip, decided by the bytes, not the name.

A damaged gzip stream surfaces as an InputError naming the file, so that the pipeline rolls the
file back instead of ingesting half of it.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from kansa.ingest.records import BadLine, Chunk
from kansa.model.errors import InputError


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
