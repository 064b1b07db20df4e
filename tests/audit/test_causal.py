"""What the audit says about day D depends only on events up to D, for every detector.

The audit is run up to D; then two weeks of later activity arrive (including behaviour that
would shift every baseline) and everything is recomputed from the first day. Findings about
days up to D must be exactly the same (ids, scores, reasons).
"""

from __future__ import annotations

from audit_world import START, Builder, at, normal_days, registry

from kansa.audit import list_findings, run_audit
from kansa.model.workspace import Workspace

D = 46


def _snapshot(ws: Workspace, last_day: int) -> set[tuple[object, ...]]:
    cut = at(last_day, 0).date()
    return {(f["finding_id"], f["score"], f["reason_en"]) for f in list_findings(ws) if f["day"] <= cut}


def test_recomputing_with_later_data_leaves_earlier_findings_unchanged(ws: Workspace) -> None:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, D)
    for k in range(8):  # a strange day for op4 on day D (behaviour) ...
        b.access(at(D, 21, k), "op4", "view", f"client-{k}", [f"Z{k}{j}" for j in range(5)], resource=f"app/c{k}")
    b.access(at(30, 11), "op2", "view", "city-b", ["C001"])  # ... and a no-task access earlier
    run_audit(ws, until=at(D, 0).date())
    before = _snapshot(ws, D)
    assert {str(f[0]) for f in before} and {f["rule"] for f in list_findings(ws)} >= {"behaviour", "no_task"}

    # the future: op4 doing the same every evening (shifting its own baseline), a huge export
    for d in range(D + 1, D + 15):
        normal_days(b, d, d)
        for k in range(8):
            b.access(at(d, 21, k), "op4", "view", f"client-{k}", [f"Z{k}"], resource=f"app/c{k}")
    b.access(at(D + 10, 10), "op1", "export", "pref-a", [], rows=90000)
    run_audit(ws, since=START)
    assert _snapshot(ws, D) == before
    assert len(list_findings(ws)) > len(before)  # the later days were audited too
