"""The family name alone as the last blocking tier.

A copy whose given name was replaced and whose other fields were all re-typed agrees exactly on
no field kansa hashed before (FEBRL 4's rec-944): it was never compared. The family name is now
hashed on its own where the list says which part it is, and blocks only rows that no pair key,
phone or address places, and only when few indexed records carry it. Records indexed before the
key existed have none: they open no such block and score as before.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from kansa.model.workspace import Workspace
from kansa.simulate.people import make_people
from kansa.trace import linkage
from kansa.trace.index import (
    RECORD_COLUMNS,
    TRACE_MIGRATIONS,
    encode_table_rows,
    ensure_trace_tables,
    store_index,
)
from kansa.trace.linkage import link
from kansa.trace.normalize import family_of, normalise_record
from kansa.trace.reader import read_table

FIELDS = ["name", "dob", "phone", "address", "postcode"]
GIVEN = ["太郎", "花子", "一郎", "次郎", "三郎"]


def _yamadas() -> list[dict[str, object]]:
    """Five 山田 of five households: the family name is all they share."""
    return [{"name": f"山田\u3000{g}", "dob": date(1950 + i, 1 + i, 10 + i).isoformat(),
             "phone": f"06-1234-{5600 + i}", "address": f"大阪府大阪市北区梅田{i + 1}-2-3",
             "postcode": f"53000{i + 1}"} for i, g in enumerate(GIVEN)]


def _store(ws: Workspace, held: list[dict[str, object]]) -> None:
    ensure_trace_tables(ws)
    enc = encode_table_rows(ws, held)
    store_index(ws, "o/p/1", "o", "p", "1", [("o/p/1", i + 1, f"P{i}", *e) for i, e in enumerate(enc) if e],
                FIELDS)


def _link(ws: Workspace, rows: list[dict[str, object]]) -> pd.DataFrame:
    enc = encode_table_rows(ws, rows)
    leak = pd.DataFrame([(i, *e) for i, e in enumerate(enc) if e], columns=["row", *RECORD_COLUMNS])
    return link(ws, leak, FIELDS, min_probability=0.0)  # every scored pair, however unlikely


def _candidates(pairs: pd.DataFrame) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for r, s in pairs[["row", "subject_id"]].itertuples(index=False):
        out.setdefault(int(r), set()).add(str(s))
    return out


def _damaged() -> dict[str, object]:
    """P0 with the given name replaced, no birth date, another phone, another address."""
    return {"name": "山田\u3000五郎", "phone": "03-9999-0000", "address": "京都府京都市中京区河原町9-9-9"}


def test_a_row_without_any_exact_key_is_still_compared(ws: Workspace) -> None:
    people = make_people(random.Random(41), "G", 300, "大阪府", "", date(2024, 6, 1))
    held: list[dict[str, object]] = [{"name": p.name, "dob": p.birth.isoformat(), "address": p.address,
                                      "postcode": p.zip_code} for p in people]
    ensure_trace_tables(ws)
    enc = encode_table_rows(ws, held)
    store_index(ws, "g/a/", "g", "a", None, [("g/a/", i + 1, p.record_id, *e)
                                            for i, (p, e) in enumerate(zip(people, enc, strict=True)) if e],
                ["address", "dob", "name", "postcode"])
    target = people[7]
    surname = target.name.split("\u3000")[0]
    address = target.address
    digit = next(k for k, c in enumerate(address) if c.isdigit())
    leaked: list[dict[str, object]] = [{
        "name": f"{surname}\u3000" + ("花子" if not target.name.endswith("花子") else "桜子"),
        "address": address[:digit] + str((int(address[digit]) + 1) % 10) + address[digit + 1:],  # re-typed
        "postcode": target.zip_code[::-1],  # transposed
    }]
    enc = encode_table_rows(ws, leaked)
    leak = pd.DataFrame([(i, *e) for i, e in enumerate(enc) if e], columns=["row", *RECORD_COLUMNS])
    pairs = link(ws, leak, ["address", "name", "postcode"], min_probability=0.0)
    assert "G0000008" in set(pairs["subject_id"])


def test_rows_other_keys_place_open_no_family_block(ws: Workspace) -> None:
    _store(ws, _yamadas())
    got = _candidates(_link(ws, [_yamadas()[0], _damaged()]))
    assert got[0] == {"P0"}  # placed by name and birth date: the other 山田 are not scored
    assert got[1] == {f"P{i}" for i in range(len(GIVEN))}  # nothing else agrees: every 山田


def test_a_common_family_name_opens_no_block(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _store(ws, _yamadas())
    monkeypatch.setattr(linkage, "MAX_BLOCK", len(GIVEN) - 1)
    assert _link(ws, [_damaged()]).empty


def indexed_before(ws: Workspace, migrations: int, held: list[dict[str, object]]) -> None:
    """The index as a workspace that predates later keys holds it: the schema of the first
    ``migrations`` trace migrations, filled with the columns it has, then upgraded (the later
    migrations leave their new columns empty)."""
    ws.ensure_component("trace", TRACE_MIGRATIONS[:migrations])
    enc = encode_table_rows(ws, held)
    con = ws.con.cursor()
    have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns"
                                      " WHERE table_name = 'trace_records'").fetchall()}
    keep = [i for i, c in enumerate(RECORD_COLUMNS) if c in have]
    old = [RECORD_COLUMNS[i] for i in keep]
    df = pd.DataFrame([("o/p/1", i + 1, f"P{i}", *(e[k] for k in keep)) for i, e in enumerate(enc) if e],
                      columns=["dataset_id", "record_no", "subject_id", *old])
    con.register("df", df)
    cols = ", ".join(["dataset_id", "record_no", "subject_id", *old])
    con.execute(f"INSERT INTO trace_records ({cols}) SELECT {cols} FROM df").fetchall()
    con.execute("INSERT INTO trace_datasets (dataset_id, owner_id, name, version, records, fields, indexed_at)"
                " VALUES ('o/p/1', 'o', 'p', '1', ?, ?, now())", [len(df), FIELDS]).fetchall()
    ensure_trace_tables(ws)


def test_an_index_without_the_key_links_as_before(tmp_path: Path) -> None:
    from kansa.model.workspace import init_workspace

    rows = [_yamadas()[0], {**_yamadas()[1], "dob": None, "name": "山田\u3000次男"}, _damaged()]
    results = []
    # before trace migration 5 (no family key) and before 6 (family key, no given names: the
    # name comparison has no family/given levels yet, tests/trace/test_linkage_name_parts.py)
    for name, migrations in (("old", 4), ("new", 5)):
        ws = init_workspace(tmp_path / name)
        try:
            indexed_before(ws, migrations, _yamadas())
            results.append(_link(ws, rows).sort_values(["row", "subject_id"]).reset_index(drop=True))
        finally:
            ws.close()
    old, new = results
    assert 2 not in set(old["row"])  # no family key in the index: the damaged row finds nobody
    assert 2 in set(new["row"])
    # the rows other keys place score the same either way
    keep = ["row", "subject_id", "match_probability"]
    pd.testing.assert_frame_equal(old[old["row"] < 2][keep], new[new["row"] < 2][keep])


def test_the_family_name_is_read_only_where_the_list_says_which_part_it_is(tmp_path: Path) -> None:
    assert family_of({"name": "山田\u3000太郎"}) == "山田"
    assert family_of({"name": "山田 太郎"}) == "山田"
    assert family_of({"name": "山田太郎"}) is None  # no split is guessed
    assert family_of({"name": "Taro Yamada"}) is None  # romaji: either order
    assert normalise_record({"name": "髙橋\u3000一郎"})["family"] == normalise_record({"name": "高橋"})["name"]
    path = tmp_path / "split.csv"
    path.write_text("顧客番号,姓,名,生年月日\nA1,山田,太郎,1970-01-02\n", encoding="utf-8")
    table = read_table(path)
    got = table.fields(table.rows[0])
    assert got["name"] == "山田太郎"
    assert family_of(got) == "山田"
