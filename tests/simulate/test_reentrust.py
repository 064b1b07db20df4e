"""Scenario reentrust (contract C2): the contract chain, not the org or the country, separates the
unapproved subcontractor's staff from everybody else who legitimately keys in owners' forms."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kansa.simulate import SCENARIOS, simulate


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("re") / "world"
    simulate("reentrust", 21, out, days=45, scale=0.3)
    return out


def _table(world: Path, name: str) -> list[dict[str, str]]:
    with open(world / "registry" / f"{name}.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _events(world: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in sorted((world / "logs" / "app").glob("*.jsonl.gz")):
        out += [json.loads(x) for x in gzip.decompress(p.read_bytes()).decode().splitlines()]
    return out


def _allowed(contracts: list[dict[str, str]], entrustee: str, owner: str, org: str, day: str) -> bool:
    """C2 read straight from the registry: the actor's org is the entrustee or an allowed
    subcontractor of an owner's contract valid that day."""
    for c in contracts:
        if c["entrustor_id"] != owner or owner not in c["owners"].split("|"):
            continue
        if not (c["valid_from"] <= day <= (c["valid_to"] or "9999-12-31")):
            continue
        if org == c["entrustee_id"] or org in c["allowed_subcontractors"].split("|"):
            return True
    return False


def test_registered() -> None:
    assert "reentrust" in SCENARIOS


def test_only_truths_bad_actors_break_the_contract_chain(world: Path) -> None:
    truth = json.loads((world / "truth.json").read_text())
    contracts = _table(world, "contracts")
    actors = {a["actor_id"]: a for a in _table(world, "actors")}
    entrustee = next(o["org_id"] for o in _table(world, "organisations") if o["kind"] == "entrustee")
    first_breach: dict[str, str] = {}
    for e in _events(world):
        a = actors[e["actor"]]
        day = e["time"][:10]
        ok = any(_allowed(contracts, entrustee, e["owner"], org, day) for org in (a["org_id"], a["placed_at"]) if org)
        if not ok:
            first_breach.setdefault(e["actor"], day)
    bad = {b["actor"]: b for b in truth["bad_actors"]}
    assert first_breach and set(first_breach) == set(bad)
    for actor, b in bad.items():
        assert b["kind"] == "unapproved_subcontractor" and first_breach[actor] == b["first_bad_act"]
        org = next(o for o in _table(world, "organisations") if o["org_id"] == actors[actor]["org_id"])
        assert org["country"] != "JP" and org["kind"] == "subcontractor"
    assert truth["violations"] == []


def test_naive_signals_also_fire_on_honest_staff(world: Path) -> None:
    """Other employers and offshore staff work legitimately too; so do agency temps placed here."""
    actors = {a["actor_id"]: a for a in _table(world, "actors")}
    orgs = {o["org_id"]: o for o in _table(world, "organisations")}
    bad = {b["actor"] for b in json.loads((world / "truth.json").read_text())["bad_actors"]}
    workers = {e["actor"] for e in _events(world)} - bad
    entrustee = next(k for k, o in orgs.items() if o["kind"] == "entrustee")
    outside = {a for a in workers if actors[a]["org_id"] != entrustee}
    assert any(actors[a]["placed_at"] == entrustee for a in outside)
    assert any(orgs[actors[a]["org_id"]]["country"] != "JP" for a in outside)
    assert any(orgs[actors[a]["org_id"]]["kind"] == "subcontractor" for a in outside)


def test_bad_actors_work_on_assignments_and_on_japanese_holidays_only_if_abroad(world: Path) -> None:
    import jpholiday

    bad = {b["actor"] for b in json.loads((world / "truth.json").read_text())["bad_actors"]}
    batches = {(s["assignment_id"], s["subject_id"]) for s in _table(world, "assignment_subjects")}
    theirs = [e for e in _events(world) if e["actor"] in bad]
    assert theirs
    assert all(any((e["ticket"], s) in batches for s in e["subjects"]) for e in theirs if e["action"] != "search")
    actors = {a["actor_id"]: a for a in _table(world, "actors")}
    orgs = {o["org_id"]: o for o in _table(world, "organisations")}
    for e in _events(world):
        if jpholiday.is_holiday(date.fromisoformat(e["time"][:10])) and e["action"] != "export":
            assert orgs[actors[e["actor"]]["org_id"]]["country"] != "JP", e
