"""A daily run computes only the new day; a repeated run is a no-op; --since recomputes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from audit_world import Builder, at, normal_days, registry

from kansa.audit import list_findings, run_audit
from kansa.audit.run import audit_state
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace

RULES = ["no_task", "usb_after_download"]


def _ids(ws: Workspace) -> set[str]:
    return {str(f["finding_id"]) for f in list_findings(ws)}


def test_daily_runs_add_only_new_days(ws: Workspace) -> None:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 10)
    b.access(at(4, 11), "op2", "view", "city-b", ["C001"])
    first = run_audit(ws, rules=RULES)
    assert first["computed"]["no_task"] == [at(0, 0).date().isoformat(), at(10, 0).date().isoformat()]
    assert first["by_rule"]["no_task"] == 1
    assert audit_state(ws)["no_task"] == at(10, 0).date()
    before = _ids(ws)

    again = run_audit(ws, rules=RULES)
    assert again["findings"] == 0 and again["computed"]["no_task"] is None
    assert _ids(ws) == before

    # the next day arrives, with a second no-task access; only that day is computed
    normal_days(b, 11, 11)
    b.access(at(11, 11), "op3", "view", "city-b", ["C002"])
    # a late event for an already audited day is not seen by a daily run ...
    b.access(at(5, 11), "op4", "view", "city-b", ["C003"])
    daily = run_audit(ws, rules=RULES)
    day11 = at(11, 0).date().isoformat()
    assert daily["computed"]["no_task"] == [day11, day11]
    assert daily["by_rule"]["no_task"] == 1
    assert {f["actor_id"] for f in list_findings(ws)} == {"op2", "op3"}
    # ... until the auditor recomputes from that day
    redo = run_audit(ws, rules=RULES, since=at(5, 0).date())
    assert redo["computed"]["no_task"] == [at(5, 0).date().isoformat(), day11]
    assert {f["actor_id"] for f in list_findings(ws)} == {"op2", "op3", "op4"}
    assert before <= _ids(ws)  # the day-4 finding kept its id


def test_an_earlier_until_after_a_later_run_changes_nothing(ws: Workspace) -> None:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 10)
    b.access(at(8, 11), "op2", "view", "city-b", ["C001"])
    run_audit(ws, rules=RULES)
    before = _ids(ws)
    result = run_audit(ws, rules=RULES, until=at(3, 0).date())
    assert result["findings"] == 0 and _ids(ws) == before


def test_since_after_until_is_a_user_error(ws: Workspace) -> None:
    registry(ws)
    normal_days(Builder(ws), 0, 3)
    with pytest.raises(KansaError):
        run_audit(ws, since=at(3, 0).date(), until=at(3, 0).date() - timedelta(days=1))
