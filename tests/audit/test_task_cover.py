"""The task cover of a run is built once and shared; a rule reading further back builds its own."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

from audit_world import START, TZ, Builder, normal_days, registry

from kansa.audit.rules.common import shared_task_cover, task_cover
from kansa.model.workspace import init_workspace


def _days(cur: object) -> list[object]:
    return [r[0] for r in cur.execute("SELECT DISTINCT day FROM _kansa_cover ORDER BY day").fetchall()]  # type: ignore[attr-defined]


def test_rules_inside_a_run_share_one_cover_and_earlier_reads_get_their_own(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", timezone="Asia/Tokyo")
    registry(ws)
    normal_days(Builder(ws), 0, 4)
    cutoff = datetime.combine(START + timedelta(days=5), time(), tzinfo=TZ)
    run_from = datetime.combine(START + timedelta(days=3), time(), tzinfo=TZ)
    with shared_task_cover(ws.con, cutoff, run_from):
        with task_cover(ws.con, cutoff, run_from) as one, task_cover(ws.con, cutoff, run_from) as two:
            assert one is two  # the same cursor, so the same temp table: built once
            assert _days(one) == [START + timedelta(days=3), START + timedelta(days=4)]
        with task_cover(ws.con, cutoff, None) as own:  # a rebuild from the beginning needs every day
            assert own is not one
            assert _days(own) == [START + timedelta(days=d) for d in range(5)]
        with task_cover(ws.con, cutoff, run_from) as again:
            assert again is one  # a rule's exit does not drop the shared table
            assert _days(again)
    with task_cover(ws.con, cutoff, run_from) as outside:  # after the run: a cover of its own again
        assert _days(outside) == [START + timedelta(days=3), START + timedelta(days=4)]
    ws.close()
