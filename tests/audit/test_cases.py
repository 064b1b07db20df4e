"""Findings of one actor read as one case; confirmations and reasoned dismissals are kept and sealed."""

from __future__ import annotations

import json

import pytest
from audit_world import Builder, at, normal_days, registry

from kansa.audit import confirm, dismiss, list_cases, list_findings, run_audit, show_case
from kansa.cli.main import main
from kansa.ledger import verify
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace

RULES = ["bulk_pull", "no_task", "usb_after_download"]


@pytest.fixture
def world(ws: Workspace) -> Builder:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 25)
    b.access(at(22, 14), "op1", "export", "pref-a", [], rows=5000, resource="app/export", tag="bulk")
    b.usb(at(22, 16), "u-op1", tag="usb")
    b.access(at(12, 11), "op2", "view", "city-b", ["C001", "C002"], tag="notask")
    b.access(at(14, 11), "op2", "view", "city-b", ["C003"], tag="notask")
    run_audit(ws, rules=RULES)
    return b


def test_one_case_per_actor_with_every_detector(ws: Workspace, world: Builder) -> None:
    cases = {c["who"]: c for c in list_cases(ws)}
    assert set(cases) == {"op1", "op2"}
    op1 = cases["op1"]
    assert {d["rule"] for d in op1["detectors"]} == {"bulk_pull", "usb_after_download"}
    assert op1["severity"] == "high" and op1["detected_at"] == at(22, 0).date()
    assert op1["risk_score"] == pytest.approx(sum(d["max_score"] for d in op1["detectors"]))
    assert world.ids["usb"][0] in op1["evidence"]["endpoint"]
    assert world.ids["bulk"][0] in op1["evidence"]["access"]
    assert op1["owners"] == ["pref-a"]
    assert "bulk_pull" in op1["explanation_en"] and "usb_after_download" in op1["explanation_ja"]
    # the riskier case comes first
    assert list_cases(ws)[0]["who"] == "op1"
    op2 = cases["op2"]
    assert op2["findings"] == 2 and op2["detected_at"] == at(12, 0).date()
    assert op2["subjects"] == 3 and op2["owners"] == ["city-b"]


def test_series_shows_the_activity_around_the_findings(ws: Workspace, world: Builder) -> None:
    case = show_case(ws, "op1")
    by_day = {s["day"]: s for s in case["series"]}
    day = at(22, 0).date()
    assert by_day[day]["findings"] == 2 and by_day[day]["removable_writes"] == 1
    assert by_day[day]["rows"] >= 5000
    assert min(by_day) < day  # quiet days before, for comparison
    assert case["case_id"] == show_case(ws, case["finding_ids"][0])["case_id"]


def test_dismissal_needs_a_reason_suppresses_later_findings_and_is_sealed(ws: Workspace, world: Builder) -> None:
    cid = next(c["case_id"] for c in list_cases(ws) if c["who"] == "op2")
    with pytest.raises(KansaError):
        dismiss(ws, cid, "  ")
    result = dismiss(ws, cid, "helps city-b's front desk by phone", by="auditor1", days=30,
                     today=at(15, 0).date())
    assert result["ledger_leaf"] >= 0 and result["suppressions"]
    assert [c["who"] for c in list_cases(ws)] == ["op1"]
    assert any(c["who"] == "op2" and c["verdict"] == "dismissed" for c in list_cases(ws, include_closed=True))
    # a later no-task access inside the expiry is stored but suppressed; after the expiry it alerts again
    world.access(at(26, 11), "op2", "view", "city-b", ["C004"])
    world.access(at(50, 11), "op2", "view", "city-b", ["C005"])
    run_audit(ws, rules=RULES)
    visible = [f for f in list_findings(ws) if f["actor_id"] == "op2"]
    assert [f["day"] for f in visible] == [at(50, 0).date()]
    hidden = [f for f in list_findings(ws, include_suppressed=True) if f["actor_id"] == "op2"]
    assert at(26, 0).date() in [f["day"] for f in hidden]
    shown = show_case(ws, "op2")
    assert shown["suppressions"][0]["note"] == "helps city-b's front desk by phone"
    assert shown["decisions"] and shown["decisions"][0]["by"] == "auditor1"
    assert verify(ws)["ok"]


def test_confirm_marks_the_case(ws: Workspace, world: Builder) -> None:
    cid = list_cases(ws)[0]["case_id"]
    confirm(ws, cid, "USB copy admitted", by="auditor1")
    assert list_cases(ws)[0]["verdict"] == "confirmed"
    assert all(f["verdict"] == "confirmed" for f in list_findings(ws, actor="op1"))
    with pytest.raises(KansaError):
        confirm(ws, "C-nothing")


def test_findings_commands(ws: Workspace, world: Builder, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(ws.root)
    ws.close()
    assert main(["findings", "list", "-w", root, "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)
    assert [c["who"] for c in cases] == ["op1", "op2"]
    assert main(["findings", "show", cases[1]["case_id"], "-w", root, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["actor_id"] == "op2"
    assert main(["findings", "dismiss", cases[1]["case_id"], "-w", root]) == 2  # --note is required
    capsys.readouterr()
    assert main(["findings", "dismiss", cases[1]["case_id"], "--note", "phone desk", "-w", root, "--json"]) == 0
    capsys.readouterr()
    assert main(["findings", "confirm", cases[0]["case_id"], "--note", "admitted", "-w", root, "--json"]) == 0
    capsys.readouterr()
    assert main(["findings", "list", "-w", root, "--json"]) == 0
    assert [(c["who"], c["verdict"]) for c in json.loads(capsys.readouterr().out)] == [("op1", "confirmed")]


def test_a_finding_without_a_resolved_actor_is_its_own_case(ws: Workspace) -> None:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 3)
    eid = b.access(at(2, 22), "tmp", "admin", None, [], resource="pgaudit.log",
                   statement="ALTER SYSTEM SET pgaudit.log = 'none'")
    ws.con.execute("UPDATE access_events SET actor_id = NULL, account = 'maint_admin' WHERE event_id = ?", [eid])
    run_audit(ws, rules=["audit_off"])
    cases = list_cases(ws, full=True)
    assert len(cases) == 1 and cases[0]["actor_id"] is None and cases[0]["who"].startswith("?")
    assert cases[0]["evidence"]["access"] == [eid]
    assert show_case(ws, cases[0]["case_id"])["series"]
    with pytest.raises(KansaError):
        dismiss(ws, cases[0]["case_id"], "maintenance window")
    assert confirm(ws, cases[0]["case_id"], "nobody owns up")["verdict"] == "confirmed"
