"""Each detector fires on the behaviour it is for, and stays quiet on ordinary work."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from audit_world import START, Builder, at, normal_days, registry

from kansa.audit import evaluate, explain, list_findings, run_audit, triage
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace


@pytest.fixture
def world(ws: Workspace) -> Builder:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 20)
    # op1 pulls the whole list on day 15 and copies it to USB two hours later
    b.access(at(15, 14), "op1", "export", "pref-a", [], rows=5000, resource="app/export", tag="bulk")
    b.usb(at(15, 16), "u-op1", tag="usb")
    # op2 opens another owner's data it has no task for, on day 12
    b.access(at(12, 11), "op2", "view", "city-b", ["C001"], tag="notask")
    # op3 keeps opening people who are not on the call list (days 5-10); op5 does so once, honestly
    for d in range(5, 11):
        for k in range(2):
            b.access(at(d, 15, k), "op3", "view", "pref-a", [f"X{d}{k}"], tag=f"curious{d}")
    b.access(at(8, 15), "op5", "view", "pref-a", ["Y001"])
    # the maintainer switches database auditing off on day 16
    b.access(at(16, 22), "mnt1", "admin", None, [], resource="pgaudit.log",
             statement="ALTER SYSTEM SET pgaudit.log = 'none'", tag="auditoff")
    return b


def _by_rule(ws: Workspace, rule: str) -> list[dict[str, object]]:
    return [f for f in list_findings(ws) if f["rule"] == rule]


def test_bulk_pull_flags_only_the_big_day(ws: Workspace, world: Builder) -> None:
    run_audit(ws)
    hits = _by_rule(ws, "bulk_pull")
    assert [(f["actor_id"], f["day"]) for f in hits] == [("op1", at(15, 0).date())]
    ev = explain(ws, str(hits[0]["finding_id"]))
    assert world.ids["bulk"][0] in [e["event_id"] for e in ev["access_events"]]
    assert ev["detail"]["rows"] >= 5000 and f"{ev['detail']['rows']:.0f} rows" in ev["reason_en"]


def test_no_task_names_the_owner_without_assignment(ws: Workspace, world: Builder) -> None:
    run_audit(ws)
    hits = _by_rule(ws, "no_task")
    assert [(f["actor_id"], f["day"]) for f in hits] == [("op2", at(12, 0).date())]
    assert "city-b" in str(hits[0]["reason_ja"])


def test_curiosity_flags_the_repeated_snooper_not_the_one_off(ws: Workspace, world: Builder) -> None:
    run_audit(ws)
    hits = _by_rule(ws, "curiosity")
    assert {f["actor_id"] for f in hits} == {"op3"}
    first = min(hits, key=lambda f: str(f["day"]))
    first_day = date.fromisoformat(str(first["day"]))
    assert at(5, 0).date() < first_day <= at(10, 0).date()  # it takes a few repeats, not one
    ev = explain(ws, str(first["finding_id"]))
    day = (first_day - START).days
    assert [e["event_id"] for e in ev["access_events"]] == world.ids[f"curious{day}"]


def test_usb_after_download_links_both_events(ws: Workspace, world: Builder) -> None:
    run_audit(ws)
    hits = _by_rule(ws, "usb_after_download")
    assert len(hits) == 1 and hits[0]["actor_id"] == "op1"
    ev = explain(ws, str(hits[0]["finding_id"]))
    assert [e["event_id"] for e in ev["endpoint_events"]] == world.ids["usb"]
    assert world.ids["bulk"][0] in [e["event_id"] for e in ev["access_events"]]


def test_usb_long_after_or_before_download_is_not_linked(ws: Workspace) -> None:
    registry(ws)
    b = Builder(ws)
    b.usb(at(3, 9), "u-op2")  # before any export
    b.access(at(3, 10), "op2", "export", "pref-a", [], rows=10)
    b.usb(at(5, 10), "u-op2")  # 48 h after: outside the window
    run_audit(ws, rules=["usb_after_download"])
    assert _by_rule(ws, "usb_after_download") == []


def test_audit_off_is_high(ws: Workspace, world: Builder) -> None:
    run_audit(ws)
    hits = _by_rule(ws, "audit_off")
    assert len(hits) == 1 and hits[0]["actor_id"] == "mnt1" and hits[0]["severity"] == "high"


def test_slow_leak_breadth_of_owners(ws: Workspace) -> None:
    registry(ws, with_assignments=False)
    b = Builder(ws)
    normal_days(b, 0, 30)
    for d in range(0, 31):  # op4 also touches one more client's data every day, a little at a time
        b.access(at(d, 18), "op4", "view", f"client-{d:02d}", [f"Z{d}"])
    run_audit(ws)
    hits = _by_rule(ws, "slow_leak")
    assert hits and {f["actor_id"] for f in hits} == {"op4"}
    assert not _by_rule(ws, "no_task")  # no task registry: that rule stays silent


def test_ordinary_world_has_no_findings(ws: Workspace) -> None:
    registry(ws)
    normal_days(Builder(ws), 0, 20)
    result = run_audit(ws)
    assert result["findings"] == 0, list_findings(ws)


def test_findings_are_causal(ws: Workspace, world: Builder) -> None:
    run_audit(ws, until=at(14, 0).date())
    before = {(f["finding_id"], f["score"]) for f in list_findings(ws)}
    # the future arrives: a lot more activity after day 14, including a huge day for op3
    normal_days(world, 21, 40)
    world.access(at(30, 10), "op3", "export", "pref-a", [], rows=90000)
    run_audit(ws, until=at(14, 0).date())
    assert {(f["finding_id"], f["score"]) for f in list_findings(ws)} == before
    run_audit(ws)
    later = {(f["finding_id"], f["score"]) for f in list_findings(ws) if f["day"] <= at(14, 0).date()}
    assert later == before
    assert before  # the curiosity and no-task findings happened before day 14


def test_explain_unknown_id(ws: Workspace) -> None:
    with pytest.raises(KansaError):
        explain(ws, "F-nope")


def test_evaluate_against_truth(ws: Workspace, world: Builder, tmp_path: Path) -> None:
    run_audit(ws)
    truth = tmp_path / "truth.json"
    bad = [{"actor": "op1", "first_bad_act": at(15, 14).isoformat()},
           {"actor": "op5", "first_bad_act": START.isoformat()}]
    truth.write_text(json.dumps({"bad_actors": bad}), encoding="utf-8")
    r = evaluate(ws, truth)
    assert r["true_positives"] == ["op1"] and r["missed"] == ["op5"]
    assert r["recall"] == 0.5
    assert r["detection"]["op1"]["days_to_detect"] == 0
    assert set(r["false_positives"]) == {"op2", "op3", "mnt1"}  # no task, snooping, audit off
    assert r["precision"] == pytest.approx(1 / 4)
    truth.write_text(json.dumps({"bad_actors": bad, "violations": [{"kind": "x", "actors": ["op2"]}]}))
    r = evaluate(ws, truth)
    assert r["flagged_violation_actors"] == ["op2"] and r["precision_with_violations"] == pytest.approx(2 / 4)


def test_triage_survives_a_rerun(ws: Workspace, world: Builder) -> None:
    run_audit(ws)
    fid = str(_by_rule(ws, "no_task")[0]["finding_id"])
    triage(ws, fid, "benign", "phone enquiry")
    run_audit(ws)
    assert [f["verdict"] for f in list_findings(ws) if f["finding_id"] == fid] == ["benign"]
    assert explain(ws, fid)["triage"][0]["note"] == "phone enquiry"
    with pytest.raises(KansaError):
        triage(ws, fid, "maybe")


def test_empty_workspace_has_nothing_to_say(ws: Workspace) -> None:
    result = run_audit(ws)
    assert result["findings"] == 0 and result["until"] is None
    assert list_findings(ws) == []
