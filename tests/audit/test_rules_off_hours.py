"""off_hours_terminal: odd hours / new machines, judged against own and role history, reported with data leaving."""

from __future__ import annotations

from audit_world import Builder, at, registry

from kansa.audit import list_findings, run_audit
from kansa.model.workspace import Workspace


def _work(b: Builder, day: int, actor: str, hour: int, terminal: str, action: str = "view") -> int:
    eid = b.access(at(day, hour), actor, action, "pref-a", [f"S{day:03d}"])
    b.ws.con.execute("UPDATE access_events SET terminal = ? WHERE event_id = ?", [terminal, eid])
    return eid


def _world(ws: Workspace) -> Builder:
    registry(ws)
    for i in range(1, 6):
        ws.con.execute("INSERT INTO terminals VALUES (?, ?, ?, 'floor 2')", [f"PC-{i}", f"10.0.0.{i}", f"op{i}"])
    b = Builder(ws)
    for d in range(0, 25):
        for i in range(1, 6):
            for h in (9, 11, 14, 16):
                _work(b, d, f"op{i}", h, f"PC-{i}")
        for i in (4, 5):  # op4 and op5 run the team's late shift
            _work(b, d, f"op{i}", 20, f"PC-{i}")
    return b


def _hits(ws: Workspace) -> set[tuple[str, str]]:
    return {(str(f["actor_id"]), str(f["severity"])) for f in list_findings(ws, rule="off_hours_terminal")}


def test_odd_hour_with_an_export_is_reported(ws: Workspace) -> None:
    b = _world(ws)
    _work(b, 25, "op1", 23, "PC-1", action="export")       # 23h: nobody's hour, and data leaves
    _work(b, 25, "op2", 11, "PC-9")                          # a colleague's desk, nothing leaves
    _work(b, 25, "op3", 20, "PC-3", action="export")       # 20h: the team's late shift hour
    run_audit(ws, rules=["off_hours_terminal"])
    assert _hits(ws) == {("op1", "medium")}
    f = list_findings(ws, rule="off_hours_terminal")[0]
    assert "23" in str(f["reason_en"]) and f["day"] == at(25, 0).date()


def test_report_alone_lists_weak_signals_as_low(ws: Workspace) -> None:
    (ws.root / "audit.yaml").write_text("rules:\n  off_hours_terminal:\n    report_alone: true\n", encoding="utf-8")
    b = _world(ws)
    _work(b, 25, "op2", 11, "PC-9")
    _work(b, 25, "op1", 3, "PC-1")
    run_audit(ws, rules=["off_hours_terminal"])
    assert _hits(ws) == {("op2", "low"), ("op1", "low")}


def test_no_judgement_without_history(ws: Workspace) -> None:
    registry(ws)
    b = Builder(ws)
    for d in range(0, 5):
        _work(b, d, "op1", 9, "PC-1")
    _work(b, 5, "op1", 23, "PC-7", action="export")
    run_audit(ws, rules=["off_hours_terminal"])
    assert _hits(ws) == set()
