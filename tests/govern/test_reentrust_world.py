"""On a simulated reentrust world: the unapproved firm abroad is flagged in the victim's chain and
its staff read without entitlement, while the approved subcontractors (one abroad) do not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kansa.govern import access, chains
from kansa.ingest import ingest_world
from kansa.model.workspace import init_workspace
from kansa.simulate import simulate


def _flat(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [x for n in nodes for x in (n, *_flat(n["children"]))]


@pytest.mark.parametrize("seed", [5, 11])
def test_unapproved_subcontractor(tmp_path: Path, seed: int) -> None:
    world = tmp_path / "world"
    simulate("reentrust", seed, world, days=21, scale=0.1)
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    (rogue,) = [s for s in truth["subcontracting"] if not s["approved"]]
    approved_orgs = {s["org"] for s in truth["subcontracting"] if s["approved"]}
    bad = {b["actor"] for b in truth["bad_actors"]}
    assert bad
    ws = init_workspace(tmp_path / "ws")
    try:
        ingest_world(ws, world)
        r = chains(ws)
        by_owner = {o["owner_id"]: _flat(o["links"]) for o in r["owners"]}
        flagged = {(o, n["entrustee"]) for o, ns in by_owner.items() for n in ns
                   if any(p["code"] == "unapproved_reentrustment" for p in n["problems"]) and n["in_force"]}
        assert flagged == {(rogue["owner"], rogue["org"])}
        rogue_link = next(n for n in by_owner[rogue["owner"]] if n["entrustee"] == rogue["org"] and n["in_force"])
        assert {p["code"] for p in rogue_link["problems"]} >= {"abroad"}
        assert rogue_link["access_in_force"]["events"] > 0
        m = access(ws)
        off = {c["actor"] for c in m["cells"] if c["without_entitlement"]}
        assert off == bad
        assert all(c["without_entitlement"] == {"unapproved": c["events"]} for c in m["cells"] if c["actor"] in bad)
        staff_of_approved = {c["actor"] for c in m["cells"] if c["org"] in approved_orgs}
        assert staff_of_approved and not staff_of_approved & off
    finally:
        ws.close()
