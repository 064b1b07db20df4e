"""Access: entitlement (employment ∘ chain ∘ assignment) against reads, per person and owner."""

from __future__ import annotations

from typing import Any

import pytest

from kansa.govern import access
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace

from .govern_world import LAST_DAY, OWNER, build, d


def _cells(r: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {c["actor"]: c for c in r["cells"] if c["owner"] == OWNER}


def test_matrix_and_gaps(ws: Workspace) -> None:
    build(ws)
    r = access(ws, since=d(4, 1))
    assert (r["since"], r["on"]) == (d(4, 1), LAST_DAY)
    cells = _cells(r)
    status = {a: c["status"] for a, c in cells.items()}
    assert status == {
        "c1": "used", "b1": "used", "t1": "used", "s1": "used", "p1": "used", "svc": "used",
        "b2": "partly_without_entitlement", "b3": "without_entitlement", "b4": "unused",
        "x1": "without_entitlement", "v1": "without_entitlement", "o1": "without_entitlement",
        "ghost": "without_entitlement", None: "without_entitlement",
    }
    assert cells["b2"]["without_entitlement"] == {"no_assignment": 4} and cells["b2"]["events"] == 6
    assert cells["b3"]["without_entitlement"] == {"not_employed": 5}
    assert cells["x1"]["without_entitlement"] == {"unapproved": 6}
    assert cells["v1"]["without_entitlement"] == {"no_contract": 3}
    assert cells["o1"]["without_entitlement"] == {"after_end": 2}
    assert cells["ghost"]["without_entitlement"] == {"unknown_actor": 1}
    assert cells["b1"]["events"] == 4                # the login is not a read
    # may read: employed, org entitled, assigned on some day of the window
    assert {a for a, c in cells.items() if c["may_read"]} == {"c1", "b1", "b2", "b3", "b4", "t1", "s1", "p1", "svc"}
    assert cells["b3"]["entitled_to"] == d(4, 10)    # employment ended
    assert not cells["b1"]["entitled_on_day"] and cells["svc"]["entitled_on_day"]
    assert r["revoke"] == [{"actor": "b4", "owner": OWNER, "org": "bpo", "accounts": ["app:b4"]}]
    assert r["broadest"][0]["may_read_owners"] == 1  # one owner in this world: nobody is broad
    (summary,) = r["owners"]
    assert summary["without_entitlement_events"] == {
        "after_end": 2, "no_assignment": 4, "no_contract": 3, "not_employed": 5, "unapproved": 6, "unknown_actor": 2}
    assert summary["unused"] == 1 and summary["may_read"] == 9


def test_window_and_filters(ws: Workspace) -> None:
    build(ws)
    r = access(ws, since=d(4, 9), on=d(4, 12))
    cells = _cells(r)
    assert set(cells) >= {"x1", "v1", "o1"} and "c1" in cells
    assert cells["c1"]["status"] == "unused"         # entitled in the window, read only before it
    assert cells["svc"]["status"] == "unused"
    only = access(ws, actor="x1", since=d(4, 1))
    assert [c["actor"] for c in only["cells"]] == ["x1"]


def test_user_mistakes(ws: Workspace) -> None:
    build(ws)
    with pytest.raises(KansaError, match="unknown owner"):
        access(ws, owner="nobody")
    with pytest.raises(KansaError, match="unknown actor"):
        access(ws, actor="nobody")
    with pytest.raises(KansaError, match="after --on"):
        access(ws, since=d(5, 1), on=d(4, 1))


def test_default_window_starts_with_the_logs(ws: Workspace) -> None:
    build(ws)
    r = access(ws)
    assert r["since"] == d(4, 1)                     # the first logged day, not 90 days back
    assert access(ws, since=d(2, 1))["since"] == d(2, 1)
