"""Blocking tiers: a row placed by a pair key or phone is not blocked on its address; a row no
such key places is, and one its address places opens no single-field block."""

from __future__ import annotations

from datetime import date

import pandas as pd

from kansa.model.workspace import Workspace
from kansa.trace.index import RECORD_COLUMNS, encode_table_rows, ensure_trace_tables, store_index
from kansa.trace.linkage import link

ADDRESS = "大阪府大阪市北区梅田1-2-3"
NAMES = ["山田太郎", "佐藤花子", "鈴木一郎", "高橋次郎", "田中三郎", "伊藤四郎"]


def _household() -> list[dict[str, object]]:
    """Six people of one building: same address, every other field their own."""
    return [{"name": n, "dob": date(1950 + i, 1 + i, 10 + i).isoformat(), "phone": f"06-1234-{5600 + i}",
             "address": ADDRESS, "postcode": f"53000{i + 1}"} for i, n in enumerate(NAMES)]


def _candidates(ws: Workspace, rows: list[dict[str, object]]) -> dict[int, set[str]]:
    ensure_trace_tables(ws)
    held = _household()
    enc = encode_table_rows(ws, held)
    store_index(ws, "o/people/1", "o", "people", "1",
                [("o/people/1", i + 1, f"P{i}", *e) for i, e in enumerate(enc) if e], ["name", "dob", "phone",
                                                                                         "address", "postcode"])
    leak_enc = encode_table_rows(ws, rows)
    leak = pd.DataFrame([(i, *e) for i, e in enumerate(leak_enc) if e], columns=["row", *RECORD_COLUMNS])
    # every scored pair, however unlikely: which holdings each row was blocked with
    pairs = link(ws, leak, ["name", "dob", "phone", "address", "postcode"], min_probability=0.0)
    out: dict[int, set[str]] = {}
    for r, s in pairs[["row", "subject_id"]].itertuples(index=False):
        out.setdefault(int(r), set()).add(str(s))
    return out


def test_keyed_row_is_not_blocked_on_its_address(ws: Workspace) -> None:
    exact = dict(_household()[0])
    got = _candidates(ws, [exact])
    assert got[0] == {"P0"}


def test_row_no_key_places_is_blocked_on_its_address(ws: Workspace) -> None:
    # name re-typed, birth date and postcode missing, a phone digit changed: only the address agrees
    damaged: dict[str, object] = {"name": "佐藤花美", "phone": "06-1234-5609", "address": ADDRESS}
    got = _candidates(ws, [damaged])
    assert got[0] == {f"P{i}" for i in range(len(NAMES))}
