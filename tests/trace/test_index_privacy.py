"""The holdings index is useless to a thief (issue #5 privacy target): after indexing a simulated
world's owner datasets and tracing a leak, the workspace holds no name, reading, address, phone
number, postcode or birth date of any indexed person in clear — neither as the owner wrote it nor
in kansa's normalised form (the form a thief would try first), in UTF-8, CP932 or UTF-16.

Where the search looks, and why there:

* every table of the workspace database, read back through DuckDB (text cells as text, BLOB cells
  as bytes): DuckDB compresses string columns (FSST, dictionaries) when it checkpoints, so a raw
  byte scan of a large database file misses plaintext it holds — measured: of 140 thousand values
  stored in clear in one column, a byte scan found 8;
* every Parquet file, read back the same way (Parquet compresses too);
* every other file (reports, the per-record CSV, keys, trail) as raw bytes.

A value counts as found only where it is not part of a longer run of letters and digits: a
seven-digit postcode turns up by chance inside a few of the hundreds of thousands of 32-character
hex digests, which is no leak. A control stores the same values in a plain workspace (text
table, BLOB column, Parquet) and requires the search to find them all: the test can fail."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from kansa.model.workspace import init_workspace
from kansa.simulate import simulate
from kansa.trace import index_world_datasets, trace_file
from kansa.trace.normalize import normalise_record
from kansa.trace.reader import read_table

FIELDS = ("name", "kana", "dob", "phone", "address", "postcode", "family", "given")
MIN_BYTES = 6
"""Shorter needles (a one-kanji fragment) would match by chance."""


def _needles(world: Path) -> set[str]:
    """Every personal value of the world's owner datasets: as written and normalised."""
    manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
    out: set[str] = set()
    for f in manifest["files"]:
        if f.get("kind") != "dataset":
            continue
        table = read_table(world / f["path"], encoding=f.get("encoding"), id_column=f.get("id_column"))
        for row in table.rows:
            raw = table.fields(row)
            norm = normalise_record(raw)
            for field in FIELDS:
                for v in (raw.get(field), norm.get(field)):
                    text = str(v).strip() if v is not None else ""
                    if text:
                        out.add(text)
                        out.add(text.replace(" ", "").replace("　", "").replace("-", ""))
    return {n for n in out if len(n.encode("utf-8")) >= MIN_BYTES}


def _byte_forms(value: str) -> list[bytes]:
    out = [value.encode("utf-8"), value.encode("utf-16-le")]
    with contextlib.suppress(UnicodeEncodeError):  # a character CP932 lacks: not in a CP932 file either
        out.append(value.encode("cp932"))
    return out


class Search:
    """Aho–Corasick automata over the needles: one for text, one for bytes (as latin-1 text, one
    character per byte); tens of thousands of needles in one pass."""

    def __init__(self, needles: set[str]) -> None:
        import ahocorasick

        self.text: Any = ahocorasick.Automaton()
        self.raw: Any = ahocorasick.Automaton()
        for n in needles:
            self.text.add_word(n, n)
            for form in _byte_forms(n):
                self.raw.add_word(form.decode("latin-1"), n)
        self.text.make_automaton()
        self.raw.make_automaton()

    def in_text(self, hay: str) -> set[str]:
        return {n for end, n in self.text.iter(hay) if _bounded(hay, end - len(n) + 1, end)}

    def in_bytes(self, hay: bytes, min_len: int = 0) -> set[str]:
        """Needles in raw bytes; ``min_len``: only forms of at least that many bytes (a BLOB cell's
        random bits hold a given 4-byte form by chance: a two-kanji given name in CP932 or UTF-16
        among the index's Bloom filters, a few times per world)."""
        s = hay.decode("latin-1")
        found = set()
        for end, n in self.raw.iter(s):
            # the byte length of the form that matched is unknown here: check each form's span
            if any(_bounded(s, end - len(f) + 1, end) for f in _byte_forms(n)
                   if len(f) >= min_len and s.endswith(f.decode("latin-1"), 0, end + 1)):
                found.add(n)
        return found


def _alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _bounded(hay: str, start: int, end: int) -> bool:
    """The match at hay[start..end] is not inside a longer ASCII letter/digit run (a hex digest)."""
    before = hay[start - 1] if start > 0 else ""
    after = hay[end + 1] if end + 1 < len(hay) else ""
    return not (before and _alnum(before) and _alnum(hay[start])) and not (after and _alnum(after) and _alnum(hay[end]))


def _rows_text(con: duckdb.DuckDBPyConnection, query: str, search: Search) -> set[str]:
    found: set[str] = set()
    cur = con.execute(query)
    while batch := cur.fetchmany(10_000):
        texts = []
        for row in batch:
            for v in row:
                if isinstance(v, bytes | bytearray | memoryview):
                    found |= search.in_bytes(bytes(v), MIN_BYTES)
                elif v is not None:
                    texts.append(str(v))
        found |= search.in_text("\x1f".join(texts))
    return found


def _found(root: Path, db_file: str, search: Search) -> dict[str, set[str]]:
    """Where (table, Parquet file or file name) each found needle is."""
    hits: dict[str, set[str]] = {}
    con = duckdb.connect(str(root / db_file), read_only=True)
    try:
        for schema, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal").fetchall():
            for n in _rows_text(con, f'SELECT * FROM "{schema}"."{table}"', search):
                hits.setdefault(n, set()).add(f"table {table}")
        for p in sorted(root.rglob("*.parquet")):
            for n in _rows_text(con, f"SELECT * FROM read_parquet('{p}')", search):
                hits.setdefault(n, set()).add(str(p.relative_to(root)))
    finally:
        con.close()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix != ".parquet" and not p.name.startswith(db_file):
            for n in search.in_bytes(p.read_bytes()):
                hits.setdefault(n, set()).add(str(p.relative_to(root)))
    return hits


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """A simulated world (seed 2: about 80 owner datasets) and every personal value in it."""
    world = tmp_path_factory.mktemp("privacy") / "world"
    simulate("ntt-west", 2, world, days=40, scale=0.3)
    return world, _needles(world)


def test_index_holds_no_personal_value_in_clear(tmp_path: Path, world: tuple[Path, set[str]]) -> None:
    world_dir, needles = world
    assert len(needles) > 5000  # names, readings, dates, phones, addresses of thousands of people
    ws = init_workspace(tmp_path / "ws")
    try:
        summary = index_world_datasets(ws, world_dir)
        assert summary["records"] > 1000
        leak = sorted((world_dir / "leaks").glob("leak-*[0-9].csv"))[0]
        trace_file(ws, leak)  # the stored model, the per-record CSV and the trail exist too
        db_file = ws.db_path.name
    finally:
        ws.close()
    hits = _found(tmp_path / "ws", db_file, Search(needles))
    assert not hits, sorted(hits.items())[:5]


def test_the_search_finds_values_stored_in_clear(tmp_path: Path, world: tuple[Path, set[str]]) -> None:
    """The control: the same needles kept in clear — text table, BLOB column, Parquet file,
    a CP932 CSV report — are all found."""
    needles = sorted(world[1])
    root = tmp_path / "plain"
    (root / "parquet").mkdir(parents=True)
    third = len(needles) // 3
    frame = pd.DataFrame({
        "id": [f"{i:032x}" for i in range(2 * third)],
        "value": [n if i < third else None for i, n in enumerate(needles[:2 * third])],
        "raw": [n.encode("utf-8") if i >= third else None for i, n in enumerate(needles[:2 * third])],
    })
    pq = [n for n in needles[2 * third:] if len(n) % 2]
    csv_part = [n for n in needles[2 * third:] if not len(n) % 2]
    con = duckdb.connect(str(root / "plain.duckdb"))
    con.register("frame", frame)
    con.execute("CREATE TABLE people AS SELECT id, value, CAST(raw AS BLOB) AS raw FROM frame")
    con.register("pq", pd.DataFrame({"v": pq}))
    con.execute(f"COPY pq TO '{root / 'parquet' / 'p.parquet'}' (FORMAT parquet)")
    con.close()
    (root / "report.csv").write_text("\n".join(f"{i},{n}" for i, n in enumerate(csv_part)), encoding="cp932",
                                     errors="ignore")
    hits = _found(root, "plain.duckdb", Search(set(needles)))
    cp932_able = {n for n in csv_part if n == n.encode("cp932", "ignore").decode("cp932")}
    assert set(needles[:2 * third]) | set(pq) | cp932_able <= set(hits)
