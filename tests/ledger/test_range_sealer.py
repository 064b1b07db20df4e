"""RangeSealer: ingest's block-by-block sealing with the hashing in a worker thread.

Its leaves must be exactly those ``seal_pending`` makes of the same rows (verify recomputes them
from the stored rows), in id order, whatever the block sizes and however many blocks wait.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kansa.ledger import RangeSealer, seal_pending, verify
from kansa.ledger import store as ledger_store
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace, init_workspace

T0 = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)


def fill(ws: Workspace, n: int, start: int = 0) -> None:
    """Access events start..n-1, some with subjects (some owner-less), some with NULL columns."""
    ws.con.execute(
        "INSERT INTO access_events (event_id, ts, actor_id, account, action, resource, columns, owner_id,"
        " source_system, batch_id, source_line, row_count, statement)"
        " SELECT i, ?::TIMESTAMPTZ + to_minutes(i), CASE WHEN i % 3 = 0 THEN NULL ELSE 'a-' || (i % 5) END,"
        " 'op' || (i % 7), 'read', 'residents', CASE WHEN i % 4 = 0 THEN NULL ELSE ['氏名', '住所'] END,"
        " 'city-suginami', 'app', 1, i + 1, CASE WHEN i % 2 = 0 THEN i END,"
        " CASE WHEN i % 5 = 0 THEN 'SELECT * FROM r WHERE id = ' || i END"
        " FROM range(?, ?) t(i)",
        [T0, start, n],
    )
    ws.con.execute(
        "INSERT INTO access_subjects SELECT i, CASE WHEN i % 11 = 0 THEN NULL ELSE 'city-suginami' END,"
        " 'R-' || (i * 7 % 13) FROM range(?, ?) t(i) WHERE i % 3 <> 1",
        [start, n],
    )
    ws.con.execute(
        "INSERT INTO access_subjects SELECT i, 'city-suginami', '住民-' || i FROM range(?, ?) t(i) WHERE i % 4 = 2",
        [start, n],
    )


@pytest.mark.parametrize(("blocks", "ahead"), [([(0, 99)], 1), ([(0, 9), (10, 10), (11, 60), (61, 99)], 1),
                                               ([(0, 9), (10, 10), (11, 60), (61, 99)], 3)])
def test_sealer_gives_the_leaves_seal_pending_gives(tmp_path: Path, blocks: list[tuple[int, int]],
                                                   ahead: int) -> None:
    with init_workspace(tmp_path / "pending") as w:
        fill(w, 100)
        want = seal_pending(w)
    with init_workspace(tmp_path / "sealer") as w:
        fill(w, 100)
        ledger_store.ensure(w)
        w.con.begin()
        with RangeSealer(w, "access", ahead=ahead) as sealer:
            for first, last in blocks:
                sealer.submit(first, last)
            assert sealer.flush() == 100
        got = seal_pending(w, in_transaction=True)
        w.con.commit()
        assert verify(w)["ok"]
    assert got["tree_size"] == want["tree_size"] == 100
    assert got["root"] == want["root"]


def test_sealer_continues_a_ledger_over_several_transactions(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "pending") as w:
        fill(w, 50)
        want = seal_pending(w)
    with init_workspace(tmp_path / "sealer") as w:
        ledger_store.ensure(w)
        with RangeSealer(w, "access") as sealer:
            for first, last in ((0, 19), (20, 49)):
                w.con.begin()
                fill(w, last + 1, first)
                sealer.submit(first, last)
                sealer.flush()
                seal_pending(w, in_transaction=True)
                w.con.commit()
        assert verify(w)["ok"]
        assert ledger_store.one(w.con, "SELECT max(tree_size) FROM ledger_heads") == (50,)
        assert ledger_store.one(w.con, "SELECT root FROM ledger_heads WHERE tree_size = 50") == (want["root"],)


def test_sealer_refuses_a_range_with_a_missing_event(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "w") as w:
        fill(w, 20)
        w.con.execute("DELETE FROM access_events WHERE event_id = 12")
        ledger_store.ensure(w)
        w.con.begin()
        with RangeSealer(w, "access") as sealer, pytest.raises(KansaError, match="not all of them exist"):
            sealer.submit(0, 9)
            sealer.submit(10, 19)
            sealer.flush()
        w.con.rollback()
        assert ledger_store.one(w.con, "SELECT count(*) FROM ledger_leaves") == (0,)


def test_sealer_hashes_the_rows_as_they_were_handed_over(tmp_path: Path) -> None:
    """An edit after submit is not sealed: verify names the edited event (the rows must be final)."""
    with init_workspace(tmp_path / "w") as w:
        fill(w, 10)
        ledger_store.ensure(w)
        w.con.begin()
        with RangeSealer(w, "access") as sealer:
            sealer.submit(0, 9)
            w.con.execute("UPDATE access_events SET account = 'someone-else' WHERE event_id = 4")
            sealer.flush()
        seal_pending(w, in_transaction=True)
        w.con.commit()
        report = verify(w)
        assert not report["ok"]
        assert "4" in str(report)
