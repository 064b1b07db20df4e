"""An access event is sealed together with the data subjects it touched (frame-v2s).

Who was touched lives in access_subjects, one row per subject. Deleting, editing or adding such a
row after sealing must make verify fail at the event's leaf, exactly as editing the event does;
leaves sealed before subjects were covered must keep verifying.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kansa.ledger import prove, seal_pending, seal_range, verify
from kansa.ledger import store as ledger_store
from kansa.ledger.canonical import framed_row, leaf_hash_sql, subject_item, subjects_sql, subjects_value
from kansa.ledger.merkle import leaf_hash, root, verify_inclusion
from kansa.ledger.signing import key_id, sign_head, signing_key
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace, init_workspace, open_workspace

T0 = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)

# event id -> the (owner_id, subject_id) rows it touched; ids 3 and 7 are endpoint events
SUBJECTS: dict[int, list[tuple[str | None, str]]] = {
    0: [("city-suginami", "R-001"), ("city-suginami", "R-002")],
    1: [],
    2: [("city-suginami", "R-003")],
    4: [("pref-osaka", "T1"), (None, "X9"), ("pref-osaka", "T1")],  # a duplicate row is kept as one
    5: [],
    6: [("市役所", "住民-42"), ("city-suginami", "R-001")],
    8: [("city-suginami", "R-010")],
}


def add_event(ws: Workspace, event_id: int, subjects: list[tuple[str | None, str]]) -> None:
    ws.con.execute(
        "INSERT INTO access_events (event_id, ts, actor_id, account, action, resource, columns, owner_id,"
        " source_system, batch_id, source_line) VALUES (?, ?, 'a-1', 'op1', 'read', 'residents',"
        " ['氏名'], 'city-suginami', 'app', 1, ?)",
        [event_id, T0 + timedelta(minutes=event_id), event_id + 1],
    )
    if subjects:
        ws.con.executemany(
            "INSERT INTO access_subjects VALUES (?, ?, ?)", [(event_id, o, s) for o, s in subjects]
        )


def add_endpoint(ws: Workspace, event_id: int) -> None:
    ws.con.execute(
        "INSERT INTO endpoint_events (event_id, ts, host, kind, source_system, batch_id)"
        " VALUES (?, ?, 'pc-1', 'usb_write', 'endpoint', 2)",
        [event_id, T0 + timedelta(minutes=event_id)],
    )


def fill(ws: Workspace, ids: range = range(9)) -> None:
    for i in ids:
        if i in SUBJECTS:
            add_event(ws, i, SUBJECTS[i])
        else:
            add_endpoint(ws, i)


@pytest.fixture
def sealed(ws: Workspace) -> Workspace:
    fill(ws)
    seal_pending(ws)
    return ws


def _bad(ws: Workspace) -> list[tuple[int, str]]:
    r = verify(ws)
    assert not r["ok"]
    return [(b["leaf_index"], b["problem"]) for b in r["bad_leaves"]]


def test_clean_ledger_with_subjects_verifies_and_proves(sealed: Workspace) -> None:
    r = verify(sealed)
    assert r["ok"] and r["tree_size"] == 9 and r["orphan_subjects"] == 0 and r["subjects_sealed_from"] == 0
    for i in range(9):
        p = prove(sealed, i)
        assert p["ok"] and verify_inclusion(
            i, 9, bytes.fromhex(p["leaf_hash"]), [bytes.fromhex(x) for x in p["path"]], bytes.fromhex(p["root"])
        )
        assert p["encoding"] == ("frame-v2s" if i in SUBJECTS else "frame-v2")


def test_leaf_is_the_python_reference_of_event_and_subjects(sealed: Workspace) -> None:
    """A third party rebuilds the leaf from the event row and its subject rows (docs/ledger.md)."""
    cur = sealed.con.execute("SELECT * FROM access_events ORDER BY event_id")
    names = [d[0] for d in cur.description or []]
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        pairs = sealed.con.execute(
            "SELECT owner_id, subject_id FROM access_subjects WHERE event_id = ?", [row["event_id"]]
        ).fetchall()
        data = framed_row("access", {**row, "~subjects": subjects_value(pairs)})
        stored = prove(sealed, row["event_id"])["leaf_hash"]
        assert stored == leaf_hash(data).hex()
        assert (b"~subjects=" in data) == bool(SUBJECTS[row["event_id"]])


def test_deleting_a_subject_row_is_caught_at_its_event(sealed: Workspace) -> None:
    sealed.con.execute("DELETE FROM access_subjects WHERE event_id = 6 AND subject_id = '住民-42'")
    r = verify(sealed)
    assert not r["ok"] and r["first_bad"] == 6
    assert [(b["leaf_index"], b["problem"]) for b in r["bad_leaves"]] == [(6, "row changed")]
    assert "access_subjects" in r["bad_leaves"][0]["reason_en"]


def test_deleting_one_of_two_identical_rows_is_caught(sealed: Workspace) -> None:
    sealed.con.execute(
        "DELETE FROM access_subjects WHERE rowid = (SELECT min(rowid) FROM access_subjects"
        " WHERE event_id = 4 AND subject_id = 'T1')"
    )
    assert _bad(sealed) == [(4, "row changed")]


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE access_subjects SET subject_id = 'R-999' WHERE event_id = 2",
        "UPDATE access_subjects SET owner_id = 'pref-osaka' WHERE event_id = 2",
        "UPDATE access_subjects SET owner_id = NULL WHERE event_id = 2",
        "UPDATE access_subjects SET event_id = 5 WHERE event_id = 2",  # moved to an event with none
    ],
)
def test_editing_a_subject_row_is_caught(sealed: Workspace, edit: str) -> None:
    sealed.con.execute(edit)
    bad = _bad(sealed)
    assert bad[0] == (2, "row changed")
    assert {i for i, _ in bad} <= {2, 5}
    assert verify(sealed)["first_bad"] == 2


def test_giving_a_sealed_event_another_subject_is_caught(sealed: Workspace) -> None:
    sealed.con.execute("INSERT INTO access_subjects VALUES (5, 'city-suginami', 'R-777')")
    assert _bad(sealed) == [(5, "row changed")]
    sealed.con.execute("DELETE FROM access_subjects WHERE event_id = 5")
    assert verify(sealed)["ok"]  # back to no subjects: the event is as sealed
    sealed.con.execute("INSERT INTO access_subjects VALUES (0, 'city-suginami', 'R-778')")
    assert _bad(sealed) == [(0, "row changed")]


def test_storage_order_of_subject_rows_does_not_matter(sealed: Workspace) -> None:
    rows = sealed.con.execute("SELECT * FROM access_subjects ORDER BY subject_id DESC").fetchall()
    sealed.con.execute("DELETE FROM access_subjects")
    sealed.con.executemany("INSERT INTO access_subjects VALUES (?, ?, ?)", rows)
    assert verify(sealed)["ok"]


def test_session_collation_does_not_change_the_leaves(ws: Workspace) -> None:
    add_event(ws, 0, [("o", "b"), ("o", "B"), ("o", "a"), ("O", "a")])
    seal_pending(ws)
    assert verify(ws)["ok"]
    ws.con.execute("SET default_collation = 'nocase'")
    assert verify(ws)["ok"]


def test_subject_rows_of_no_event_are_counted_not_sealed(sealed: Workspace) -> None:
    sealed.con.execute("INSERT INTO access_subjects VALUES (3, 'city-suginami', 'R-1'), (99, NULL, 'R-2')")
    r = verify(sealed)
    assert r["ok"] and r["orphan_subjects"] == 2  # 3 is an endpoint event, 99 no event at all


def test_ingest_path_and_seal_pending_give_the_same_leaves(tmp_path: Path) -> None:
    roots = []
    for how in ("pending", "range"):
        with init_workspace(tmp_path / how) as w:
            fill(w)
            if how == "range":
                ledger_store.ensure(w)
                w.con.begin()
                for first, last, kind in ((0, 2, "access"), (3, 3, "endpoint"), (4, 6, "access"),
                                          (7, 7, "endpoint"), (8, 8, "access")):
                    seal_range(w, kind, first, last)
                r = seal_pending(w, in_transaction=True)
                w.con.commit()
            else:
                r = seal_pending(w)
            assert r["tree_size"] == 9 and verify(w)["ok"]
            roots.append(r["root"])
    assert roots[0] == roots[1]


def test_ingested_subjects_are_sealed_by_every_ingest_path(ws: Workspace, tmp_path: Path) -> None:
    """JSONL (block path, seal_range) and OCSF (record path, seal at commit) both write an event's
    subjects in the transaction that seals it."""
    jsonl = tmp_path / "app.jsonl"
    jsonl.write_text("\n".join(json.dumps({
        "time": f"2024-03-04T10:15:0{i}+09:00", "actor": "op1", "action": "view", "resource": "cartax/taxpayer",
        "owner": "pref-osaka", "subjects": [f"T{i}", f"T{i + 10}"], "rows": 2, "system": "app",
    }) for i in range(3)) + "\n", encoding="utf-8")
    ms = int(datetime(2024, 3, 4, 1, 0, tzinfo=UTC).timestamp() * 1000)
    ocsf = tmp_path / "x.ocsf.jsonl"
    ocsf.write_text(json.dumps({
        "class_uid": 6005, "activity_id": 1, "time": ms, "actor": {"user": {"name": "op1"}},
        "database": {"name": "cartax"}, "table": {"name": "taxpayer"}, "status_id": 1,
        "unmapped": {"owner": "pref-osaka", "subjects": ["T7", "T8"], "rows": 2},
    }) + "\n", encoding="utf-8")
    from kansa.ingest import ingest_access_file

    assert ingest_access_file(ws, jsonl)["events"] == 3
    assert ingest_access_file(ws, ocsf)["source"] == "ocsf"
    r = verify(ws)
    assert r["ok"] and r["tree_size"] == 4 and r["pending"] == 0
    assert [prove(ws, i)["encoding"] for i in range(4)] == ["frame-v2s"] * 4
    for event_id in (1, 3):  # one from each path
        ws.con.execute("DELETE FROM access_subjects WHERE event_id = ? AND subject_id IN ('T11', 'T8')",
                       [event_id])
        assert verify(ws)["first_bad"] == 1


# ---- workspaces sealed before subjects were covered -----------------------------------------


def _seal_old_form(ws: Workspace) -> None:
    """The ledger as a kansa without frame-v2s left it: schema version 2, no frame-v2s marker,
    every event leaf frame-v2 without subjects, one signed head."""
    con = ws.con
    leaves: list[tuple[str, int, bytes]] = []
    for kind, table in ledger_store.EVENT_TABLES.items():
        cur = con.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description or []]
        for values in cur.fetchall():
            row = dict(zip(names, values, strict=True))
            leaves.append((kind, row["event_id"], leaf_hash(framed_row(kind, row))))
    leaves.sort(key=lambda x: x[1])
    con.executemany(
        "INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?)",
        [(i, k, ref, h.hex(), datetime.now(UTC)) for i, (k, ref, h) in enumerate(leaves)],
    )
    key = signing_key(ws)
    top = root([h for _, _, h in leaves]).hex()
    con.execute(
        "INSERT INTO ledger_heads VALUES (?, ?, ?, ?, ?)",
        [len(leaves), top, 1_700_000_000_000, key_id(key.public_key()),
         sign_head(key, len(leaves), top, 1_700_000_000_000)],
    )


@pytest.fixture
def old_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root_dir = tmp_path / "old"
    with init_workspace(root_dir) as w:
        with monkeypatch.context() as m:
            m.setattr(ledger_store, "LEDGER_MIGRATIONS", ledger_store.LEDGER_MIGRATIONS[:2])
            ledger_store.ensure(w)
        assert w.con.execute("SELECT version FROM schema_versions WHERE component = 'ledger'").fetchall() == [(2,)]
        fill(w, range(6))
        _seal_old_form(w)
    return root_dir


def test_old_leaves_keep_verifying_and_new_ones_cover_subjects(old_workspace: Path) -> None:
    with open_workspace(old_workspace) as w:
        r = verify(w)  # opening migrates: frame-v2s starts after the 6 old leaves
        assert r["ok"] and r["subjects_sealed_from"] == 6
        assert w.con.execute("SELECT encoding, from_leaf FROM ledger_encodings ORDER BY 1").fetchall() == [
            ("frame-v2", 0), ("frame-v2s", 6)]
        assert prove(w, 4)["encoding"] == "frame-v2"
        fill(w, range(6, 9))
        assert seal_pending(w)["tree_size"] == 9
        assert verify(w)["ok"]
        assert [prove(w, i)["encoding"] for i in (6, 8)] == ["frame-v2s"] * 2
        w.con.execute("DELETE FROM access_subjects WHERE event_id = 8")
        assert _bad(w) == [(8, "row changed")]
        w.con.execute("INSERT INTO access_subjects VALUES (8, 'city-suginami', 'R-010')")
        assert verify(w)["ok"]
        # the limit docs/ledger.md states: subjects of leaves sealed before the change are not covered
        w.con.execute("DELETE FROM access_subjects WHERE event_id = 0")
        assert verify(w)["ok"]
        # ... while their event rows still are
        w.con.execute("UPDATE access_events SET account = 'x' WHERE event_id = 0")
        assert verify(w)["first_bad"] == 0


def test_hand_edited_hex_hash_survives_the_move_to_raw_bytes(old_workspace: Path) -> None:
    """Opening a workspace whose leaf hashes are hex converts them to their bytes; a stored value
    that is not kansa's hex (edited by hand) does not stop the upgrade and is reported at its leaf."""
    with duckdb.connect(str(old_workspace / "kansa.duckdb")) as con:
        con.execute("UPDATE ledger_leaves SET leaf_hash = 'edited by hand' WHERE leaf_index = 2")
    with open_workspace(old_workspace) as w:
        assert _bad(w) == [(2, "row changed")]  # the ledger's tables are upgraded on first use
        assert w.con.execute("SELECT DISTINCT typeof(leaf_hash) FROM ledger_leaves").fetchall() == [("BLOB",)]
        w.con.execute("UPDATE ledger_leaves SET leaf_hash = ? WHERE leaf_index = 2",
                      [next(now for i, _, _, _, now in ledger_store.current_leaves(w.con) if i == 2)])
        assert verify(w)["ok"]


def test_fresh_ledger_covers_subjects_from_leaf_zero(ws: Workspace) -> None:
    ledger_store.ensure(ws)
    assert ws.con.execute("SELECT encoding, from_leaf FROM ledger_encodings ORDER BY 1").fetchall() == [
        ("frame-v2", 0), ("frame-v2s", 0)]


def test_moving_the_marker_cannot_hide_an_edit(sealed: Workspace) -> None:
    """The markers are not trusted: pushing frame-v2s past an edited event only makes verify
    rebuild its leaf without subjects, which is not what was sealed either."""
    sealed.con.execute("DELETE FROM access_subjects WHERE event_id = 0")
    sealed.con.execute("UPDATE ledger_encodings SET from_leaf = 100 WHERE encoding = 'frame-v2s'")
    bad = _bad(sealed)
    assert bad[0] == (0, "row changed") and {i for i, _ in bad} == {0, 2, 4, 6, 8}
    with pytest.raises(KansaError, match="ledger_encodings"):
        seal_pending(sealed)
    sealed.con.execute("DELETE FROM ledger_encodings WHERE encoding = 'frame-v2s'")
    assert {i for i, _ in _bad(sealed)} == {0, 2, 4, 6, 8}


# ---- the SQL form is the Python reference, byte for byte -------------------------------------

texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=8)


@settings(deadline=None, max_examples=60)  # a DuckDB connection per example: slow, not wrong
@given(st.lists(st.tuples(st.integers(0, 3), st.one_of(st.none(), texts), texts), max_size=12))
def test_engine_subject_items_equal_python_reference(rows: list[tuple[int, str | None, str]]) -> None:
    con = duckdb.connect()
    con.execute("SET default_collation = 'nocase'")  # must not change the order
    con.execute("CREATE TABLE access_subjects (event_id BIGINT, owner_id VARCHAR, subject_id VARCHAR)")
    if rows:
        con.executemany("INSERT INTO access_subjects VALUES (?, ?, ?)", [list(r) for r in rows])
    got = con.execute(
        f"SELECT event_id, {leaf_hash_sql('access', [], 'e', (('~subjects', 'VARCHAR', 'sj.items'),))}"
        f" FROM ({subjects_sql()}) sj"
    ).fetchall()
    want = {e: subjects_value([(o, s) for e2, o, s in rows if e2 == e]) for e, _, _ in rows}
    assert {e for e, _ in got} == set(want)
    for e, h in got:
        assert h == hashlib.sha256(b"\x00" + framed_row("access", {"~subjects": want[e]})).hexdigest()


def test_subject_items_are_unambiguous() -> None:
    assert subject_item("a|b", "c") != subject_item("a", "b|c")
    assert subject_item(None, "x") != subject_item("~", "x")
    assert subject_item("", "x") != subject_item(None, "x")
    assert subjects_value([("a", "b"), ("a", "c")]) != subjects_value([("a", "b|1:a|c")])
    assert subjects_value([]) is None
