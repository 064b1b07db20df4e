"""Every detector, run one day at a time, stores exactly what one full run stores.

Rules keep per-day aggregates and first touches in workspace tables so that a daily run reads one
day of events (kansa.audit.rules.state). That is only right if the stored findings (ids, scores,
severities, reasons, figures, evidence) equal those of a run over the whole history, whatever the
day the incremental runs started from. Two worlds: one built here so that every detector fires,
and a simulated scenario per kind of insider.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_world import START, Builder, at, normal_days, registry

from kansa.audit import run_audit
from kansa.ingest import ingest_world
from kansa.model.workspace import Workspace, init_workspace, open_workspace
from kansa.simulate import simulate

LAST = 40


def _snapshot(ws: Workspace) -> dict[str, tuple[Any, ...]]:
    evidence = {
        (str(f), str(k)): list(ids)
        for f, k, ids in ws.con.execute(
            "SELECT finding_id, kind, list(event_id ORDER BY event_id) FROM finding_evidence GROUP BY ALL"
        ).fetchall()
    }
    out: dict[str, tuple[Any, ...]] = {}
    for fid, rule, actor, day, score, sev, ja, en, detail, key in ws.con.execute(
        "SELECT finding_id, rule, actor_id, day, score, severity, reason_ja, reason_en, detail, key FROM findings"
    ).fetchall():
        out[str(fid)] = (rule, actor, day, score, sev, ja, en, json.loads(detail), key,
                         evidence.get((str(fid), "access"), []), evidence.get((str(fid), "endpoint"), []))
    return out


def _every_detector_world(ws: Workspace) -> None:
    """Five operators on a call list and a maintainer alone in his role; each detector has a reason to fire."""
    registry(ws)
    con = ws.con
    con.execute("UPDATE actors SET valid_to = ? WHERE actor_id = 'op5'", [START + timedelta(days=25)])
    con.execute("INSERT INTO terminals VALUES ('PC-2', '10.0.0.2', 'op2', 'floor 2')")
    b = Builder(ws)
    normal_days(b, 0, LAST)
    for d in range(0, LAST + 1):
        for j in range(3):  # the maintainer's routine: the same three people
            b.access(at(d, 10 + j), "mnt1", "view", "pref-a", [f"M{j}"])
        if d >= 22:  # ... then a few never-seen people every day (slow_leak, own trend)
            b.access(at(d, 15), "mnt1", "view", "pref-a", [f"N{d}-{j}" for j in range(3)])
        if d >= 20:  # op3 reaches a new owner's data every day (slow_leak, owners; no_task)
            b.access(at(d, 13), "op3", "view", f"city-{d}", [f"X{d}"])
        if d >= 18:  # op2 opens people on no list, again and again (curiosity)
            for j in range(3):
                b.access(at(d, 16, j), "op2", "view", "pref-a", [f"Q{d}-{j}"])
    b.access(at(30, 10), "op1", "export", "pref-a", [], rows=40000)  # bulk_pull
    b.usb(at(30, 18), "u-op1")  # usb_after_download
    eid = b.access(at(28, 23), "op2", "export", "pref-a", [], rows=20)  # off_hours_terminal: odd hour, new machine
    con.execute("UPDATE access_events SET terminal = 'PC-99' WHERE event_id = ?", [eid])
    b.access(at(27, 22), "mnt1", "admin", None, [], resource="pgaudit.log",
             statement="ALTER SYSTEM SET pgaudit.log = 'none'")  # audit_off
    for k in range(8):  # a strange evening for op4 (behaviour)
        b.access(at(39, 21, k), "op4", "view", f"client-{k}", [f"Z{k}{j}" for j in range(5)], resource=f"app/c{k}")


def _day_by_day(ws: Workspace, first: date, last: date) -> None:
    run_audit(ws, until=first)
    day = first + timedelta(days=1)
    while day <= last:
        run_audit(ws, until=day)
        day += timedelta(days=1)


def test_day_by_day_equals_one_full_run_for_every_detector(tmp_path: Path) -> None:
    full = init_workspace(tmp_path / "full")
    _every_detector_world(full)
    full.close()
    shutil.copytree(tmp_path / "full", tmp_path / "daily")
    full = open_workspace(tmp_path / "full")
    daily = open_workspace(tmp_path / "daily")
    try:
        run_audit(full)
        expected = _snapshot(full)
        fired = {v[0] for v in expected.values()}
        assert fired >= {"bulk_pull", "no_task", "curiosity", "usb_after_download", "audit_off", "slow_leak",
                         "after_end", "off_hours_terminal", "behaviour"}, fired
        _day_by_day(daily, at(12, 0).date(), at(LAST, 0).date())
        assert _snapshot(daily) == expected
        # recomputing from a day in the middle (late logs) changes nothing either
        run_audit(daily, since=at(26, 0).date())
        assert _snapshot(daily) == expected
    finally:
        full.close()
        daily.close()


@pytest.mark.parametrize(("scenario", "seed"), [("ntt-west", 3), ("suginami", 11), ("reentrust", 1)])
def test_day_by_day_equals_one_full_run_on_a_simulated_world(tmp_path: Path, scenario: str, seed: int) -> None:
    simulate(scenario, seed, tmp_path / "world", days=30, scale=0.3)
    full = init_workspace(tmp_path / "full")
    ingest_world(full, tmp_path / "world")
    lo, hi = full.con.execute("SELECT min(CAST(ts AS DATE)), max(CAST(ts AS DATE)) FROM access_events").fetchone() \
        or (None, None)
    full.close()
    shutil.copytree(tmp_path / "full", tmp_path / "daily")
    full = open_workspace(tmp_path / "full")
    daily = open_workspace(tmp_path / "daily")
    try:
        run_audit(full)
        expected = _snapshot(full)
        assert expected
        _day_by_day(daily, lo + timedelta(days=15), hi)
        assert _snapshot(daily) == expected
    finally:
        full.close()
        daily.close()
