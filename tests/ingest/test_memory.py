"""KANSA_INGEST_MEMORY_LIMIT caps DuckDB during a batched ingest and the workspace gets its limit back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kansa.ingest import ingest_access_file, ingest_chunks
from kansa.ingest.access_jsonl import ACCESS_STAGE_SQL
from kansa.ingest.blocks import StagedBlock, staged_blocks
from kansa.ingest.memory import DEFAULT_LIMIT, ENV_LIMIT
from kansa.ingest.pipeline import ingest_staged_blocks
from kansa.ingest.records import Chunk
from kansa.model.sizes import size_bytes
from kansa.model.workspace import Workspace


def _limit(ws: Workspace) -> int:
    got = size_bytes(str(ws.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]))
    assert got is not None
    return got


def test_sizes_as_duckdb_prints_them() -> None:
    assert size_bytes("18.8 GiB") == int(18.8 * (1 << 30))
    assert size_bytes("256MiB") == 256 << 20
    assert size_bytes("134217728B") == 134217728
    assert size_bytes("300 MB") == 300_000_000
    assert size_bytes("lots") is None


def test_line_reader_path_keeps_duckdbs_limit(ws: Workspace, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """It holds a whole file in one transaction, which a cap sized for one batch could not hold."""
    monkeypatch.setenv(ENV_LIMIT, "256MiB")
    before = _limit(ws)
    seen: list[int] = []

    def read(path: Path) -> Iterator[Chunk]:
        seen.append(_limit(ws))
        yield Chunk(end_line=0)

    f = tmp_path / "x.log"
    f.write_text("x\n")
    ingest_chunks(ws, f, "access", read)
    assert seen == [before]


def test_staged_path_runs_under_the_cap_even_when_it_fails(ws: Workspace, tmp_path: Path,
                                                           line: Callable[..., str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    before = _limit(ws)
    seen: list[int] = []
    f = tmp_path / "a.jsonl"
    f.write_text(line() + "\n")

    def stage(start_offset: int, start_line: int, hasher: Any) -> Iterator[StagedBlock]:
        seen.append(_limit(ws))
        yield from staged_blocks(f, ACCESS_STAGE_SQL, start_offset=start_offset, start_line=start_line,
                                 hasher=hasher)
        raise RuntimeError("reader died")

    monkeypatch.delenv(ENV_LIMIT, raising=False)
    with pytest.raises(RuntimeError):
        ingest_staged_blocks(ws, f, "access", stage)  # nothing asked for: the default cap
    monkeypatch.setenv(ENV_LIMIT, "off")
    with pytest.raises(RuntimeError):
        ingest_staged_blocks(ws, f, "access", stage)  # DuckDB's own limit
    monkeypatch.setenv(ENV_LIMIT, "200MiB")
    with pytest.raises(RuntimeError):
        ingest_staged_blocks(ws, f, "access", stage)
    assert seen == [size_bytes(DEFAULT_LIMIT), before, 200 << 20]
    assert before > 256 << 20  # the test machine's default is far above either cap
    assert _limit(ws) == before
    assert ws.con.execute("SELECT count(*) FROM access_events").fetchall()[0][0] == 0


def test_a_lower_limit_already_set_is_kept(ws: Workspace, tmp_path: Path, line: Callable[..., str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_LIMIT, "256MiB")
    ws.con.execute("SET memory_limit = '100MiB'")
    f = tmp_path / "a.jsonl"
    f.write_text(line() + "\n")
    assert ingest_access_file(ws, f)["events"] == 1
    assert _limit(ws) == 100 << 20


def test_limit_from_the_environment(ws: Workspace, tmp_path: Path, line: Callable[..., str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_LIMIT, "200MiB")
    seen: list[int] = []
    f = tmp_path / "a.jsonl"
    f.write_text(line() + "\n")

    def stage(start_offset: int, start_line: int, hasher: Any) -> Iterator[StagedBlock]:
        seen.append(_limit(ws))
        yield from staged_blocks(f, ACCESS_STAGE_SQL, start_offset=start_offset, start_line=start_line,
                                 hasher=hasher)

    assert ingest_staged_blocks(ws, f, "access", stage).events == 1
    assert seen == [200 << 20]
    monkeypatch.setenv(ENV_LIMIT, "a lot")
    g = tmp_path / "b.jsonl"
    g.write_text(line(action="export") + "\n")
    with pytest.raises(ValueError, match=ENV_LIMIT):
        ingest_access_file(ws, g)
    assert ws.con.execute("SELECT count(*) FROM access_events").fetchall()[0][0] == 1
