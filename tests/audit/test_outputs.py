"""Outputs: OCSF Detection Findings for a SIEM, and the HTML audit report with per-case timelines."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from audit_world import Builder, at, normal_days, registry

from kansa.audit import dismiss, export_ocsf, list_cases, list_findings, run_audit, write_report
from kansa.cli.main import main
from kansa.model.workspace import Workspace

RULES = ["bulk_pull", "no_task", "usb_after_download"]


@pytest.fixture
def world(ws: Workspace) -> Builder:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 25)
    b.access(at(22, 14), "op1", "export", "pref-a", [], rows=5000, resource="app/export", tag="bulk")
    b.usb(at(22, 16), "u-op1", tag="usb")
    b.access(at(12, 11), "op2", "view", "city-b", ["C001", "C002"])
    run_audit(ws, rules=RULES)
    return b


def test_ocsf_records_are_detection_findings(ws: Workspace, world: Builder, tmp_path: Path) -> None:
    out = tmp_path / "siem" / "findings.json"
    result = export_ocsf(ws, out)
    records = json.loads(out.read_text(encoding="utf-8"))
    assert result["findings"] == len(records) == len(list_findings(ws))
    for r in records:
        assert r["class_uid"] == 2004 and r["category_uid"] == 2 and r["type_uid"] == 200401
        assert r["metadata"]["product"]["name"] == "kansa" and r["finding_info"]["uid"].startswith("F-")
        assert r["severity_id"] in (2, 3, 4) and r["status_id"] == 1
    usb = next(r for r in records if r["finding_info"]["analytic"]["uid"] == "usb_after_download")
    assert usb["severity_id"] == 4 and usb["evidences"][0]["actor"]["user"]["uid"] == "op1"
    assert world.ids["usb"] == usb["evidences"][1]["data"]["endpoint_event_ids"]
    assert world.ids["bulk"][0] in usb["evidences"][0]["data"]["access_event_ids"]
    assert usb["resources"] == [{"uid": "pref-a", "type": "data_owner"}]
    assert usb["unmapped"]["reason_ja"] and usb["finding_info"]["first_seen_time"] is not None
    # no record id of a person leaves through the export
    assert "C001" not in out.read_text(encoding="utf-8")


def test_dismissed_findings_are_exported_as_suppressed(ws: Workspace, world: Builder, tmp_path: Path) -> None:
    cid = next(c["case_id"] for c in list_cases(ws) if c["who"] == "op2")
    dismiss(ws, cid, "front desk", by="a")
    records = json.loads(Path(export_ocsf(ws, tmp_path / "f.json")["path"]).read_text(encoding="utf-8"))
    op2 = [r for r in records if r["evidences"][0]["actor"]["user"]["uid"] == "op2"]
    assert op2 and all(r["status_id"] == 3 for r in op2)
    assert export_ocsf(ws, tmp_path / "g.json", include_suppressed=False)["findings"] == len(records) - len(op2)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.svgs = 0
        self.rects = 0
        self.marks = 0
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.svgs += tag == "svg"
        self.rects += tag == "rect"
        self.marks += tag == "polygon"
        if tag == "div" and a.get("id"):
            self.ids.append(str(a["id"]))


def test_html_report_has_a_timeline_per_case(ws: Workspace, world: Builder) -> None:
    path = write_report(ws)
    assert path.parent == ws.reports_dir and path.name == f"audit-{at(25, 0).date()}.html"
    html = path.read_text(encoding="utf-8")
    page = _Collect()
    page.feed(html)
    cases = list_cases(ws)
    assert page.ids == [c["case_id"] for c in cases]
    assert page.svgs == len(cases) and page.rects > len(cases) * 14
    assert page.marks == 1  # op1's one day with a removable-media write
    assert "pref-a" in html and "city-b" in html and "Owners affected" in html
    assert not re.search(r"<script", html)


def test_report_and_export_commands(ws: Workspace, world: Builder, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = str(ws.root)
    ws.close()
    assert main(["audit", "report", "-w", root, "--out", str(tmp_path / "r.html"), "--json"]) == 0
    assert Path(json.loads(capsys.readouterr().out)["report"]).exists()
    assert main(["findings", "export", "--ocsf", str(tmp_path / "o.json"), "-w", root, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] > 0
