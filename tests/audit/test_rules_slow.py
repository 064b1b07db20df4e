"""slow_leak against the actor's own history, when a role has too few people for a peer baseline."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd
from audit_world import START, at

from kansa.audit import list_findings, run_audit
from kansa.model.workspace import Workspace

DAYS = 520  # two years of calendar days with work every day: a slow pace has time to show


def _bulk(ws: Workspace, events: list[tuple[int, object, str, str, str, str | None]],
          subjects: list[tuple[int, str, str]]) -> None:
    ev = pd.DataFrame(events, columns=["event_id", "ts", "actor_id", "action", "owner_id", "ticket"])
    ev["account"], ev["source_system"], ev["batch_id"] = ev["actor_id"], "access", 1
    sub = pd.DataFrame(subjects, columns=["event_id", "owner_id", "subject_id"])
    ws.con.register("ev_df", ev)
    ws.con.register("sub_df", sub)
    ws.con.execute("INSERT INTO access_events (event_id, ts, actor_id, account, action, owner_id, ticket, "
                   "source_system, batch_id) SELECT event_id, ts, actor_id, account, action, owner_id, ticket, "
                   "source_system, batch_id FROM ev_df")
    ws.con.execute("INSERT INTO access_subjects SELECT * FROM sub_df")


def _world(ws: Workspace, leak_from: int | None) -> date | None:
    """Three people alone in their roles, two years: a DBA whose work saturates, a supervisor who
    exports each month's call list (justified by the campaign ticket), and a maintainer who from
    ``leak_from`` on also opens two never-seen people a day."""
    rng = random.Random(5)
    con = ws.con
    for actor, role in (("mnt1", "maintainer"), ("dba1", "dba"), ("sv1", "supervisor")):
        con.execute("INSERT INTO actors (actor_id, role, team) VALUES (?, ?, 'SYS')", [actor, role])
    con.execute("INSERT INTO assignments VALUES ('DUTY', NULL, 'SYS', 'pref-a', NULL, 'duty', 'maintenance', ?, NULL)",
                [START])
    pool = [f"P{i:03d}" for i in range(200)]
    listed: list[tuple[str, str, str]] = [("DUTY", "pref-a", s) for s in pool]
    events: list[tuple[int, object, str, str, str, str | None]] = []
    subjects: list[tuple[int, str, str]] = []
    eid = 0
    fresh = 0
    for d in range(DAYS):
        day = START + timedelta(days=d)
        if day.day == 1:  # the month's campaign: 300 new people, on a list its ticket names
            camp = f"CAMP-{day:%Y%m}"
            con.execute("INSERT INTO assignments VALUES (?, NULL, 'ops', 'pref-a', NULL, 'campaign', 'call', ?, ?)",
                        [camp, day, day + timedelta(days=27)])
            people = [f"C{day:%Y%m}-{i:03d}" for i in range(300)]
            listed += [(camp, "pref-a", p) for p in people]
            events.append((eid, at(d, 9), "sv1", "export", "pref-a", camp))
            subjects += [(eid, "pref-a", p) for p in people]
            eid += 1
        for actor in ("mnt1", "dba1"):
            for j in range(rng.randint(4, 8)):
                events.append((eid, at(d, 10 + j), actor, "view", "pref-a", None))
                subjects.append((eid, "pref-a", rng.choice(pool)))
                eid += 1
        if leak_from is not None and d >= leak_from:
            for _ in range(2):
                events.append((eid, at(d, 18), "mnt1", "view", "pref-a", None))
                subjects.append((eid, "pref-a", f"X{fresh:05d}"))
                fresh += 1
                eid += 1
    _bulk(ws, events, subjects)
    ws.con.register("listed_df", pd.DataFrame(listed, columns=["assignment_id", "owner_id", "subject_id"]))
    ws.con.execute("INSERT INTO assignment_subjects SELECT * FROM listed_df")
    return at(leak_from, 0).date() if leak_from is not None else None


def test_own_trend_catches_a_slow_pace_soon_after_it_starts(ws: Workspace) -> None:
    start = _world(ws, leak_from=300)
    assert start is not None
    run_audit(ws, rules=["slow_leak"])
    hits = [f for f in list_findings(ws, rule="slow_leak")]
    assert {f["actor_id"] for f in hits} == {"mnt1"}
    first = min(f["day"] for f in hits)
    assert start <= first <= start + timedelta(days=14)  # two people a day, hidden among six
    assert "CUSUM" in str(hits[0]["reason_en"])


def test_no_alarm_over_two_years_of_honest_work(ws: Workspace) -> None:
    _world(ws, leak_from=None)
    run_audit(ws, rules=["slow_leak"])
    assert list_findings(ws, rule="slow_leak") == []
