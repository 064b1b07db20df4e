"""textfile.line_blocks: a file's lines in blocks, read in place, whatever the block size.

The blocks are Arrow strings over the buffer the file was read into, so every boundary case of
that buffer (a BOM, a line longer than a block, a last line without newline, bytes that are not
UTF-8, a resumed read) must give the lines, offsets and digests a plain split gives.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from kansa.ingest import textfile

CONTENT = (
    "\ufeff"  # a BOM: not part of the first line, but part of the content digest
    + '{"actor":"op1","subjects":["住民-1"]}\n'
    + "\r\n"
    + "x" * 50 + "\n"  # longer than the small blocks below
    + "日本語の行\n"
).encode("utf-8") + b"bad \xff byte\n" + "最後の行、改行なし".encode()


def expected_lines(content: bytes) -> list[str]:
    body = content[3:] if content.startswith(b"\xef\xbb\xbf") else content
    return [part.decode("utf-8", errors="replace") for part in body.splitlines(keepends=True)]


@pytest.mark.parametrize("block_bytes", [1, 2, 3, 5, 16, 49, 1 << 20])
@pytest.mark.parametrize("gz", [False, True])
def test_blocks_give_the_lines_offsets_and_digests_of_a_plain_split(tmp_path: Path, block_bytes: int,
                                                                     gz: bool) -> None:
    path = tmp_path / ("log.jsonl.gz" if gz else "log.jsonl")
    path.write_bytes(gzip.compress(CONTENT) if gz else CONTENT)
    hasher = hashlib.sha256()
    blocks = list(textfile.line_blocks(path, hasher=hasher, block_bytes=block_bytes))
    lines = [line for b in blocks for line in b.lines.to_pylist()]
    assert lines == expected_lines(CONTENT)
    numbers = [n for b in blocks for n in range(b.first_line, b.end_line + 1)]
    assert numbers == list(range(1, len(lines) + 1))
    assert blocks[-1].end_offset == len(CONTENT)
    for b in blocks:  # each block's digest covers the content up to its end, BOM included
        assert b.digest == hashlib.sha256(CONTENT[: b.end_offset]).hexdigest()
    assert hasher.hexdigest() == hashlib.sha256(CONTENT).hexdigest()


@pytest.mark.parametrize("block_bytes", [4, 1 << 20])
def test_a_resumed_read_starts_after_the_given_line(tmp_path: Path, block_bytes: int) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(CONTENT)
    whole = expected_lines(CONTENT)
    start = 3 + sum(len(line) for line in CONTENT[3:].splitlines(keepends=True)[:3])  # BOM and lines 1-3
    hasher = hashlib.sha256(CONTENT[:start])
    blocks = list(textfile.line_blocks(path, start_offset=start, start_line=3, hasher=hasher,
                                       block_bytes=block_bytes))
    assert [line for b in blocks for line in b.lines.to_pylist()] == whole[3:]
    assert blocks[0].first_line == 4
    assert hasher.hexdigest() == hashlib.sha256(CONTENT).hexdigest()
