"""Drafts: Japanese PDF renders, empty facts are marked, CLI wiring."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from kansa.cli.main import main
from kansa.respond import draft, render_drafts
from kansa.respond.incident import parse_incident

INCIDENT = {
    "discovered_at": "2026-11-02",
    "persons": 1001,
    "categories": ["氏名", "住所"],
    "controller_name": "株式会社検証",
    "cause": "管理者権限の濫用",
}


def test_pdf_contains_japanese(tmp_path: Path) -> None:
    result = draft(INCIDENT, tmp_path, date(2026, 11, 3), lang="ja", pdf=True)
    pdf = next(Path(f) for f in result["files"] if f.endswith("ppc-report-preliminary.ja.pdf"))
    text = "".join(page.extract_text() or "" for page in PdfReader(pdf).pages)
    assert "株式会社検証" in text
    assert "速報" in text
    assert "管理者権限の濫用" in text
    notice = next(Path(f) for f in result["files"] if f.endswith("notice-to-persons.ja.pdf"))
    notice_text = "".join(page.extract_text() or "" for page in PdfReader(notice).pages)
    assert "お詫び" in notice_text and "報告事項" not in notice_text  # split per draft


def test_missing_facts_are_marked_not_invented() -> None:
    html = render_drafts(parse_incident(INCIDENT), date(2026, 11, 3), "ja")["notice-to-persons.ja.html"]
    assert "未記入" in html  # no summary/secondary damage given
    en = render_drafts(parse_incident(INCIDENT), date(2026, 11, 3), "en")["ppc-report-final.en.html"]
    assert "(to fill in)" in en and "2026-12-02" in en


def test_user_text_is_escaped() -> None:
    html = render_drafts(parse_incident({**INCIDENT, "cause": "<script>x</script>"}), date(2026, 11, 3), "ja")
    assert "<script>x" not in html["ppc-report-final.ja.html"]


def test_cli_assess_json_and_bad_lang(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inc = tmp_path / "inc.yaml"
    inc.write_text("discovered_at: 2026-11-02\npersons: 1\ncategories: [要配慮個人情報]\n", encoding="utf-8")
    assert main(["respond", "assess", str(inc), "--today", "2026-11-03", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # a business or a public body would report, but an entrustee would notify its entrustor instead
    assert out["reportable"] == "unknown"
    assert "role" in {q["fact"] for q in out["questions"]}
    inc.write_text("discovered_at: 2026-11-02\nrole: controller\npersons: 1\ncategories: [要配慮個人情報]\n",
                   encoding="utf-8")
    assert main(["respond", "assess", str(inc), "--today", "2026-11-03", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reportable"] is True
    assert main(["respond", "assess", str(inc), "--today", "2026-11-03"]) == 0
    assert "reportable" in capsys.readouterr().out
    assert main(["respond", "draft", str(inc), "--out", str(tmp_path / "d"), "--lang", "fr"]) == 2
    assert main(["respond", "assess", str(inc), "--today", "03/11/2026"]) == 2
