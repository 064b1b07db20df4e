"""Indexing owner datasets and attributing damaged leaked copies back to them."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from kansa.model.errors import InputError
from kansa.model.workspace import Workspace
from kansa.trace import index_dataset, index_world_datasets, trace_file

from .people import HEADER, Person, make_people, write_csv

WAREKI = {1926: ("昭和", 1925), 1989: ("平成", 1988), 2019: ("令和", 2018)}


def wareki(d: date) -> str:
    start = max(y for y in WAREKI if date(y, 1, 1) <= d) if d.year >= 1926 else 1926
    era, base = WAREKI[start]
    return f"{era}{d.year - base}年{d.month}月{d.day}日"


def damage(p: Person, rng: random.Random) -> list[str]:
    """A leaked copy as a broker would have it: half-width kana, 和暦, hyphenless phone, a typo."""
    import jaconv

    name = p.name.replace(" ", "　")
    if rng.random() < 0.3 and len(name) > 3:
        name = name[:-1] + "子"  # one changed character
    return [
        name,
        jaconv.z2h(jaconv.hira2kata(p.kana), kana=True),
        wareki(p.dob),
        p.phone.replace("-", ""),
        p.address.replace("-", "－"),
    ]


@pytest.fixture
def world(tmp_path: Path) -> Path:
    a = make_people(300, seed=11, prefix="A")
    b = make_people(200, seed=22, prefix="B")
    root = tmp_path / "world"
    write_csv(root / "datasets/pref-a/list.csv", HEADER, [p.row() for p in a], encoding="cp932")
    write_csv(root / "datasets/city-b/list.csv", HEADER, [p.row() for p in b])
    manifest = {
        "format": "kansa-world/1",
        "files": [
            {"path": "datasets/pref-a/list.csv", "kind": "dataset", "owner": "pref-a", "name": "tax",
             "version": "2024", "id_column": "顧客番号", "encoding": "cp932"},
            {"path": "datasets/city-b/list.csv", "kind": "dataset", "owner": "city-b", "name": "residents",
             "version": "2024", "id_column": "顧客番号"},
        ],
    }
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return root


def _leak(tmp_path: Path, world: Path) -> tuple[Path, int, int, int]:
    rng = random.Random(5)
    a = make_people(300, seed=11, prefix="A")
    strangers = make_people(40, seed=99, prefix="X")
    rows = [damage(p, rng) for p in a[:120]] + [damage(p, rng) for p in strangers]
    rng.shuffle(rows)
    path = write_csv(tmp_path / "leak.csv", ["お名前", "ﾌﾘｶﾞﾅ", "生年月日", "TEL", "住所"], rows, encoding="cp932")
    return path, 120, 40, len(rows)


def test_no_raw_personal_data_in_index(ws: Workspace, world: Path) -> None:
    summary = index_world_datasets(ws, world)
    assert summary["datasets"] == 2 and summary["records"] == 500
    people = make_people(300, seed=11, prefix="A")[:50]
    dump = []
    tables = [t for (t,) in ws.con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'trace%'")
              .fetchall()]
    assert "trace_records" in tables
    for table in tables:
        for row in ws.con.execute(f"SELECT * FROM {table}").fetchall():
            dump.append(repr(row))
    text = "\n".join(dump)
    for p in people:
        for value in (p.name, p.name.replace(" ", ""), p.kana.replace(" ", ""), p.dob.isoformat(),
                      p.phone.replace("-", ""), p.address):
            assert value not in text
            assert value.encode("utf-8") not in text.encode("utf-8")


def test_attributes_damaged_copy_to_its_owner(ws: Workspace, world: Path, tmp_path: Path) -> None:
    index_world_datasets(ws, world)
    leak, from_a, strangers, total = _leak(tmp_path, world)
    report = trace_file(ws, leak)
    assert report["rows"] == total
    assert report["datasets"][0]["owner"] == "pref-a"
    # nearly all of A's rows found despite damage; strangers not attributed
    assert report["datasets"][0]["matched"] >= from_a * 0.95
    assert report["datasets"][0]["matched"] <= from_a
    assert report["unattributed_rows"] >= strangers
    assert report["unattributed_rows"] <= strangers + from_a * 0.05
    assert all(d["matched"] <= 2 for d in report["datasets"] if d["owner"] == "city-b")
    assert set(report["fields"]) == {"name", "kana", "dob", "phone", "address"}


def test_reindex_is_idempotent(ws: Workspace, world: Path) -> None:
    index_world_datasets(ws, world)
    q = "SELECT count(*), count(DISTINCT h_name), count(DISTINCT bf_address) FROM trace_records"
    n1 = ws.con.execute(q).fetchone()
    index_world_datasets(ws, world)
    assert ws.con.execute(q).fetchone() == n1
    assert ws.con.execute("SELECT count(*) FROM trace_datasets").fetchone() == (2,)


def test_version_that_fits_best(ws: Workspace, tmp_path: Path) -> None:
    people = make_people(80, seed=3, prefix="P")
    v1 = write_csv(tmp_path / "v1.csv", HEADER, [p.row() for p in people])
    moved = [Person(p.pid, p.name, p.kana, p.dob, p.phone, "北海道札幌市中央区北一条西" + p.address[-6:])
             for p in people]
    v2 = write_csv(tmp_path / "v2.csv", HEADER, [p.row() for p in moved])
    index_dataset(ws, v1, "city", "res", "2023", id_column="顧客番号")
    index_dataset(ws, v2, "city", "res", "2024", id_column="顧客番号")
    leak = write_csv(tmp_path / "leak.csv", HEADER[1:], [p.row()[1:] for p in moved[:50]])
    report = trace_file(ws, leak)
    best = {d["version"]: d["best_version"] for d in report["datasets"]}
    assert best.get("2024", 0) == 50 and best.get("2023", 0) == 0


def test_actors_who_touched_leaked_subjects(ws: Workspace, world: Path, tmp_path: Path) -> None:
    index_world_datasets(ws, world)
    a = make_people(300, seed=11, prefix="A")
    ws.con.execute(
        "INSERT INTO access_events (event_id, ts, actor_id, account, action, owner_id, source_system, batch_id)"
        " VALUES (1, '2024-03-01 10:00+09', 'mallory', 'm1', 'export', 'pref-a', 'app', 1),"
        " (2, '2024-03-02 10:00+09', 'alice', 'a1', 'view', 'pref-a', 'app', 1),"
        " (3, '2024-03-03 10:00+09', 'bob', 'b1', 'export', 'pref-a', 'db', 1),"
        " (4, '2024-03-03 11:00+09', 'carol', 'c1', 'export', 'pref-a', 'db', 1)"
    )
    # bulk exports naming no subjects: bob's returned 10 rows, carol's did not say
    ws.con.execute("UPDATE access_events SET row_count = 10 WHERE event_id = 3")
    for p in a[:100]:
        ws.con.execute("INSERT INTO access_subjects VALUES (1, 'pref-a', ?)", [p.pid])
    for p in a[90:95]:
        ws.con.execute("INSERT INTO access_subjects VALUES (2, 'pref-a', ?)", [p.pid])
    leak, *_ = _leak(tmp_path, world)
    report = trace_file(ws, leak)
    by = {a["actor"]: a for a in report["actors"]}
    n = report["matched_rows"]
    assert by["carol"]["share"] == 1.0  # could have carried every leaked row of pref-a
    assert by["bob"]["share"] == round(10 / n, 4)  # at most the 10 rows his export returned
    assert by["mallory"]["exports"] == 1
    assert by["mallory"]["subjects"] >= 95  # subjects of rows 0..119 of A that mallory touched: A[0..99]
    assert by["alice"]["subjects"] <= 5
    # mallory picked out the leaked people one by one: far beyond chance. carol's and bob's
    # exports name nobody: capacity (coverage), no evidence of choice (significance 0)
    assert by["mallory"]["significance"] > 10 and by["mallory"]["tier"] == 2
    assert by["carol"]["significance"] == by["bob"]["significance"] == 0
    assert by["alice"]["precision"] == 1.0 and 0 < by["alice"]["significance"] < 3
    order = [a["actor"] for a in report["actors"]]
    assert order[0] == "mallory" and order.index("carol") < order.index("bob")
    # evidence after the cut-off day cannot explain the leak: only mallory's day-1 export remains
    early = trace_file(ws, leak, until=date(2024, 3, 1))
    assert early["until"] is not None
    assert [a["actor"] for a in early["actors"]] == ["mallory"]
    assert trace_file(ws, leak, until=date(2024, 2, 29))["actors"] == []


def test_headerless_and_missing_columns(ws: Workspace, world: Path, tmp_path: Path) -> None:
    index_world_datasets(ws, world)
    b = make_people(200, seed=22, prefix="B")
    rows = [[p.name, p.dob.strftime("%Y/%m/%d")] for p in b[:30]]
    path = tmp_path / "bare.tsv"
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="euc_jp")
    report = trace_file(ws, path)
    assert report["rows"] == 30
    assert report["datasets"][0]["owner"] == "city-b" and report["datasets"][0]["matched"] >= 29


def test_unreadable_list_names_the_file(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"junk\.csv"):
        trace_file(ws, path)


def test_fuzzy_match_without_any_exact_key(ws: Workspace, tmp_path: Path) -> None:
    """Name kept, address slightly changed, no birth date (no exact two-field key agrees): Bloom
    Dice decides. A namesake — born on another day, living elsewhere — must not be taken for the
    same person. (Same name and another address alone cannot tell them apart: a full name no other
    indexed person holds is, by Bayes, more likely the person who moved than a stranger.)"""
    people = make_people(100, seed=12, prefix="F")
    index_dataset(ws, write_csv(tmp_path / "own.csv", HEADER, [p.row() for p in people]), "o", "n", "1",
                  id_column="顧客番号")
    moved = [[p.name, "", p.address[:-1] + ("9" if p.address[-1] != "9" else "8")] for p in people[:30]]
    namesakes = [[p.name, (p.dob - timedelta(days=3000)).isoformat(), "沖縄県那覇市久茂地3-1-1"] for p in people[30:40]]
    report = trace_file(ws, write_csv(tmp_path / "leak.csv", ["氏名", "生年月日", "住所"], moved + namesakes))
    got = {m["line"]: m["subject_id"] for m in report["matches"]}
    assert sum(1 for i in range(30) if got.get(i + 2) == people[i].pid) >= 28
    assert not any(line >= 32 for line in got)


def test_lines_are_the_file_lines_with_title_and_blank_lines(ws: Workspace, tmp_path: Path) -> None:
    """A list with a title line, blank lines between rows and a stranger: the reported lines
    (matches and unattributed) are the lines of the file, not data-row counts."""
    people = make_people(60, seed=21, prefix="L")
    index_dataset(ws, write_csv(tmp_path / "own.csv", HEADER, [p.row() for p in people]), "o", "n", "1",
                  id_column="顧客番号")
    stranger = make_people(1, seed=99, prefix="S")[0]
    lines = ["顧客リスト（抜粋）", ",".join(HEADER)]
    where: dict[str, int] = {}
    for i, p in enumerate([*people[:6], stranger]):
        if i in (2, 4):
            lines.append("")
        lines.append(",".join(p.row()))
        where[p.pid] = len(lines)
    leak = tmp_path / "leak.csv"
    leak.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = trace_file(ws, leak)
    got = {m["subject_id"]: m["line"] for m in report["matches"]}
    assert got == {p.pid: where[p.pid] for p in people[:6]}
    assert report["unattributed_lines"] == [where[stranger.pid]]
