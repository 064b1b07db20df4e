"""How evaluation counts: per actor for detection, per actor-day for noise (contract C3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_world import Builder, at, normal_days, registry

from kansa.audit import dismiss, evaluate, list_cases, run_audit
from kansa.model.workspace import Workspace

RULES = ["bulk_pull", "no_task", "usb_after_download"]


@pytest.fixture
def world(ws: Workspace) -> Builder:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 25)
    b.access(at(22, 14), "op1", "export", "pref-a", [], rows=5000, resource="app/export")  # bulk_pull + usb
    b.usb(at(22, 16), "u-op1")
    b.access(at(5, 11), "op1", "view", "city-b", ["C001"])  # op1 before the first bad act: a false finding
    b.access(at(12, 11), "op2", "view", "city-b", ["C001"])  # op2: a violation actor
    b.access(at(13, 11), "op3", "view", "city-b", ["C002"])  # op3: an honest mistake, false finding
    run_audit(ws, rules=RULES)
    return b


def _truth(tmp_path: Path, **extra: object) -> Path:
    path = tmp_path / "truth.json"
    data = {"scenario": "toy", "seed": 1,
            "bad_actors": [{"actor": "op1", "kind": "bulk", "first_bad_act": at(22, 14).isoformat()},
                           {"actor": "op5", "kind": "snoop", "first_bad_act": at(3, 0).date().isoformat()}],
            "violations": [{"kind": "x", "actors": ["op2"]}], **extra}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_contract_fields_and_detection(ws: Workspace, world: Builder, tmp_path: Path) -> None:
    r = evaluate(ws, _truth(tmp_path))
    assert r["scenario"] == "toy"
    by = {a["actor"]: a for a in r["actors"]}
    assert by["op1"] == {**by["op1"], "scenario": "toy", "detected": True, "days_to_detect": 0, "kind": "bulk"}
    assert by["op5"]["detected"] is False and by["op5"]["days_to_detect"] is None
    # flagged: op1 (bad), op2 (violation: neither target nor false), op3 (false) -> precision 1/2
    assert r["precision"] == pytest.approx(0.5)


def test_noise_is_counted_per_actor_day(ws: Workspace, world: Builder, tmp_path: Path) -> None:
    r = evaluate(ws, _truth(tmp_path))
    false_days = {(d["actor"], d["day"]) for d in r["false_finding_days"]}
    # op1's no-task day before the first bad act and op3's day; op1's day 22 has two rules but is bad
    assert false_days == {("op1", at(5, 0).date().isoformat()), ("op3", at(13, 0).date().isoformat())}
    assert r["actor_days"] == 5 * 26  # five operators active every day, days 0-25
    assert r["false_findings_per_1000_actor_days"] == pytest.approx(1000 * 2 / 130, abs=1e-3)


def test_suppressed_findings_are_not_counted(ws: Workspace, world: Builder, tmp_path: Path) -> None:
    dismiss(ws, next(c["case_id"] for c in list_cases(ws) if c["who"] == "op3"), "agreed error", by="a")
    r = evaluate(ws, _truth(tmp_path))
    assert {d["actor"] for d in r["false_finding_days"]} == {"op1"}
