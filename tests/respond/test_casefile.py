"""The incident register: changes kept with who and when, sealed in the ledger; due/overdue/done."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kansa.cli.main import main
from kansa.ledger import verify
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace
from kansa.respond import (
    assess,
    countdown_lines,
    deadlines,
    entrustors_from_workspace,
    get_incident,
    incident_from_trace,
    list_incidents,
    mark_done,
    open_from_trace,
    open_incident,
    render_drafts,
    update_incident,
)
from kansa.respond.incident import parse_incident

FACTS: dict[str, Any] = {
    "learned_at": "2026-11-02", "sector": "business", "role": "controller", "persons": 5000,
    "categories": ["氏名"], "cause": "insider", "jurisdictions": ["appi"], "encrypted": False,
}

TRACE: dict[str, Any] = {
    "records": 1200, "attributed": 1100, "unattributed": 100,
    "owners": [
        {"owner": "pref-osaka", "dataset": "residents", "records": 700, "window": ["2024-01-01", "2024-06-30"]},
        {"owner": "ins-sakura", "dataset": "customers-v1", "records": 250, "window": None},
        {"owner": "ins-sakura", "dataset": "customers-v2", "records": 150, "window": None},
    ],
    "suspects": [{"actor": "a-17", "coverage": 0.9, "precision": 0.8, "significance": 1e-9,
                  "first_touch": "2024-01-02", "last_touch": "2024-06-01"}],
    "per_record": "per_record.csv",
}


def test_open_update_done_history_and_ledger(ws: Workspace) -> None:
    opened = open_incident(ws, FACTS, "tanaka")
    iid = opened["incident_id"]
    assert iid == "INC-2026-001" and opened["ledger_leaf"] is not None
    update_incident(ws, iid, {"persons": 800, "persons_upper": 1500}, "suzuki")
    mark_done(ws, iid, "appi.preliminary_report", "tanaka", on=date(2026, 11, 4), note="PPC receipt 123")
    got = get_incident(ws, iid, date(2026, 11, 10))
    assert [(h["version"], h["actor"], h["action"]) for h in got["history"]] == [
        (1, "tanaka", "open"), (2, "suzuki", "update"), (3, "tanaka", "done")]
    assert got["history"][1]["changes"] == {"set": {"persons": 800, "persons_upper": 1500},
                                            "before": {"persons": 5000, "persons_upper": None}}
    leaves = [h["ledger_leaf"] for h in got["history"]]
    assert None not in leaves and len(set(leaves)) == 3
    assert verify(ws)["ok"]
    states = {d["id"]: d["state"] for d in got["deadlines"]}
    assert states["appi.preliminary_report"] == "done"
    assert states["appi.final_report"] == "due"
    # a second incident of the same year gets the next number (wareki dates too)
    assert open_incident(ws, {**FACTS, "learned_at": "令和8年12月1日"}, "tanaka")["incident_id"] == "INC-2026-002"


def test_list_shows_overdue_due_and_done(ws: Workspace) -> None:
    iid = open_incident(ws, FACTS, "tanaka")["incident_id"]
    items = list_incidents(ws, date(2026, 11, 20))
    assert items[0]["incident_id"] == iid
    assert items[0]["counts"]["overdue"] == 1  # the 速報 (day 5 = 11-06) is late on 11-20
    mark_done(ws, iid, "appi.preliminary_report", "tanaka", on=date(2026, 11, 19))
    item = list_incidents(ws, date(2026, 11, 20))[0]
    assert item["counts"]["overdue"] == 0 and item["counts"]["done"] == 1
    done = next(d for d in item["deadlines"] if d["id"] == "appi.preliminary_report")
    assert done["late"] is True  # done after its due day: kept visible


def test_bad_changes_are_refused_and_nothing_is_stored(ws: Workspace) -> None:
    iid = open_incident(ws, FACTS, "tanaka")["incident_id"]
    with pytest.raises(KansaError, match="persns"):
        update_incident(ws, iid, {"persns": 3}, "suzuki")
    with pytest.raises(KansaError, match="no obligation"):
        mark_done(ws, iid, "appi.notify_entrustor", "suzuki")
    with pytest.raises(KansaError, match="no incident"):
        update_incident(ws, "INC-1999-001", {"persons": 3}, "suzuki")
    assert [h["version"] for h in get_incident(ws, iid, date(2026, 11, 3))["history"]] == [1]


def test_incident_from_trace_as_entrustee_and_as_owner() -> None:
    facts = incident_from_trace(TRACE, date(2026, 11, 2), role="entrustee", sector="business")
    assert facts["entrustors"] == ["ins-sakura", "pref-osaka"]
    assert facts["persons"] == 1100 and facts["persons_upper"] == 1200
    assert "a-17" not in json.dumps(facts)  # no staff named in the incident
    mine = incident_from_trace(TRACE, date(2026, 11, 2), owner="ins-sakura")
    assert mine["role"] == "controller" and mine["persons"] == 400 and mine["persons_upper"] == 500
    assert {o["dataset"] for o in mine["owners"]} == {"customers-v1", "customers-v2"}
    with pytest.raises(KansaError, match="not among"):
        incident_from_trace(TRACE, date(2026, 11, 2), owner="nobody")
    with pytest.raises(KansaError, match="not a trace result"):
        incident_from_trace({"rows": 3}, date(2026, 11, 2))
    # a result that only lists owners still counts their records
    bare = incident_from_trace({"owners": TRACE["owners"]}, date(2026, 11, 2))
    assert bare["persons"] == 1100 and "persons_upper" not in bare


def test_deadlines_function_orders_overdue_first() -> None:
    rows = deadlines(FACTS, date(2026, 11, 20))
    assert rows[0]["state"] == "overdue" and rows[0]["id"] == "appi.preliminary_report"
    assert {r["state"] for r in rows} <= {"overdue", "due", "asap", "to_confirm", "done"}
    assert all(r["how_computed"] for r in rows)
    lines = countdown_lines(rows)
    assert lines[0].startswith("[overdue]") and "14 days OVERDUE" in lines[0]
    assert any("2027-01-04" in line and "45 days left" in line for line in lines)  # 確報, 60 days (insider)


def test_cli_incident_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wsd = tmp_path / "w"
    assert main(["init", str(wsd)]) == 0
    trace = tmp_path / "trace.json"
    trace.write_text(json.dumps(TRACE), encoding="utf-8")
    capsys.readouterr()
    assert main(["incident", "open", "-w", str(wsd), "--from-trace", str(trace), "--learned-at", "2026-11-02",
                 "--set", "role=entrustee", "--set", "sector=business", "--set", "cause=insider",
                 "--by", "tanaka", "--json"]) == 0
    iid = json.loads(capsys.readouterr().out)["incident_id"]
    assert main(["incident", "update", "-w", str(wsd), iid, "--done", "appi.notify_entrustor", "--by", "sato"]) == 0
    capsys.readouterr()
    assert main(["incident", "list", "-w", str(wsd), "--today", "2026-11-04", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["counts"]["done"] == 1
    assert main(["incident", "show", "-w", str(wsd), iid, "--today", "2026-11-04"]) == 0
    shown = capsys.readouterr().out
    assert "sato" in shown and "appi.notify_entrustor" in shown
    assert main(["incident", "draft", "-w", str(wsd), iid, "--out", str(tmp_path / "d"), "--lang", "en",
                 "--today", "2026-11-04", "--by", "sato"]) == 0
    timeline = (tmp_path / "d" / "timeline.en.html").read_text(encoding="utf-8")
    assert "v2 (sato: done)" in timeline and (tmp_path / "d" / "notice-to-entrustor.en.html").exists()
    assert main(["incident", "update", "-w", str(wsd), iid, "--set", "persons"]) == 2
    assert main(["incident", "done", "-w", str(wsd), iid, "appi.final_report"]) == 2


def _registry(ws: Workspace) -> None:
    ws.con.execute("""INSERT INTO organisations (org_id, name, kind, sector) VALUES
        ('cc', '関西コールサービス株式会社', 'entrustee', 'business'),
        ('city_a', '明石市', 'owner', 'public_body'),
        ('ins_b', 'さくら損害保険', 'owner', 'business'),
        ('prime', '西日本マーケティング株式会社', 'entrustee', 'business'),
        ('sub', '大連データ入力', 'entrustee', 'business')""")
    ws.con.execute("""INSERT INTO contracts (contract_id, entrustor_id, entrustee_id, owners) VALUES
        ('C1', 'city_a', 'cc', ['city_a']),
        ('C2', 'ins_b', 'prime', ['ins_b']),
        ('C3', 'prime', 'cc', ['ins_b']),
        ('C4', 'cc', 'sub', ['city_a'])""")


def test_entrustors_come_from_contracts_with_sector_and_own_duty(ws: Workspace) -> None:
    _registry(ws)
    trace = {"records": 1000, "attributed": 950, "unattributed": 50,
             "owners": [{"owner": "city_a", "dataset": "residents", "records": 150},
                        {"owner": "ins_b", "dataset": "customers", "records": 800}]}
    facts = incident_from_trace(trace, date(2026, 11, 2), role="entrustee", cause="error", categories=["氏名"],
                                jurisdictions=["appi"])
    as_cc = entrustors_from_workspace(ws, facts, "cc")
    # the insurer's data came through the prime contractor: cc notifies whoever entrusted it
    assert [(e["name"], e["persons"]) for e in as_cc["entrustors"]] == [
        ("西日本マーケティング株式会社", 800), ("明石市", 150)]
    assert as_cc["controller_name"] == "関西コールサービス株式会社" and as_cc["sector"] == "business"
    assert {o["owner_name"] for o in as_cc["owners"]} == {"明石市", "さくら損害保険"}
    # without --as: the top of each owner's chain
    top = entrustors_from_workspace(ws, facts)
    assert {e["name"] for e in top["entrustors"]} == {"さくら損害保険", "明石市"}
    r = assess(as_cc, date(2026, 11, 3))
    # 1,000 rows of names by error: the contractor's own duty (> 1,000) is not triggered ...
    assert r["reportable"] is False
    # ... but the city, a public body with 150 of its residents (> 100), must likely report itself
    duties = {d["name"]: d for d in r["entrustor_duties"]}
    assert duties["明石市"]["reportable"] is True and duties["明石市"]["grounds"] == ["admin.over100"]
    assert duties["西日本マーケティング株式会社"]["reportable"] is False
    assert any("明石市" in n and "report itself" in n for n in r["notes"])
    advised = [o for o in r["obligations"] if o["status"] == "advised"]
    assert [(o["id"], o["recipients"], o["due"]) for o in advised] == [
        ("advice.notify_entrustor", ["明石市"], "2026-11-06")]
    assert [d["state"] for d in deadlines(as_cc, date(2026, 11, 3))] == ["advised"]
    letters = render_drafts(parse_incident(as_cc), date(2026, 11, 3), "ja")["notice-to-entrustor.ja.html"]
    city = letters[letters.index("明石市 御中"):]
    assert "報告対象となる可能性が高い" in city and "150人" in city
    with pytest.raises(KansaError, match="no such organisation"):
        entrustors_from_workspace(ws, facts, "nobody")


def test_a_change_that_cannot_be_sealed_is_not_stored(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import kansa.respond.casefile as casefile

    iid = open_incident(ws, FACTS, "tanaka")["incident_id"]

    def refuse(*_args: Any, **_kw: Any) -> int:
        raise KansaError("ledger unavailable")

    monkeypatch.setattr(casefile, "_journal", refuse)
    with pytest.raises(KansaError, match="ledger unavailable"):
        update_incident(ws, iid, {"persons": 3}, "suzuki")
    with pytest.raises(KansaError, match="ledger unavailable"):
        mark_done(ws, iid, "appi.preliminary_report", "suzuki", on=date(2026, 11, 3))
    got = get_incident(ws, iid, date(2026, 11, 3))
    assert got["version"] == 1 and got["facts"]["persons"] == 5000
    assert [h["version"] for h in got["history"]] == [1]
    assert all(d["state"] != "done" for d in got["deadlines"])


def test_open_from_trace_in_one_call(ws: Workspace) -> None:
    _registry(ws)
    trace = {"records": 1000, "attributed": 950, "unattributed": 50,
             "owners": [{"owner": "city_a", "dataset": "residents", "records": 150},
                        {"owner": "ins_b", "dataset": "customers", "records": 800}]}
    got = open_from_trace(ws, trace, date(2026, 11, 2), "demo", entrustee="cc", role="entrustee", cause="insider",
                          categories=["氏名"], jurisdictions=["appi"], today=date(2026, 11, 4))
    assert got["incident_id"] == "INC-2026-001" and got["reportable"] is False
    assert got["lines"] and all(line.startswith("[") for line in got["lines"])
    ob = next(d for d in got["deadlines"] if d["id"] == "appi.notify_entrustor")
    assert ob["recipients"] == ["西日本マーケティング株式会社", "明石市"] and ob["due"] == "2026-11-06"
    assert verify(ws)["ok"]


def test_categories_come_from_the_matched_datasets_per_entrustor(ws: Workspace) -> None:
    _registry(ws)
    ws.con.execute("""INSERT INTO datasets (dataset_id, owner_id, name, version, categories) VALUES
        ('city_a/health-check/2024', 'city_a', 'health-check', '2024', ['basic', 'health']),
        ('ins_b/customers/2024', 'ins_b', 'customers', '2024', ['basic', 'customer'])""")
    trace = {"records": 805, "attributed": 805, "unattributed": 0,
             "owners": [{"owner": "city_a", "dataset": "health-check", "records": 5,
                         "dataset_ids": ["city_a/health-check/2024"]},
                        {"owner": "ins_b", "dataset": "customers", "records": 800}]}
    facts = incident_from_trace(trace, date(2026, 11, 2), role="entrustee", cause="error", jurisdictions=["appi"])
    got = entrustors_from_workspace(ws, facts, "cc")
    assert got["categories"] == ["basic", "customer", "health"] and got["categories_from"] == "registry"
    r = assess(got, date(2026, 11, 3))
    # health results (要配慮) may have leaked: the contractor must notify its entrustors ...
    assert "appi.sensitive" in {g["trigger"] for g in r["grounds"]}
    duties = {d["name"]: d for d in r["entrustor_duties"]}
    # ... the city must likely report for only 5 residents (its own data holds health results),
    assert duties["明石市"]["reportable"] is True and duties["明石市"]["grounds"] == ["admin.sensitive"]
    # while the insurer's 800 customers' basic data is below its threshold
    assert duties["西日本マーケティング株式会社"]["reportable"] is False
    # categories the officer gives are kept as given
    given_cats = entrustors_from_workspace(ws, {**facts, "categories": ["氏名"]}, "cc")
    assert given_cats["categories"] == ["氏名"] and "categories_from" not in given_cats
    iid = open_incident(ws, got, "tanaka")["incident_id"]
    update_incident(ws, iid, {"categories": ["氏名", "住所"]}, "suzuki")
    after = get_incident(ws, iid, date(2026, 11, 3))
    assert after["facts"]["categories_from"] is None
    assert {d["name"]: d["reportable"] for d in after["assessment"]["entrustor_duties"]}["明石市"] is False


def _trace_file_shaped() -> dict[str, Any]:
    """A result shaped like kansa.trace.trace_file's today (contract C4 keys and the detail keys)."""
    return {
        "records": 81, "attributed": 73, "unattributed": 8,
        "owners": [{"owner": "city_a", "dataset": "health-check", "records": 73,
                    "window": {"from": "2024-01-01", "to": "2024-12-31", "versions": ["2024"],
                               "rows_fitting_one_version": 73},
                    "dataset_ids": ["city_a/health-check/2024"], "mean_probability": 0.998}],
        "suspects": [{"actor": "a-17", "coverage": 0.9, "precision": 0.8, "significance": 1e-9}],
        "per_record": "/ws/reports/trace/leak-1-4a38ed03273a.records.csv",
        "file": "leak-1.csv", "encoding": "cp932", "rows": 81, "matched_rows": 73, "unattributed_rows": 8,
        "unattributed_reasons": {"no candidate": 8}, "datasets": [], "actors": [], "matches": [],
        "until": "2026-11-02T23:59:59+09:00", "method": {"min_probability": 0.5},
    }


def test_open_from_trace_reads_the_current_trace_output(ws: Workspace) -> None:
    _registry(ws)
    # two versions of the city's file: only the 2024 one (health results) matched the leaked rows
    ws.con.execute("""INSERT INTO datasets (dataset_id, owner_id, name, version, categories) VALUES
        ('city_a/health-check/2023', 'city_a', 'health-check', '2023', ['basic']),
        ('city_a/health-check/2024', 'city_a', 'health-check', '2024', ['basic', 'health'])""")
    trace = _trace_file_shaped()
    got = open_from_trace(ws, trace, date(2026, 11, 2), "demo", entrustee="cc", role="entrustee", cause="insider",
                          jurisdictions=["appi"], today=date(2026, 11, 3))
    facts = got["facts"]
    assert facts["persons"] == 73 and facts["persons_upper"] == 81
    assert facts["owners"][0]["dataset_ids"] == ["city_a/health-check/2024"]
    assert facts["categories"] == ["basic", "health"] and facts["categories_from"] == "registry"
    assert "a-17" not in json.dumps(facts, ensure_ascii=False)  # suspects are not copied
    assert got["reportable"] is False  # the contractor's duty is met by telling the city ...
    assert [d["id"] for d in got["deadlines"]] == ["appi.notify_entrustor"]
    assert got["deadlines"][0]["recipients"] == ["明石市"] and got["deadlines"][0]["due"] == "2026-11-06"
    # ... which has its own duty (public body, health data of any number of residents)
    city = got["entrustor_duties"][0]
    assert city["name"] == "明石市" and city["reportable"] is True
    assert set(city["grounds"]) == {"admin.sensitive", "admin.wrongful"}
    assert got["lines"][0].startswith("[due]") and "明石市" in got["lines"][0]
    assert got["lines"][-1].startswith("[entrustor] 明石市") and "admin.sensitive" in got["lines"][-1]


def test_matched_dataset_version_decides_the_categories(ws: Workspace) -> None:
    _registry(ws)
    ws.con.execute("""INSERT INTO datasets (dataset_id, owner_id, name, version, categories) VALUES
        ('city_a/health-check/2023', 'city_a', 'health-check', '2023', ['basic']),
        ('city_a/health-check/2024', 'city_a', 'health-check', '2024', ['basic', 'health'])""")
    trace = _trace_file_shaped()
    trace["owners"][0]["dataset_ids"] = ["city_a/health-check/2023"]
    facts = incident_from_trace(trace, date(2026, 11, 2), role="entrustee", cause="error", jurisdictions=["appi"])
    got = entrustors_from_workspace(ws, facts, "cc")
    # the 2023 version held no health results: 73 names by error is below every threshold
    assert got["categories"] == ["basic"]
    r = assess(got, date(2026, 11, 3))
    assert r["reportable"] is False and r["entrustor_duties"][0]["reportable"] is False


def test_cli_assess_by_file_and_by_stored_incident_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wsd = tmp_path / "w"
    assert main(["init", str(wsd)]) == 0
    trace = tmp_path / "trace.json"
    trace.write_text(json.dumps(_trace_file_shaped()), encoding="utf-8")
    incident = tmp_path / "incident.yaml"
    incident.write_text("learned_at: 2026-11-02\nsector: business\nrole: controller\npersons: 1001\n"
                        "categories: [氏名]\ncause: error\nencrypted: false\njurisdictions: [appi]\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["respond", "assess", str(incident), "--today", "2026-11-03", "--json"]) == 0
    by_file = json.loads(capsys.readouterr().out)
    assert by_file["reportable"] is True and [g["trigger"] for g in by_file["grounds"]] == ["appi.over1000"]
    assert by_file["questions"] == []
    for o in by_file["obligations"]:
        assert {"to", "kind", "due", "basis", "how_computed"} <= set(o)
    assert {o["kind"]: o["due"] for o in by_file["obligations"]} == {
        "preliminary_report": "2026-11-06", "final_report": "2026-12-01", "notify_persons": None}

    assert main(["incident", "open", "-w", str(wsd), "--from-trace", str(trace), "--learned-at", "2026-11-02",
                 "--set", "role=entrustee", "--set", "sector=business", "--by", "tanaka", "--json"]) == 0
    iid = json.loads(capsys.readouterr().out)["incident_id"]
    assert main(["respond", "assess", iid, "-w", str(wsd), "--today", "2026-11-03", "--json"]) == 0
    stored = json.loads(capsys.readouterr().out)
    # cause not given: whether the contractor must notify depends on it (wrongful purpose), so kansa asks
    assert stored["reportable"] is False
    assert {q["fact"] for q in stored["questions"]} >= {"cause"}
    assert any(o["kind"] == "notify_entrustor" and o["status"] == "unknown" for o in stored["obligations"])
    assert main(["respond", "draft", iid, "-w", str(wsd), "--out", str(tmp_path / "d"), "--today", "2026-11-03"]) == 0
    assert (tmp_path / "d" / "timeline.ja.html").exists()
    assert main(["respond", "assess", "INC-2026-999", "-w", str(wsd)]) == 2
    assert "no incident" in capsys.readouterr().err
    assert main(["respond", "assess", str(tmp_path / "missing.yaml")]) == 2


FINDINGS: list[dict[str, Any]] = [  # rows as kansa audit findings --json prints them
    {"finding_id": "F-8695c8aac8c2", "rule": "usb_unexplained", "actor_id": "mt001", "day": "2024-01-30",
     "score": 9.1, "severity": "high", "reason_ja": "2024-01-30 に外部記録媒体へ 1 件のファイルを書き込み。",
     "reason_en": "Wrote 1 file to removable media on 2024-01-30.", "evidence": 4, "verdict": "confirmed"},
    {"finding_id": "F-b6de469c0ef0", "rule": "audit_silence", "actor_id": "mt001", "day": "2024-01-30",
     "score": 8.0, "severity": "high", "reason_ja": "管理者アカウントが監査ログなしで 8 分間接続。",
     "reason_en": "Admin account connected for 8 min with no audit line.", "evidence": 4, "verdict": "open"},
    {"finding_id": "F-000000000001", "rule": "off_hours", "actor_id": "op07", "day": "2024-01-02",
     "score": 2.0, "severity": "low", "reason_ja": "夜間の閲覧。", "reason_en": "Night-time browsing.",
     "evidence": 1, "verdict": "benign"},
]


def test_audit_findings_are_evidence_for_the_cause_without_naming_staff(ws: Workspace) -> None:
    _registry(ws)
    got = open_from_trace(ws, _trace_file_shaped(), date(2026, 11, 2), "demo", entrustee="cc", role="entrustee",
                          cause="insider", jurisdictions=["appi"], findings=FINDINGS, today=date(2026, 11, 3))
    assert "mt001" not in json.dumps(got, ensure_ascii=False)  # nor in what the call returns
    stored = get_incident(ws, got["incident_id"], date(2026, 11, 3))
    kept = stored["facts"]["findings"]
    # the benign one is dropped; what is kept carries no actor, in the register or in the ledger payload
    assert [f["finding_id"] for f in kept] == ["F-8695c8aac8c2", "F-b6de469c0ef0"]
    assert all("actor_id" not in f for f in kept)
    assert "mt001" not in json.dumps(stored, ensure_ascii=False, default=str)
    html = render_drafts(parse_incident(stored["facts"]), date(2026, 11, 3), "ja")
    report = html["ppc-report-preliminary.ja.html"]
    cause = report[report.index("(4)"):report.index("(5)")]
    assert "監査ログの所見" in cause and "F-8695c8aac8c2" in cause and "外部記録媒体" in cause
    assert "令和6年1月30日" in cause and "F-000000000001" not in report
    timeline = html["timeline.ja.html"]
    assert timeline.index("F-8695c8aac8c2") < timeline.index("事態を知った日")  # found before it was learned of
    with pytest.raises(KansaError, match="finding_id"):
        parse_incident({"learned_at": "2026-11-02", "findings": [{"rule": "x"}]})


def test_cli_findings_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wsd = tmp_path / "w"
    assert main(["init", str(wsd)]) == 0
    found = tmp_path / "findings.json"
    found.write_text(json.dumps(FINDINGS, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["incident", "open", "-w", str(wsd), "--learned-at", "2026-11-02", "--set", "persons=3",
                 "--findings", str(found), "--by", "tanaka", "--json"]) == 0
    iid = json.loads(capsys.readouterr().out)["incident_id"]
    assert main(["incident", "show", "-w", str(wsd), iid, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [f["finding_id"] for f in shown["facts"]["findings"]] == ["F-8695c8aac8c2", "F-b6de469c0ef0"]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["incident", "update", "-w", str(wsd), iid, "--findings", str(bad)]) == 2


def test_entrustor_lines_say_who_must_or_may_report() -> None:
    from kansa.respond.deadlines import entrustor_lines

    duties = [
        {"name": "明石市", "sector": "public_body", "persons": 150, "reportable": True, "grounds": ["admin.over100"],
         "unknown": []},
        {"name": "さくら損害保険", "sector": None, "persons": None, "reportable": "unknown", "grounds": [],
         "unknown": ["sector", "persons"]},
        {"name": "西日本マーケティング株式会社", "sector": "business", "persons": 800, "reportable": False,
         "grounds": [], "unknown": []},
    ]
    assert entrustor_lines(duties) == [
        "[entrustor] 明石市 (public_body, 150 persons) will likely have to report itself (admin.over100): tell it now",
        "[entrustor] さくら損害保険 (sector ?, ? persons) may have to report itself (open: sector, persons)",
    ]
