"""curiosity: the watch list, and look-ups under an open duty that end in no business action."""

from __future__ import annotations

from datetime import timedelta

import pytest
from audit_world import START, Builder, at, normal_days, registry

from kansa.audit import list_findings, run_audit
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace


def _watch(ws: Workspace, text: str, encoding: str = "utf-8") -> None:
    (ws.root / "watchlist.csv").write_bytes(text.encode(encoding))


def test_watched_people_opened_without_a_task(ws: Workspace) -> None:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 10)
    _watch(ws, "owner_id,subject_id,actor_id,label\n"
               "pref-a,W001,,著名人\n"
               "pref-a,S001,,職員本人\n"
               "pref-a,R001,op3,同一住所\n", encoding="cp932")
    b.access(at(4, 12), "op1", "view", "pref-a", ["W001"], tag="w")      # watched, not on any list
    b.access(at(4, 13), "op2", "view", "pref-a", ["S001"])               # watched but on the call list
    b.access(at(6, 12), "op3", "view", "pref-a", ["R001"], tag="r")      # related to op3 himself
    b.access(at(6, 12), "op4", "view", "pref-a", ["R001"])               # the same person, unrelated to op4
    run_audit(ws, rules=["curiosity"])
    hits = {(f["actor_id"], f["day"], f["severity"]) for f in list_findings(ws, rule="curiosity")}
    assert hits == {("op1", at(4, 0).date(), "medium"), ("op3", at(6, 0).date(), "high")}
    op3 = next(f for f in list_findings(ws, rule="curiosity") if f["actor_id"] == "op3")
    assert "同一住所" in str(op3["reason_ja"]) and "R001" in str(op3["reason_en"])


def test_no_watch_list_file_means_no_watch_findings(ws: Workspace) -> None:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 5)
    b.access(at(4, 12), "op1", "view", "pref-a", ["W001"])
    run_audit(ws, rules=["curiosity"])
    assert list_findings(ws, rule="curiosity") == []


def test_bad_watch_list_names_file_and_line(ws: Workspace) -> None:
    registry(ws)
    normal_days(Builder(ws), 0, 2)
    _watch(ws, "owner_id,subject_id\npref-a,W1\n,W2\n")
    with pytest.raises(KansaError, match=r"watchlist\.csv:3:"):
        run_audit(ws, rules=["curiosity"])
    _watch(ws, "owner,subject\npref-a,W1\n")
    with pytest.raises(KansaError, match=r"watchlist\.csv:1: .*subject_id"):
        run_audit(ws, rules=["curiosity"])


def test_open_duty_lookups_without_business_action(ws: Workspace) -> None:
    """A help desk with a standing duty (no list): opening a customer is fine when a ticket is cited
    or the record is then updated; one clerk keeps opening people and doing nothing with them."""
    con = ws.con
    desk = [f"hd{i}" for i in range(1, 7)]
    for a in desk:
        con.execute("INSERT INTO actors (actor_id, role, team) VALUES (?, 'clerk', 'DESK')", [a])
    con.execute("INSERT INTO assignments VALUES ('DESK-DUTY', NULL, 'DESK', 'co-b', NULL, 'duty', 'support', ?, NULL)",
                [START])
    b = Builder(ws)
    n = 0
    for d in range(0, 25):
        for k, a in enumerate(desk):
            for j in range(5):
                n += 1
                subj = f"K{n:05d}"
                b.access(at(d, 9 + j), a, "view", "co-b", [subj])
                if (d + k + j) % 9:  # most contacts end in an update; some are just answered questions
                    b.access(at(d, 9 + j, 5), a, "update", "co-b", [subj])
                else:
                    b.ws.con.execute("UPDATE access_events SET ticket = 'INQ' WHERE event_id = ?", [b.next_id - 1])
        if d >= 12:
            for j in range(4):
                n += 1
                b.access(at(d, 16, j), "hd3", "view", "co-b", [f"Z{n:05d}"], tag=f"idle{d}")
    run_audit(ws, rules=["curiosity"])
    hits = list_findings(ws, rule="curiosity")
    assert {f["actor_id"] for f in hits} == {"hd3"}
    first = min(f["day"] for f in hits)
    assert at(12, 0).date() <= first <= at(12, 0).date() + timedelta(days=3)
