"""The behaviour detector speaks on a day unlike the actor's past, the peers and every earlier day."""

from __future__ import annotations

from audit_world import Builder, at, normal_days, registry

from kansa.audit import list_findings, run_audit
from kansa.model.workspace import Workspace

QUIET_DAYS = 45  # 5 operators x 45 days: enough actor-days to fit the forest and own baselines


def _quiet_world(ws: Workspace) -> Builder:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, QUIET_DAYS)
    return b


def test_ordinary_days_raise_nothing(ws: Workspace) -> None:
    _quiet_world(ws)
    assert run_audit(ws, rules=["behaviour"])["findings"] == 0


def test_a_strange_day_is_found_and_explained(ws: Workspace) -> None:
    b = _quiet_world(ws)
    day = QUIET_DAYS + 1
    normal_days(b, day, day)
    # op4 works late into the night across eight clients' data it never touched
    for k in range(8):
        b.access(at(day, 21, k), "op4", "view", f"client-{k}", [f"Z{k}{j}" for j in range(5)],
                 resource=f"app/client-{k}", tag="odd")
    run_audit(ws, rules=["behaviour"])
    hits = list_findings(ws, rule="behaviour")
    assert [(h["actor_id"], h["day"]) for h in hits] == [("op4", at(day, 0).date())]
    reason = str(hits[0]["reason_en"])
    assert "owners" in reason and "Isolation Forest" in reason
    detail_features = {"owners", "new_resources", "off_hours_share", "unjustified_share", "subjects"}
    assert any(name in reason.replace(" ", "_") for name in detail_features)


def test_the_same_day_without_history_is_not_judged(ws: Workspace) -> None:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 5)  # too short for own baselines and the forest
    for k in range(8):
        b.access(at(5, 21, k), "op4", "view", f"client-{k}", [f"Z{k}"], resource=f"app/client-{k}")
    assert run_audit(ws, rules=["behaviour"])["findings"] == 0
