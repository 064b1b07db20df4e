"""The name comparison's family/given levels: a kept family name beside another given name (and
a kept given name beside another family name) is evidence of its own, weighed by the level's m
and u, not a match: within a household (an exact address or phone in common) a shared family
name is what different people show, so there the name is compared as before.

FEBRL 4's rec-944 (given name replaced, everything else re-typed) is what the level is for; the
Japanese risk is the family: a sibling or spouse listed at the held person's address.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from kansa.model.workspace import Workspace, init_workspace
from kansa.simulate.people import Person, make_people
from kansa.trace import linkage
from kansa.trace.index import RECORD_COLUMNS, encode_table_rows
from kansa.trace.linkage import link
from kansa.trace.normalize import given_of, normalise_record
from kansa.trace.reader import read_table
from kansa.trace.splink_settings import FAMILY_LEVEL, SPEC_BY_NAME, specs_for, trained_specs

from .test_linkage_family import indexed_before

FIELDS = ["name", "kana", "dob", "phone", "address", "postcode"]
MOBILE = ("070", "080", "090")


def _held(people: list[Person]) -> list[dict[str, object]]:
    return [{"name": p.name, "kana": p.kana, "dob": p.birth.isoformat(), "phone": p.phone, "address": p.address,
             "postcode": p.zip_code} for p in people]


def _index(tmp_path: Path, label: str, migrations: int, held: list[dict[str, object]]) -> Workspace:
    """A workspace whose index was filled under the first ``migrations`` trace migrations: 5 has
    the family name but no given names (the name compared whole, as before), 6 both."""
    ws = init_workspace(tmp_path / label)
    indexed_before(ws, migrations, held)
    return ws


def _pairs(ws: Workspace, rows: list[dict[str, object]], fields: list[str]) -> pd.DataFrame:
    enc = encode_table_rows(ws, rows)
    leak = pd.DataFrame([(i, *e) for i, e in enumerate(enc) if e], columns=["row", *RECORD_COLUMNS])
    return link(ws, leak, fields, min_probability=0.0)


def _pair(pairs: pd.DataFrame, row: int, subject: str) -> pd.Series:
    got = pairs[(pairs["row"] == row) & (pairs["subject_id"] == subject)]
    assert len(got) == 1, (row, subject, got)
    return got.iloc[0]


@pytest.fixture(scope="module")
def family() -> tuple[list[dict[str, object]], Person, str]:
    """1,200 customers; the target has a fixed-line (household) phone; its subject id in the index."""
    people = make_people(random.Random(5), "S", 1200, "大阪府", "", date(2024, 6, 1))
    i, target = next((i, p) for i, p in enumerate(people) if p.phone and not p.phone.startswith(MOBILE))
    return _held(people), target, f"P{i}"


def _sibling(target: Person) -> dict[str, object]:
    """Another child of the target's family at its address: the family name in its other form
    where it has one (髙/高 fold together), another given name and reading, born three years on."""
    family, given = target.name.split("\u3000")
    kana_family = target.kana.split("\u3000")[0]
    other, other_kana = ("次郎", "ジロウ") if given != "次郎" else ("三郎", "サブロウ")
    return {"name": f"{family.replace('髙', '高')}\u3000{other}", "kana": f"{kana_family}\u3000{other_kana}",
            "dob": (target.birth + timedelta(days=3 * 365 + 40)).isoformat(), "address": target.address,
            "postcode": target.zip_code}


def _retyped(address: str) -> str:
    """The address with its first digit changed: Dice of the Bloom filters stays "close"."""
    k = next(k for k, c in enumerate(address) if c.isdigit())
    return address[:k] + str((int(address[k]) + 1) % 10) + address[k + 1:]


def test_a_sibling_at_the_same_address_is_not_attributed(
    tmp_path: Path, family: tuple[list[dict[str, object]], Person, str]
) -> None:
    held, target, subject = family
    sib = _sibling(target)
    rows: list[dict[str, object]] = [
        sib,  # no phone
        {**sib, "phone": "090-1111-2222"},  # the sibling's own mobile
        {**sib, "address": _retyped(target.address)},  # the address re-typed: not one household by the keys
    ]
    ws = _index(tmp_path, "new", 6, held)
    try:
        pairs = _pairs(ws, rows, FIELDS)
    finally:
        ws.close()
    for row in range(len(rows)):
        assert _pair(pairs, row, subject)["match_probability"] < 0.5, row
    # at the household's exact address the shared family name is not counted for the pair
    for row in (0, 1):
        assert _pair(pairs, row, subject)["mw_person_name"] < 0


def test_the_family_level_is_not_taken_within_a_household(
    tmp_path: Path, family: tuple[list[dict[str, object]], Person, str]
) -> None:
    """The sibling at the exact address scores about as it did with the name compared whole (the
    new levels took some m from "similar" and "else"); only a re-typed address, which the keys
    cannot place in one household, gains the family name's weight."""
    held, target, subject = family
    sib = _sibling(target)
    rows: list[dict[str, object]] = [sib, {**sib, "address": _retyped(target.address)}]
    got = {}
    for label, migrations in (("v5", 5), ("v6", 6)):
        ws = _index(tmp_path, label, migrations, held)
        try:
            got[label] = _pairs(ws, rows, FIELDS)
        finally:
            ws.close()
    same_v5, same_v6 = (_pair(got[v], 0, subject)["mw_person_name"] for v in ("v5", "v6"))
    close_v5, close_v6 = (_pair(got[v], 1, subject)["mw_person_name"] for v in ("v5", "v6"))
    # u is sampled per workspace: two indexes' weights of one level differ by a few tenths of a bit
    assert same_v6 < same_v5 + 0.5  # no gain at the household's address
    assert close_v6 > close_v5 + 3  # the family name counts where the keys see no household
    assert close_v6 > same_v6 + 3  # one index, one sibling: only the household key differs


def test_a_kept_family_name_counts_when_the_given_name_was_replaced(tmp_path: Path) -> None:
    """The Japanese rec-944: the given name replaced, no birth date, the address re-typed, the
    postcode transposed (name only, no reading: the ``name`` comparison)."""
    people = make_people(random.Random(41), "G", 300, "大阪府", "", date(2024, 6, 1))
    held = _held(people)
    target = people[7]
    surname = target.name.split("\u3000")[0]
    row: dict[str, object] = {"name": f"{surname}\u3000" + ("花子" if not target.name.endswith("花子") else "桜子"),
                              "address": _retyped(target.address), "postcode": target.zip_code[::-1]}
    fields = ["name", "address", "postcode"]
    weight = {}
    for label, migrations in (("v5", 5), ("v6", 6)):
        ws = _index(tmp_path, label, migrations, held)
        try:
            weight[label] = _pair(_pairs(ws, [row], fields), 0, "P7")["mw_name"]
        finally:
            ws.close()
    # compared whole, the new given name made the name count against the pair (the "similar" or
    # "else" level); with the parts the kept family name is the level's own evidence
    assert weight["v5"] < 0
    assert weight["v6"] > weight["v5"] + 3


def test_a_married_name_counts_the_given_name(tmp_path: Path) -> None:
    """Family name changed by marriage, given name and reading of it kept, moved: the given-name
    level, where the whole name compared as dissimilar."""
    people = make_people(random.Random(8), "M", 400, "大阪府", "", date(2024, 6, 1))
    held = _held(people)
    i, target = next((i, p) for i, p in enumerate(people) if not p.name.startswith("勅使河原"))
    given, kana_given = target.name.split("\u3000")[1], target.kana.split("\u3000")[1]
    row: dict[str, object] = {"name": f"勅使河原\u3000{given}", "kana": f"テシガワラ\u3000{kana_given}",
                              "dob": target.birth.isoformat(), "address": "京都府京都市中京区河原町9-9-9"}
    fields = ["name", "kana", "dob", "address"]
    weight = {}
    for label, migrations in (("v5", 5), ("v6", 6)):
        ws = _index(tmp_path, label, migrations, held)
        try:
            weight[label] = _pair(_pairs(ws, [row], fields), 0, f"P{i}")["mw_person_name"]
        finally:
            ws.close()
    assert weight["v6"] > weight["v5"] + 3


def test_an_index_without_given_names_links_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, family: tuple[list[dict[str, object]], Person, str]
) -> None:
    """Records indexed before trace migration 6 carry no given name: that index is linked with
    the comparisons of before (the name whole). Were the parts' levels used on it, they could
    never fire, yet would take their share of m from the others: every probability would move.
    (u is estimated once per index state and kept, so one workspace's runs compare exactly;
    two workspaces' random samples differ.)"""
    held, target, _subject = family
    sib = _sibling(target)
    rows: list[dict[str, object]] = [held[0], sib, {**sib, "address": _retyped(target.address)},
                                     {**held[1], "name": "山田\u3000太郎", "phone": None}]
    key = ["row", "subject_id"]
    ws = _index(tmp_path, "v5", 5, held)
    try:
        assert not linkage.name_parts_known(ws)
        auto = _pairs(ws, rows, FIELDS).sort_values(key).reset_index(drop=True)
        for known in (False, True):
            monkeypatch.setattr(linkage, "name_parts_known", lambda _ws, k=known: k)
            forced = _pairs(ws, rows, FIELDS).sort_values(key).reset_index(drop=True)
            if known:
                assert not auto["match_probability"].equals(forced["match_probability"])
            else:
                pd.testing.assert_frame_equal(auto, forced)
    finally:
        ws.close()
    assert [c for c in auto.columns if c.startswith("mw_")] == [f"mw_{s.column}" for s in specs_for(FIELDS)]
    ws = _index(tmp_path, "v6", 6, held[:50])
    try:
        monkeypatch.undo()
        assert linkage.name_parts_known(ws)
    finally:
        ws.close()


def test_the_parts_comparisons_are_chosen_only_with_given_names() -> None:
    assert [s.name for s in specs_for(FIELDS)] == ["person_name", "dob", "phone", "place"]
    with_parts = linkage.with_parts(linkage.with_family(FIELDS), known=True)
    assert [s.name for s in specs_for(with_parts)] == ["person_name_parts", "dob", "phone", "place"]
    assert [s.name for s in specs_for(linkage.with_parts(["name", "dob"], known=True))] == ["name_parts", "dob"]
    assert [s.column for s in specs_for(with_parts)] == [s.name for s in specs_for(FIELDS)]  # same columns
    assert "given" not in linkage.with_parts(["kana", "dob"], known=True)  # no name, no parts
    # u is estimated for the variants an index can use: with given names, the parts' variants
    with_given, without = ({s.name for s in trained_specs(p)} for p in (True, False))
    assert {"person_name_parts", "name_parts"} <= with_given and not {"person_name", "name"} & with_given
    assert {"person_name", "name"} <= without and not {"person_name_parts", "name_parts"} & without
    assert with_given - {"person_name_parts", "name_parts"} == without - {"person_name", "name"}
    for name in ("person_name_parts", "name_parts"):
        spec = SPEC_BY_NAME[name]
        assert abs(sum(lv.m for lv in spec.levels) - 1) < 1e-9
        assert FAMILY_LEVEL in [lv.label for lv in spec.levels]


def test_the_given_name_is_read_only_where_the_list_says_which_part_it_is(tmp_path: Path) -> None:
    assert given_of({"name": "山田\u3000太郎"}) == "太郎"
    assert given_of({"name": "山田太郎"}) is None  # no split is guessed
    assert given_of({"name": "Taro Yamada"}) is None
    assert given_of({"name": "山田太郎", "family": "山田"}) == "太郎"  # 姓 given apart
    assert given_of({"name": "X", "given": "花子"}) == "花子"
    a, b = normalise_record({"name": "髙橋\u3000太郎"}), normalise_record({"name": "高橋 次郎"})
    assert a["family"] == b["family"] and a["given"] != b["given"]
    path = tmp_path / "split.csv"
    path.write_text("顧客番号,姓,名,生年月日\nA1,山田,太郎,1970-01-02\n", encoding="utf-8")
    table = read_table(path)
    assert given_of(table.fields(table.rows[0])) == "太郎"
