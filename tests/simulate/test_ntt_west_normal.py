"""ntt-west's honest behaviour has the shape issue #2 asks for, so naive rules meet real noise:
closed offices on weekends and Japanese holidays, a late shift, month-end rushes, staff who join
and leave, a nightly backup that never stops, ticketed maintenance exports."""

from __future__ import annotations

import csv
import gzip
import io
import json
import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kansa.simulate import simulate
from kansa.simulate.timeline import office_closed

DAYS = 62   # January and February 2024: 年末年始, 成人の日, 建国記念の日 and two month ends


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("nw") / "world"
    simulate("ntt-west", 5, out, days=DAYS, scale=0.5)
    return out


def _app(world: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for p in sorted((world / "logs" / "app").glob("*.jsonl.gz"))
            for line in gzip.decompress(p.read_bytes()).decode().splitlines()]


def _db(world: Path) -> list[list[str]]:
    return [r for p in sorted((world / "logs" / "db").glob("*.csv.gz"))
            for r in csv.reader(io.StringIO(gzip.decompress(p.read_bytes()).decode()))]


def _actors(world: Path) -> dict[str, dict[str, str]]:
    with (world / "registry" / "actors.csv").open(encoding="utf-8") as fh:
        return {r["actor_id"]: r for r in csv.DictReader(fh)}


def _staff_events(world: Path) -> list[tuple[dict[str, Any], datetime]]:
    roles = {a: r["role"] for a, r in _actors(world).items()}
    return [(e, datetime.fromisoformat(e["time"])) for e in _app(world) if roles.get(e["actor"]) in ("operator", "supervisor")]


def test_offices_are_closed_on_weekends_holidays_and_new_year_but_backup_runs(world: Path) -> None:
    staff = _staff_events(world)
    assert staff
    assert not [e for e, t in staff if office_closed(t.date())]
    assert office_closed(date(2024, 1, 8)) and office_closed(date(2024, 2, 12))   # 成人の日, 振替休日
    backup_days = {r[0][:10] for r in _db(world) if r[1] == "backup" and "COPY" in r[13]}
    closed = [date(2024, 1, 1) + timedelta(k) for k in range(DAYS) if office_closed(date(2024, 1, 1) + timedelta(k))]
    assert {d.isoformat() for d in closed} <= backup_days


def test_a_late_shift_works_into_the_evening_and_nobody_calls_at_night(world: Path) -> None:
    hours = [t.hour + t.minute / 60 for e, t in _staff_events(world) if e["action"] in ("view", "update", "search")]
    assert sum(1 for h in hours if h >= 18.5) > 0.05 * len(hours)   # a fifth of operators work 13:00–22:00
    assert min(hours) >= 9.0 and max(hours) < 23.0


def test_month_end_brings_more_calls_per_operator(world: Path) -> None:
    """The last three working days of a month carry 30% more calls (per operator who worked)."""
    per_op_day = Counter((e["actor"], t.date()) for e, t in _staff_events(world) if e["action"] == "view")
    worked = sorted({d for _, d in per_op_day})
    rush = {d for d in worked if sum(1 for x in worked if x > d and x.month == d.month) < 3
            and d.month in (1, 2) and d.year == 2024}
    at_rush = [n for (_, d), n in per_op_day.items() if d in rush]
    other = [n for (_, d), n in per_op_day.items() if d not in rush]
    assert len(at_rush) > 50 and len(other) > 300
    assert statistics.mean(at_rush) > 1.15 * statistics.mean(other)


def test_staff_join_and_leave_and_only_work_while_employed(world: Path) -> None:
    actors = _actors(world)
    start, end = date(2024, 1, 1), date(2024, 1, 1) + timedelta(DAYS - 1)
    ops = {a: r for a, r in actors.items() if r["role"] == "operator"}
    joined = [a for a, r in ops.items() if start < date.fromisoformat(r["valid_from"]) <= end]
    left = [a for a, r in ops.items() if r["valid_to"] and date.fromisoformat(r["valid_to"]) <= end]
    assert joined and left
    for e, t in _staff_events(world):
        r = actors[e["actor"]]
        assert date.fromisoformat(r["valid_from"]) <= t.date(), e
        assert not r["valid_to"] or t.date() <= date.fromisoformat(r["valid_to"]), e


def test_honest_maintainers_export_under_tickets(world: Path) -> None:
    with (world / "registry" / "assignments.csv").open(encoding="utf-8") as fh:
        tickets = {(r["actor_id"], r["valid_from"], r["owner_id"]) for r in csv.DictReader(fh) if r["kind"] == "ticket"}
    returns = [r for r in _db(world) if r[1] == "maint_admin" and "TO '/srv/return/" in r[13]]
    assert tickets and returns
    insider = json.loads((world / "truth.json").read_text())["bad_actors"][0]["actor"]
    assert insider not in {a for a, _, _ in tickets}
