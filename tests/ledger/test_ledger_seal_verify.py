"""Sealing events into the workspace ledger and catching an admin who edits or deletes rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kansa.ledger import consistency, export_heads, head, journal, prove, seal_pending, verify
from kansa.ledger.merkle import verify_inclusion
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace, open_workspace

T0 = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)


def add_access(ws: Workspace, event_id: int, **over: object) -> None:
    row: dict[str, object] = {
        "event_id": event_id,
        "ts": T0 + timedelta(minutes=event_id),
        "actor_id": "a-山田",
        "account": "yamada",
        "action": "read",
        "resource": "residents",
        "columns": ["氏名", "住所"],
        "owner_id": "city-suginami",
        "source_system": "app",
        "batch_id": 1,
        "source_file": "app.jsonl",
        "source_line": event_id + 1,
    }
    row.update(over)
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    ws.con.execute(f"INSERT INTO access_events ({cols}) VALUES ({marks})", list(row.values()))


def add_endpoint(ws: Workspace, event_id: int) -> None:
    ws.con.execute(
        "INSERT INTO endpoint_events (event_id, ts, host, kind, path, bytes, to_removable, source_system, batch_id) "
        "VALUES (?, ?, 'pc-07', 'usb_write', 'list.csv', 1024, TRUE, 'endpoint', 2)",
        [event_id, T0 + timedelta(minutes=event_id)],
    )


@pytest.fixture
def sealed(ws: Workspace) -> Workspace:
    for i in range(12):
        if i % 4 == 3:
            add_endpoint(ws, i)
        else:
            add_access(ws, i)
    seal_pending(ws)
    return ws


def test_seal_is_ordered_by_event_id_and_idempotent(ws: Workspace) -> None:
    add_endpoint(ws, 1)
    add_access(ws, 0)
    add_access(ws, 2)
    first = seal_pending(ws)
    assert first["sealed"] == 3 and first["tree_size"] == 3
    leaves = ws.con.execute("SELECT leaf_index, kind, ref_id FROM ledger_leaves ORDER BY 1").fetchall()
    assert leaves == [(0, "access", 0), (1, "endpoint", 1), (2, "access", 2)]
    again = seal_pending(ws)
    assert again == {"sealed": 0, "tree_size": 3, "root": first["root"]}
    add_access(ws, 3)
    third = seal_pending(ws)
    assert third["sealed"] == 1 and third["tree_size"] == 4 and third["root"] != first["root"]
    assert verify(ws)["ok"]


def test_empty_ledger_verifies(ws: Workspace) -> None:
    r = verify(ws)
    assert r["ok"] and r["tree_size"] == 0 and r["first_bad"] is None
    assert head(ws)["root"].startswith("e3b0c442")


def test_clean_ledger_verifies_and_proves_every_leaf(sealed: Workspace) -> None:
    result = verify(sealed)
    assert result == {**result, "ok": True, "tree_size": 12, "first_bad": None, "pending": 0}
    h = head(sealed)
    for i in range(12):
        p = prove(sealed, i)
        assert p["ok"] and p["tree_size"] == 12 and p["root"] == h["root"]
        assert verify_inclusion(
            i,
            12,
            bytes.fromhex(p["leaf_hash"]),
            [bytes.fromhex(x) for x in p["path"]],
            bytes.fromhex(h["root"]),
        )


def test_updated_row_is_caught_at_its_leaf(sealed: Workspace) -> None:
    sealed.con.execute("UPDATE access_events SET actor_id = 'a-someone-else' WHERE event_id = 5")
    r = verify(sealed)
    assert not r["ok"] and r["first_bad"] == 5
    assert r["bad_leaves"][0]["problem"] == "row changed"


def test_clearing_a_value_is_caught(sealed: Workspace) -> None:
    sealed.con.execute("UPDATE access_events SET row_count = 9999 WHERE event_id = 9")
    r = verify(sealed)
    assert r["first_bad"] == 9
    sealed.con.execute("UPDATE access_events SET row_count = NULL WHERE event_id = 9")
    assert verify(sealed)["ok"]  # restored exactly: the row is what was sealed
    sealed.con.execute("UPDATE access_events SET columns = NULL WHERE event_id = 2")
    assert verify(sealed)["first_bad"] == 2


def test_deleted_rows_are_caught_at_the_first(sealed: Workspace) -> None:
    sealed.con.execute("DELETE FROM endpoint_events WHERE event_id = 7")
    sealed.con.execute("DELETE FROM access_events WHERE event_id = 10")
    r = verify(sealed)
    assert not r["ok"] and r["first_bad"] == 7
    assert {b["leaf_index"] for b in r["bad_leaves"]} == {7, 10}


def test_rewriting_leaf_hashes_too_is_caught_by_the_signed_heads(ws: Workspace) -> None:
    for i in range(4):
        add_access(ws, i)
    seal_pending(ws)
    for i in range(4, 8):
        add_access(ws, i)
    seal_pending(ws)
    # the admin edits event 6 and recomputes its stored leaf hash so the leaf check passes
    ws.con.execute("UPDATE access_events SET resource = 'other' WHERE event_id = 6")
    from kansa.ledger.store import current_leaves

    new_hash = next(now for idx, _, _, _, now in current_leaves(ws.con) if idx == 6)
    assert new_hash is not None
    ws.con.execute("UPDATE ledger_leaves SET leaf_hash = ? WHERE leaf_index = 6", [new_hash])
    r = verify(ws)
    assert not r["ok"]
    assert [b["tree_size"] for b in r["bad_heads"]] == [8]
    assert r["first_bad"] == 4  # the last head that still holds covers leaves 0..3


def test_wrong_key_fails_signature_check(sealed: Workspace) -> None:
    r = verify(sealed, public_key=Ed25519PrivateKey.generate().public_key())
    assert not r["ok"] and all(b["problem"] == "bad signature" for b in r["bad_heads"])


def test_tampered_signature_is_caught(sealed: Workspace) -> None:
    sig = head(sealed)["signature"]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    sealed.con.execute("UPDATE ledger_heads SET signature = ?", [flipped])
    assert not verify(sealed)["ok"]


def test_verification_does_not_depend_on_session_time_zone(sealed: Workspace, tmp_path: Path) -> None:
    sealed.con.execute("SET TimeZone = 'America/New_York'")
    assert verify(sealed)["ok"]


def test_journal_entries_are_sealed_and_tamper_evident(sealed: Workspace) -> None:
    idx = journal(
        sealed, "triage", {"finding": 3, "decision": "業務上の必要あり", "by": "監査担当"}, "auditor-1"
    )
    assert idx == 12
    assert prove(sealed, idx)["kind"] == "journal"
    assert verify(sealed)["ok"]
    sealed.con.execute('UPDATE ledger_journal SET payload = \'{"finding":3,"decision":"dismissed"}\'')
    assert verify(sealed)["first_bad"] == 12


def test_consistency_between_heads(ws: Workspace) -> None:
    sizes: list[int] = []
    for batch in (3, 5, 1, 7):
        start = sizes[-1] if sizes else 0
        for i in range(start, start + batch):
            add_access(ws, i)
        sizes.append(seal_pending(ws)["tree_size"])
    for old in sizes:
        for new in sizes:
            if old <= new:
                assert consistency(ws, old, new)["ok"]
    with pytest.raises(KansaError):
        consistency(ws, 2)


def test_exported_heads_catch_a_rebuilt_ledger(sealed: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "heads.json"
    assert export_heads(sealed, out)["heads"] == 1
    assert verify(sealed, trusted_heads=out)["ok"]
    # the admin changes a row and rebuilds the whole ledger with the workspace key
    sealed.con.execute("UPDATE access_events SET account = 'nobody' WHERE event_id = 0")
    sealed.con.execute("DELETE FROM ledger_leaves")
    sealed.con.execute("DELETE FROM ledger_heads")
    seal_pending(sealed)
    assert verify(sealed)["ok"]  # consistent with itself...
    r = verify(sealed, trusted_heads=out)
    assert not r["ok"] and r["bad_heads"][0]["origin"] == "export"
    doc = json.loads(out.read_text())
    assert len(bytes.fromhex(doc["public_key"])) == 32


def test_ledger_survives_reopen(sealed: Workspace) -> None:
    root = sealed.root
    sealed.close()
    with open_workspace(root) as again:
        assert verify(again)["ok"]


def test_event_slipped_in_below_the_sealed_ids_is_reported(sealed: Workspace) -> None:
    sealed.con.execute("DELETE FROM access_events WHERE event_id = 4")
    assert verify(sealed)["first_bad"] == 4
    add_access(sealed, 4, actor_id="a-framed")  # re-inserted under the same id: still a changed row
    assert verify(sealed)["first_bad"] == 4
    add_access(sealed, 100)
    add_access(sealed, -1)
    r = verify(sealed)
    assert r["pending"] == 2 and r["pending_backdated"] == 1


def test_removed_ledger_rows_are_caught(sealed: Workspace) -> None:
    sealed.con.execute("DELETE FROM ledger_leaves WHERE leaf_index = 6")
    r = verify(sealed)
    assert not r["ok"] and r["first_bad"] == 6
    assert r["bad_leaves"][0]["problem"] == "leaf missing"
    assert "ledger_leaves" in r["bad_leaves"][0]["reason_en"] and r["bad_leaves"][0]["reason_ja"]
    with pytest.raises(KansaError, match="not contiguous"):
        seal_pending(sealed)


def test_truncated_ledger_tail_is_caught_by_the_head(sealed: Workspace) -> None:
    sealed.con.execute("DELETE FROM ledger_leaves WHERE leaf_index >= 9")
    r = verify(sealed)
    assert not r["ok"] and r["bad_heads"][0]["problem"] == "ledger shorter than head"
    assert r["first_bad"] == 0  # only the one head existed: nothing after size 0 is vouched for


def test_failed_seal_leaves_the_ledger_unchanged(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from kansa.ledger import signing

    add_access(ws, 0)
    seal_pending(ws)
    add_access(ws, 1)

    def boom(*_: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(signing, "sign_head", boom)
    with pytest.raises(RuntimeError):
        seal_pending(ws)
    assert ws.con.execute("SELECT count(*) FROM ledger_leaves").fetchall() == [(1,)]
    monkeypatch.undo()
    assert seal_pending(ws)["tree_size"] == 2 and verify(ws)["ok"]


def test_sealing_in_small_chunks_gives_the_same_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kansa.ledger import seal as seal_module
    from kansa.model.workspace import init_workspace

    roots = []
    for chunk in (3, 1000):
        monkeypatch.setattr(seal_module, "CHUNK", chunk)
        with init_workspace(tmp_path / f"w{chunk}") as w:
            for i in range(10):
                add_access(w, i)
            r = seal_pending(w)
            assert r["sealed"] == 10 and verify(w)["ok"]
            roots.append(r["root"])
    assert roots[0] == roots[1]


def test_leaves_do_not_depend_on_what_is_attached(ws: Workspace, tmp_path: Path) -> None:
    """A same-named event table in an attached database adds nothing to the frames: sealing with one
    attached gives the leaves that verify, with nothing attached, recomputes."""
    for i in range(4):
        add_access(ws, i)
    ws.con.execute("ATTACH ':memory:' AS other")
    ws.con.execute("CREATE TABLE other.access_events (event_id BIGINT, note VARCHAR)")
    assert seal_pending(ws)["sealed"] == 4
    ws.con.execute("DETACH other")
    assert verify(ws)["ok"]


def test_a_workspace_killed_right_after_the_ledger_tables_were_made_reopens(tmp_path: Path) -> None:
    """The ledger's migrations reach the database through its write-ahead log until a checkpoint;
    a process killed before one must leave a log DuckDB can replay on its own (an ALTER ... USING
    an expression could not be, without downloading an extension)."""
    import subprocess
    import sys

    root = tmp_path / "w"
    child = (
        "import os, sys; from pathlib import Path; from kansa.model.workspace import init_workspace;"
        " from kansa.ledger import ensure_ledger; ws = init_workspace(Path(sys.argv[1])); ensure_ledger(ws);"
        " os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", child, str(root)], check=True)
    assert (root / "kansa.duckdb.wal").exists()  # nothing was checkpointed: the reopen replays it
    with open_workspace(root) as ws:
        add_access(ws, 0)
        assert seal_pending(ws)["tree_size"] == 1 and verify(ws)["ok"]
