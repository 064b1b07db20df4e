"""Suspects: evidence, not raw coverage. A nightly backup covers every leak and explains none; the
insider whose pull left no audit line is found by the removable-media copy after his silent
database session."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from kansa.model.workspace import Workspace
from kansa.trace import index_dataset, trace_file
from kansa.trace.suspects import significance

from .people import HEADER, make_people, write_csv

_next_id = iter(range(1, 1_000_000))


def _event(ws: Workspace, ts: str, actor: str, action: str, owner: str | None = "pref-a", *,
           resource: str | None = None, statement: str | None = None, subjects: list[str] | None = None) -> None:
    eid = next(_next_id)
    ws.con.execute(
        "INSERT INTO access_events (event_id, ts, actor_id, account, action, owner_id, resource, statement,"
        " source_system, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pgaudit', 1)",
        [eid, ts, actor, actor, action, owner, resource, statement],
    )
    for s in subjects or []:
        ws.con.execute("INSERT INTO access_subjects VALUES (?, ?, ?)", [eid, owner, s])


def _usb(ws: Workspace, ts: str, actor: str) -> None:
    ws.con.execute(
        "INSERT INTO endpoint_events (event_id, ts, actor_id, account, host, kind, path, to_removable, source_system,"
        " batch_id) VALUES (?, ?, ?, ?, 'PC-1', 'file_copy', 'F:\\\\list.csv', TRUE, 'endpoint', 1)",
        [next(_next_id), ts, actor, actor],
    )


@pytest.fixture
def setting(ws: Workspace, tmp_path: Path) -> Path:
    people = make_people(300, seed=11, prefix="A")
    index_dataset(ws, write_csv(tmp_path / "a.csv", HEADER, [p.row() for p in people]), "pref-a", "tax", "2024",
                  id_column="顧客番号")
    for actor, role in (("svc-backup", "service"), ("mallory", "maintainer"), ("op1", "operator"),
                        ("op2", "operator"), ("mt-honest", "maintainer")):
        ws.con.execute("INSERT INTO actors (actor_id, role) VALUES (?, ?)", [actor, role])
    leaked = people[:120]
    rng = random.Random(3)
    # the backup exports the whole table every night: covers everything, picks nobody
    for day in range(1, 8):
        _event(ws, f"2024-03-0{day} 02:00+09", "svc-backup", "export",
               statement="COPY pref_a.taxpayer TO '/backup/pref_a.csv'")
    # operators look people up one by one, as their work brings them
    _event(ws, "2024-03-02 10:00+09", "op1", "view", subjects=[p.pid for p in rng.sample(people, 30)])
    _event(ws, "2024-03-03 10:00+09", "op2", "view",
           subjects=[p.pid for p in leaked[:20]] + [p.pid for p in people[200:220]])
    # an honest maintainer's session with its audit lines, no copies
    _event(ws, "2024-03-04 10:00+09", "mt-honest", "login", None, resource="session:1")
    _event(ws, "2024-03-04 10:01+09", "mt-honest", "export", statement="SELECT count(*) FROM pref_a.taxpayer")
    _event(ws, "2024-03-04 10:02+09", "mt-honest", "logout", None, resource="session:1")
    # mallory: a database session that left no audit line, then a copy to a USB stick
    _event(ws, "2024-03-05 20:00+09", "mallory", "login", None, resource="session:2")
    _event(ws, "2024-03-05 20:20+09", "mallory", "logout", None, resource="session:2")
    _usb(ws, "2024-03-05 20:30+09", "mallory")
    rows = [[p.name, p.kana, p.dob.isoformat(), p.phone] for p in leaked]
    return write_csv(tmp_path / "leak.csv", ["氏名", "カナ", "生年月日", "電話"], rows)


def test_unlogged_pull_ranks_above_backup(ws: Workspace, setting: Path) -> None:
    report = trace_file(ws, setting)
    by = {s["actor"]: s for s in report["suspects"]}
    assert report["attributed"] == 120
    # the backup could have carried every leaked row, yet says nothing about who chose them
    assert by["svc-backup"]["coverage"] == 1.0 and by["svc-backup"]["significance"] == 0.0
    assert by["svc-backup"]["precision"] == pytest.approx(120 / 300, abs=1e-3)
    top = report["suspects"][0]
    assert top["actor"] == "mallory", [(s["actor"], s["tier"]) for s in report["suspects"]]
    assert top["removable_after_silent_session"] == 1 and top["coverage"] < by["svc-backup"]["coverage"]
    assert "mt-honest" not in by or by["mt-honest"]["tier"] == 4
    # op2 touched 20 leaked of 40: about what chance gives (120/300 of 40 = 16), not significant
    assert by["op2"]["precision"] == 0.5 and by["op2"]["significance"] < 3
    for key in ("actor", "coverage", "precision", "significance", "first_touch", "last_touch"):
        assert key in top


def test_logged_pull_then_usb_is_first(ws: Workspace, setting: Path) -> None:
    # the same insider, but this time his export was logged and the copy followed it
    _event(ws, "2024-03-06 20:00+09", "mallory", "export",
           statement="COPY (SELECT * FROM pref_a.taxpayer WHERE id BETWEEN $1 AND $2) TO STDOUT")
    _usb(ws, "2024-03-06 20:40+09", "mallory")
    report = trace_file(ws, setting)
    top = report["suspects"][0]
    assert top["actor"] == "mallory" and top["tier"] == 0 and top["removable_after_access"] == 1
    # evidence after the cut-off cannot explain the leak: before the 6th he had no logged access
    early = trace_file(ws, setting, until=date(2024, 3, 5))
    assert {s["actor"]: s for s in early["suspects"]}["mallory"]["tier"] == 1


def test_one_by_one_pick_of_the_leaked_people_is_significant(ws: Workspace, setting: Path) -> None:
    people = make_people(300, seed=11, prefix="A")
    _event(ws, "2024-03-06 11:00+09", "op1", "view", subjects=[p.pid for p in people[:100]])
    by = {s["actor"]: s for s in trace_file(ws, setting)["suspects"]}
    assert by["op1"]["significance"] > 20 and by["op1"]["tier"] == 2
    # a copy after a session that left no audit line still comes first
    assert trace_file(ws, setting)["suspects"][0]["actor"] == "mallory"


def test_significance_is_the_hypergeometric_tail() -> None:
    # drawing everything hits every leaked person: no information
    assert significance(300, 120, 300, 120) == 0.0
    # 10 draws, all leaked, from 120 of 300: p = C(120,10)/C(300,10)
    from math import comb, log10

    assert significance(300, 120, 10, 10) == pytest.approx(-log10(comb(120, 10) / comb(300, 10)), abs=0.01)
    assert significance(300, 120, 10, 0) == 0.0
