"""Re-entrustment without approval and access after an end: facts from the contract/HR registry."""

from __future__ import annotations

from datetime import timedelta

from audit_world import START, Builder, at

from kansa.audit import list_findings, run_audit
from kansa.model.workspace import Workspace


def _registry(ws: Workspace, allowed: list[str], contract_end_day: int | None = None) -> None:
    con = ws.con
    for org, kind, country in (("pref-a", "owner", "JP"), ("cc", "entrustee", "JP"), ("agency", "staffing_agency", "JP"),
                               ("sub-ok", "subcontractor", "JP"), ("sub-cn", "subcontractor", "CN")):
        con.execute("INSERT INTO organisations VALUES (?, ?, NULL, ?, 'business', ?)", [org, org, kind, country])
    end = START + timedelta(days=contract_end_day) if contract_end_day is not None else None
    con.execute("INSERT INTO contracts VALUES ('C1', 'pref-a', 'cc', ['pref-a'], ['basic'], ['call'], ?, ?, ?, [])",
                [allowed, START, end])
    # The entrustee's own side contract with its subcontractor: the owner never consented to it.
    con.execute("INSERT INTO contracts VALUES ('C2', 'cc', 'sub-cn', ['pref-a'], ['basic'], ['entry'], [], ?, NULL, [])",
                [START])
    for actor, org, placed, valid_to in (
        ("op1", "cc", None, None),
        ("tmp1", "agency", "cc", None),             # an agency temp placed at the entrustee: fine
        ("ok1", "sub-ok", None, None),
        ("cn1", "sub-cn", None, None),
        ("cn2", "sub-cn", None, None),
        ("clerk", "pref-a", None, None),            # the owner's own staff
        ("left1", "cc", None, START + timedelta(days=10)),
    ):
        con.execute("INSERT INTO actors (actor_id, role, org_id, placed_at, team, valid_to) "
                    "VALUES (?, 'operator', ?, ?, 'A', ?)", [actor, org, placed, valid_to])


def _findings(ws: Workspace, rule: str) -> list[tuple[str, object]]:
    return sorted((str(f["actor_id"]), f["day"]) for f in list_findings(ws, rule=rule))


def test_unapproved_subcontractor_fires_on_its_first_day_only(ws: Workspace) -> None:
    _registry(ws, allowed=["sub-ok"])
    b = Builder(ws)
    for d in range(0, 20):
        for actor in ("op1", "tmp1", "ok1", "clerk"):
            b.access(at(d, 10), actor, "view", "pref-a", [f"S{d}"])
        if d >= 7:
            b.access(at(d, 11), "cn1", "update", "pref-a", [f"S{d}"])
        if d >= 9:
            b.access(at(d, 12), "cn2", "update", "pref-a", [f"T{d}"])
    run_audit(ws)
    assert _findings(ws, "unregistered_subcontractor") == [("cn1", at(7, 0).date()), ("cn2", at(9, 0).date())]
    f = next(f for f in list_findings(ws, rule="unregistered_subcontractor") if f["actor_id"] == "cn1")
    assert "CN" in str(f["reason_en"]) and "pref-a" in str(f["reason_ja"]) and f["severity"] == "high"


def test_the_same_subcontractor_is_fine_once_the_owner_allows_it(ws: Workspace) -> None:
    _registry(ws, allowed=["sub-ok", "sub-cn"])
    b = Builder(ws)
    for d in range(0, 10):
        b.access(at(d, 11), "cn1", "update", "pref-a", [f"S{d}"])
    run_audit(ws)
    assert _findings(ws, "unregistered_subcontractor") == []


def test_owner_without_contracts_is_not_judged(ws: Workspace) -> None:
    _registry(ws, allowed=[])
    b = Builder(ws)
    b.access(at(3, 11), "cn1", "view", "city-x", ["Q1"])  # no contract of city-x is registered
    run_audit(ws)
    assert _findings(ws, "unregistered_subcontractor") == []


def test_access_after_employment_ended(ws: Workspace) -> None:
    _registry(ws, allowed=[])
    b = Builder(ws)
    for d in range(0, 16):
        b.access(at(d, 10), "left1", "view", "pref-a", [f"S{d}"])
        b.access(at(d, 10), "op1", "view", "pref-a", [f"S{d}"])
    run_audit(ws)
    hits = [f for f in list_findings(ws, rule="after_end") if f["actor_id"] == "left1"]
    assert [f["day"] for f in hits] == [at(11, 0).date()]  # the first day after valid_to, once
    assert str(START + timedelta(days=10)) in str(hits[0]["reason_en"])
    assert not [f for f in list_findings(ws, rule="after_end") if f["actor_id"] == "op1"]


def test_access_after_the_contract_ended(ws: Workspace) -> None:
    _registry(ws, allowed=["sub-ok"], contract_end_day=12)
    b = Builder(ws)
    for d in range(0, 16):
        b.access(at(d, 10), "op1", "view", "pref-a", [f"S{d}"])
        b.access(at(d, 10), "ok1", "view", "pref-a", [f"S{d}"])
        b.access(at(d, 10), "clerk", "view", "pref-a", [f"S{d}"])
    run_audit(ws)
    hits = {(f["actor_id"], f["day"]) for f in list_findings(ws, rule="after_end")}
    assert hits == {("op1", at(13, 0).date()), ("ok1", at(13, 0).date())}
    assert _findings(ws, "unregistered_subcontractor") == []  # ended, not never allowed
