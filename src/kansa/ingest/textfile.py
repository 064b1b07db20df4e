"""Opening log files the way they arrive: plain or gzip, decided by the bytes, not the name.

A damaged gzip stream surfaces as an InputError naming the file, so that the pipeline rolls the
file back instead of ingesting half of it.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

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
