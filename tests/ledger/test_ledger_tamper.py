"""Each way of tampering issue 3 names — deleting, altering, reordering, inserting a single event
in the database — makes verify fail and name the first bad position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kansa.ledger import leaf_index_of, seal_pending, seal_range, verify
from kansa.model.workspace import Workspace

T0 = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)


def add(ws: Workspace, event_id: int, actor: str = "a-1") -> None:
    ws.con.execute(
        "INSERT INTO access_events (event_id, ts, actor_id, action, resource, source_system, batch_id, source_line)"
        " VALUES (?, ?, ?, 'read', 'residents', 'app', 1, ?)",
        [event_id, T0 + timedelta(minutes=event_id), actor, event_id],
    )


@pytest.fixture
def sealed(ws: Workspace) -> Workspace:
    """Events 0, 2, 4, ..., 18 (leaf i seals event 2i), sealed in two heads (5 and 10 leaves)."""
    for i in range(0, 10, 2):
        add(ws, i)
    seal_pending(ws)
    for i in range(10, 20, 2):
        add(ws, i)
    seal_pending(ws)
    assert verify(ws)["ok"]
    return ws


def _problems(r: dict[str, object]) -> list[tuple[int, str]]:
    return [(b["leaf_index"], b["problem"]) for b in r["bad_leaves"]]  # type: ignore[attr-defined]


def test_inserting_an_event_among_sealed_ones_names_its_position(sealed: Workspace) -> None:
    add(sealed, 7, actor="a-framed")  # between events 6 (leaf 3) and 8 (leaf 4)
    r = verify(sealed)
    assert not r["ok"] and r["first_bad"] == 4
    assert _problems(r) == [(4, "row inserted")] and r["bad_leaves"][0]["ref_id"] == 7
    assert r["bad_leaves"][0]["reason_ja"] and "slipped in" in r["bad_leaves"][0]["reason_en"]


def test_an_event_after_the_last_sealed_one_is_pending_not_tampering(sealed: Workspace) -> None:
    add(sealed, 25)
    r = verify(sealed)
    assert r["ok"] and r["pending"] == 1 and r["pending_backdated"] == 0


def test_an_inserted_event_sealed_afterwards_is_counted_as_sealed_late(sealed: Workspace) -> None:
    add(sealed, 7)
    seal_pending(sealed)  # the admin seals it: the ledger now says it came after event 18
    r = verify(sealed)
    assert r["ok"] and r["sealed_late"] == 1
    assert sealed.con.execute("SELECT leaf_index FROM ledger_leaves WHERE ref_id = 7").fetchall() == [(10,)]


def test_a_row_sealed_twice_is_counted_and_its_first_leaf_named(sealed: Workspace) -> None:
    assert verify(sealed)["sealed_twice"] == 0
    sealed.con.begin()
    seal_range(sealed, "access", 4, 4)  # event 4 (leaf 2) sealed again, as leaf 10, under a new head
    seal_pending(sealed, in_transaction=True)
    sealed.con.commit()
    r = verify(sealed)
    assert r["ok"] and r["tree_size"] == 11 and r["sealed_twice"] == 1
    assert leaf_index_of(sealed, "access", 4) == 2
    sealed.con.execute("UPDATE access_events SET actor_id = 'a-2' WHERE event_id = 4")
    r = verify(sealed)  # both leaves of the row now disagree with it
    assert not r["ok"] and _problems(r) == [(2, "row changed"), (10, "row changed")]


def test_swapping_two_events_contents_is_caught_at_the_first(sealed: Workspace) -> None:
    sealed.con.execute(
        "UPDATE access_events SET ts = CASE event_id WHEN 4 THEN ? ELSE ? END WHERE event_id IN (4, 12)",
        [T0 + timedelta(minutes=12), T0 + timedelta(minutes=4)],
    )
    r = verify(sealed)
    assert r["first_bad"] == 2 and _problems(r) == [(2, "row changed"), (6, "row changed")]


def test_swapping_two_events_ids_is_caught_at_the_first(sealed: Workspace) -> None:
    rows = {i: sealed.con.execute("SELECT * FROM access_events WHERE event_id = ?", [i]).fetchall()[0]
            for i in (4, 12)}
    sealed.con.execute("DELETE FROM access_events WHERE event_id IN (4, 12)")
    for new_id, old_id in ((4, 12), (12, 4)):
        marks = ", ".join("?" for _ in rows[old_id])
        sealed.con.execute(f"INSERT INTO access_events VALUES ({marks})", [new_id, *rows[old_id][1:]])
    r = verify(sealed)
    assert r["first_bad"] == 2 and _problems(r) == [(2, "row changed"), (6, "row changed")]


def test_reordering_leaves_in_the_ledger_is_caught_by_the_signed_heads(sealed: Workspace) -> None:
    # leaves 6 and 8 trade places: each still matches its own row, but the tree is another tree
    sealed.con.execute(
        "UPDATE ledger_leaves SET leaf_index = CASE leaf_index WHEN 6 THEN 8 ELSE 6 END WHERE leaf_index IN (6, 8)"
    )
    r = verify(sealed)
    assert not r["ok"] and r["bad_leaves"] == []
    assert [(h["tree_size"], h["problem"]) for h in r["bad_heads"]] == [(10, "root mismatch")]
    assert r["first_bad"] == 5  # the head of 5 leaves still holds: the change lies after it


def test_deleting_and_altering_one_event_name_its_leaf(sealed: Workspace) -> None:
    sealed.con.execute("UPDATE access_events SET resource = 'other' WHERE event_id = 14")
    assert verify(sealed)["first_bad"] == 7
    sealed.con.execute("DELETE FROM access_events WHERE event_id = 10")
    r = verify(sealed)
    assert r["first_bad"] == 5 and _problems(r) == [(5, "row deleted"), (7, "row changed")]


def test_a_copy_of_a_sealed_row_is_caught(sealed: Workspace) -> None:
    """The event tables carry no key (an ART index does not fit a big ingest's memory), so an admin
    can insert an exact copy of a sealed event; verify names it at that event's leaf."""
    con = sealed.con
    con.execute("CREATE TABLE access_copy AS SELECT * FROM access_events")  # the table as it is, without a key
    con.execute("DROP TABLE access_events")
    con.execute("ALTER TABLE access_copy RENAME TO access_events")
    assert verify(sealed)["ok"]
    leaf = leaf_index_of(sealed, "access", 6)
    con.execute("INSERT INTO access_events SELECT * FROM access_events WHERE event_id = 6")
    r = verify(sealed)
    assert not r["ok"] and r["first_bad"] == leaf
    assert [(b["leaf_index"], b["problem"]) for b in r["bad_leaves"]] == [(leaf, "row duplicated")]
    assert r["bad_leaves"][0]["reason_en"] and r["bad_leaves"][0]["reason_ja"]
