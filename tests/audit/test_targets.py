"""Issue #4's detection targets on simulated worlds, at several seeds each.

- ntt-west: the maintainer found within 7 days of his first pull;
- suginami: the clerk found within 30 days of the first unrelated look-up;
- reentrust: each unapproved subcontractor's staff member found on the day of the first access;
- at most 1 false finding per 1,000 actor-days across all these worlds.

Worlds are small (45 days, scale 0.3) and built once for the module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kansa.audit import evaluate, run_audit
from kansa.ingest import ingest_world
from kansa.model.workspace import init_workspace
from kansa.simulate import SCENARIOS, simulate

DAYS, SCALE = 45, 0.3
WORLDS = [("ntt-west", 3), ("ntt-west", 7), ("suginami", 4), ("suginami", 11), ("reentrust", 1), ("reentrust", 2)]
C3_KEYS = {"actors", "false_findings_per_1000_actor_days", "precision"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], dict[str, Any]]:
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for scenario, seed in WORLDS:
        if scenario not in SCENARIOS:
            continue
        base: Path = tmp_path_factory.mktemp(f"{scenario}-{seed}")
        simulate(scenario, seed, base / "world", days=DAYS, scale=SCALE)
        ws = init_workspace(base / "ws")
        try:
            ingest_world(ws, base / "world")
            run_audit(ws)
            out[(scenario, seed)] = evaluate(ws, base / "world" / "truth.json")
        finally:
            ws.close()
    return out


def _of(results: dict[tuple[str, int], dict[str, Any]], scenario: str) -> list[dict[str, Any]]:
    got = [r for (s, _seed), r in results.items() if s == scenario]
    if not got:
        pytest.fail(f"scenario {scenario} is not available from kansa.simulate")
    return got


def test_evaluation_json_follows_the_contract(results: dict[tuple[str, int], dict[str, Any]]) -> None:
    for (scenario, _seed), r in results.items():
        assert set(r) >= C3_KEYS
        assert r["actors"], scenario
        for a in r["actors"]:
            assert {"actor", "scenario", "detected", "days_to_detect"} <= set(a) and a["scenario"] == scenario


def test_ntt_west_maintainer_within_seven_days(results: dict[tuple[str, int], dict[str, Any]]) -> None:
    for r in _of(results, "ntt-west"):
        for a in r["actors"]:
            assert a["detected"] and a["days_to_detect"] <= 7, a


def test_suginami_clerk_within_thirty_days(results: dict[tuple[str, int], dict[str, Any]]) -> None:
    for r in _of(results, "suginami"):
        for a in r["actors"]:
            assert a["detected"] and a["days_to_detect"] <= 30, a


def test_reentrust_subcontractor_on_the_day_of_first_access(results: dict[tuple[str, int], dict[str, Any]]) -> None:
    for r in _of(results, "reentrust"):
        staff = [a for a in r["actors"] if a["kind"] == "unapproved_subcontractor"]
        assert staff
        for a in staff:
            assert a["detected"] and a["days_to_detect"] == 0, a


def test_at_most_one_false_finding_per_thousand_actor_days(results: dict[tuple[str, int], dict[str, Any]]) -> None:
    false = sum(r["false_findings"] for r in results.values())
    actor_days = sum(r["actor_days"] for r in results.values())
    assert actor_days > 2000  # enough exposure for the rate to mean something
    noisy = [(k, r["false_finding_days"]) for k, r in results.items() if r["false_findings"]]
    assert 1000 * false / actor_days <= 1.0, noisy
