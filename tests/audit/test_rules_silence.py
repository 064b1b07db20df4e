"""The admin insider with auditing off: silent privileged sessions, and files born in them going to USB."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import count

import pytest
from audit_world import at

from kansa.audit import list_findings, run_audit
from kansa.model.workspace import Workspace

_ids = count(1000)


def _event(ws: Workspace, ts: datetime, action: str, account: str, ip: str, actor: str | None,
           resource: str, statement: str | None = None, owner: str | None = None) -> int:
    eid = next(_ids)
    ws.con.execute(
        "INSERT INTO access_events (event_id, ts, actor_id, account, action, resource, owner_id, source_ip, statement, "
        "source_system, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pgaudit', 1)",
        [eid, ts, actor, account, action, resource, owner, ip, statement],
    )
    return eid


def _endpoint(ws: Workspace, ts: datetime, host: str, actor: str, path: str, removable: bool) -> int:
    eid = next(_ids)
    ws.con.execute(
        "INSERT INTO endpoint_events (event_id, ts, actor_id, account, host, kind, path, to_removable, source_system, "
        "batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'cert', 2)",
        [eid, ts, actor, actor, host, "file_copy" if removable else "file_open", path, removable],
    )
    return eid


def session(ws: Workspace, start: datetime, minutes: float, ip: str, actor: str | None,
            statements: Sequence[tuple[str, str]] = (), account: str = "maint_admin") -> str:
    sid = f"session:{start:%H%M%S}.{ip}"
    _event(ws, start, "login", account, ip, actor, sid, "connection authorized: user=maint_admin")
    for k, (action, sql) in enumerate(statements):
        _event(ws, start + timedelta(seconds=10 * (k + 1)), action, account, ip, actor, "s.t", sql, owner="pref-a")
    _event(ws, start + timedelta(minutes=minutes), "logout", account, ip, actor, sid, "disconnection: ...")
    return sid


@pytest.fixture
def admins(ws: Workspace) -> Workspace:
    con = ws.con
    for i in (1, 2):
        con.execute("INSERT INTO actors (actor_id, role, team, privileged) VALUES (?, 'maintainer', 'SYS', TRUE)",
                    [f"mt{i}"])
        con.execute("INSERT INTO terminals VALUES (?, ?, ?, 'server room')", [f"MNT-{i}", f"10.0.9.{i}", f"mt{i}"])
    con.execute("INSERT INTO actors (actor_id, role, team) VALUES ('svc', 'service', 'SYS')")
    con.execute("INSERT INTO accounts VALUES ('db', 'maint_admin', NULL, TRUE)")
    con.execute("INSERT INTO accounts VALUES ('db', 'app', 'svc', FALSE)")
    return ws


def _hits(ws: Workspace, rule: str) -> list[tuple[str, object, str]]:
    return sorted((str(f["actor_id"]), f["day"], str(f["severity"])) for f in list_findings(ws, rule=rule))


def test_silent_admin_session_then_usb_is_high(admins: Workspace) -> None:
    ws = admins
    # mt1, day 3 evening: connects, nothing is audited, a CSV appears, then goes to a USB stick
    session(ws, at(3, 19, 30), 8, "10.0.9.1", "mt1")
    _endpoint(ws, at(3, 19, 31), "MNT-1", "mt1", r"C:\Users\mt1\work\pref-a_0304.csv", False)
    _endpoint(ws, at(3, 19, 55), "MNT-1", "mt1", r"F:\pref-a_0304.csv", True)
    # mt2: an ordinary audited session, and the vendor's server logs to USB the same day
    session(ws, at(3, 14), 5, "10.0.9.2", "mt2", [("export", "SELECT count(*) FROM pref_a.t")])
    _endpoint(ws, at(3, 15), "MNT-2", "mt2", r"E:\pg_log_0304.zip", True)
    # a silent admin session with no endpoint evidence at all: common (\d), not reported
    session(ws, at(4, 10), 10, "10.0.9.2", "mt2")
    run_audit(ws)
    assert _hits(ws, "audit_silence") == [("mt1", at(3, 0).date(), "high")]
    assert _hits(ws, "usb_unexplained") == [("mt1", at(3, 0).date(), "high")]
    assert _hits(ws, "usb_after_download") == []  # a count(*) is not an export of anyone's data
    f = list_findings(ws, rule="audit_silence")[0]
    assert "maint_admin" in str(f["reason_en"]) and "MNT-1" in str(f["reason_ja"])


def test_usb_write_next_morning_is_dated_when_it_happened(admins: Workspace) -> None:
    ws = admins
    session(ws, at(5, 21), 4, "10.0.9.1", "mt1")
    _endpoint(ws, at(6, 8, 30), "MNT-1", "mt1", r"F:\dump.csv", True)
    run_audit(ws, until=at(5, 0).date())
    assert _hits(ws, "audit_silence") == []  # on day 5 there is only a silent session
    run_audit(ws, since=at(5, 0).date())
    assert _hits(ws, "audit_silence") == [("mt1", at(6, 0).date(), "high")]


def test_short_sessions_and_services_are_not_judged(admins: Workspace) -> None:
    ws = admins
    session(ws, at(2, 9), 0.2, "10.0.9.1", "mt1")  # 12 s: a probe, not a person at work
    _endpoint(ws, at(2, 9, 5), "MNT-1", "mt1", r"F:\a.csv", True)
    session(ws, at(2, 9), 30, "10.0.9.2", "svc", account="app")  # a pooled service connection
    _endpoint(ws, at(2, 9, 10), "MNT-2", "mt2", r"F:\b.csv", True)
    run_audit(ws)
    assert _hits(ws, "audit_silence") == []


def test_report_alone_lists_silent_sessions_as_low(admins: Workspace) -> None:
    ws = admins
    (ws.root / "audit.yaml").write_text("rules:\n  audit_silence:\n    report_alone: true\n", encoding="utf-8")
    session(ws, at(4, 10), 10, "10.0.9.2", "mt2")
    run_audit(ws)
    assert _hits(ws, "audit_silence") == [("mt2", at(4, 0).date(), "low")]


def test_logged_export_explains_the_usb_file(admins: Workspace) -> None:
    ws = admins
    session(ws, at(3, 19, 30), 8, "10.0.9.1", "mt1", [("export", "COPY (SELECT * FROM pref_a.t WHERE id < 9) TO STDOUT")])
    _endpoint(ws, at(3, 19, 31), "MNT-1", "mt1", r"C:\work\x.csv", False)
    _endpoint(ws, at(3, 19, 55), "MNT-1", "mt1", r"F:\x.csv", True)
    run_audit(ws)
    assert _hits(ws, "usb_unexplained") == [] and _hits(ws, "audit_silence") == []
    assert _hits(ws, "usb_after_download") == [("mt1", at(3, 0).date(), "high")]
