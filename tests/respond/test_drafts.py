"""Drafts: Japanese PDF renders (checked through poppler as pixels and text), empty facts are marked, CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from kansa.cli.main import main
from kansa.respond import draft, render_drafts
from kansa.respond.incident import parse_incident

INCIDENT = {
    "discovered_at": "2026-11-02",
    "sector": "business",
    "role": "entrustee",
    "entrustors": ["大阪府", "さくら損害保険"],
    "owners": [{"owner": "大阪府", "dataset": "住民名簿", "records": 700}],
    "persons": 1001,
    "categories": ["氏名", "住所"],
    "controller_name": "株式会社検証",
    "cause": "管理者権限の濫用",
}
KANJI_KANA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _pgm_pages(pdf: Path, out: Path) -> list[tuple[int, int, bytes]]:
    """Render every page to 8-bit greyscale PGM with poppler; (width, height, pixels) per page."""
    subprocess.run(["pdftoppm", "-gray", "-r", "30", str(pdf), str(out / pdf.stem)], check=True)
    pages = []
    for f in sorted(out.glob(f"{pdf.stem}*.pgm")):
        data = f.read_bytes()
        magic, w, h, maxval, pixels = data.split(maxsplit=4)
        assert magic == b"P5" and int(maxval) == 255
        pages.append((int(w), int(h), pixels[: int(w) * int(h)]))
    return pages


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils missing (make system-deps)")
def test_pdf_pages_are_drawn_and_read_back_in_japanese(tmp_path: Path) -> None:
    result = draft(INCIDENT, tmp_path, date(2026, 11, 3), lang="ja", pdf=True)
    pdfs = {Path(f).name: Path(f) for f in result["files"] if f.endswith(".pdf")}
    assert set(pdfs) == {"ppc-report-preliminary.ja.pdf", "ppc-report-final.ja.pdf", "notice-to-persons.ja.pdf",
                         "notice-to-entrustor.ja.pdf", "timeline.ja.pdf"}
    for name, pdf in pdfs.items():
        pages = _pgm_pages(pdf, tmp_path)
        assert pages, name
        for w, h, pixels in pages:
            dark = sum(1 for p in pixels if p < 128)
            assert dark / (w * h) > 0.002, f"{name}: page looks blank"
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True,
                              text=True).stdout
        assert len(KANJI_KANA.findall(text)) > 50, f"{name}: no Japanese text read back"
        assert "\ufffd" not in text and "□" not in text  # no missing glyphs
        for page in PdfReader(pdf).pages:  # pypdf agrees with poppler
            assert KANJI_KANA.search(page.extract_text() or "")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdfs["ppc-report-preliminary.ja.pdf"]), "-"],
                          check=True, capture_output=True, text=True).stdout
    assert "株式会社検証" in text and "速報" in text and "管理者権限の濫用" in text
    entrustor = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdfs["notice-to-entrustor.ja.pdf"]), "-"],
                               check=True, capture_output=True, text=True).stdout
    assert "大阪府" in entrustor and "さくら損害保険" in entrustor and "700" in entrustor
    assert len(PdfReader(pdfs["notice-to-entrustor.ja.pdf"]).pages) >= 2  # one page per entrustor
    notice = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdfs["notice-to-persons.ja.pdf"]), "-"],
                            check=True, capture_output=True, text=True).stdout
    assert "お詫び" in notice and "報告事項" not in notice  # split per draft


def test_missing_facts_are_marked_not_invented() -> None:
    inc = {k: v for k, v in INCIDENT.items() if k not in ("role", "entrustors", "owners")}
    html = render_drafts(parse_incident(inc), date(2026, 11, 3), "ja")["notice-to-persons.ja.html"]
    assert "未記入" in html  # no summary/secondary damage given
    en = render_drafts(parse_incident({**inc, "role": "controller"}), date(2026, 11, 3), "en")
    assert "(to fill in)" in en["ppc-report-final.en.html"] and "2026-12-01" in en["ppc-report-final.en.html"]
    assert "notice-to-entrustor.en.html" not in en
    unknown = render_drafts(parse_incident({**inc, "persons": None}), date(2026, 11, 3), "ja")
    assert "不明" in unknown["ppc-report-final.ja.html"]
    assert "確認が必要な事項" in unknown["ppc-report-final.ja.html"]


def test_countdown_and_timeline_show_state() -> None:
    inc = parse_incident({**INCIDENT, "role": "controller", "occurred_at": "2026-10-01"})
    out = render_drafts(inc, date(2026, 11, 20), "en", done={"appi.final_report": date(2026, 11, 19)})
    report = out["ppc-report-final.en.html"]
    assert "OVERDUE" in report and "14 days overdue" in report  # 速報 due 11-06, as of 11-20
    timeline = out["timeline.en.html"]
    assert timeline.index("2026-10-01") < timeline.index("2026-11-02") < timeline.index("2026-11-06")
    assert "done on 2026-11-19" in timeline


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


@pytest.mark.parametrize(
    ("day", "text"),
    [(date(2019, 5, 1), "令和元年5月1日（水）"), (date(2019, 4, 30), "平成31年4月30日（火）"),
     (date(2026, 11, 7), "令和8年11月7日（土）"), (date(1989, 1, 7), "昭和64年1月7日（土）")],
)
def test_wareki_dates_in_japanese_drafts(day: date, text: str) -> None:
    from kansa.respond.incident import to_wareki

    assert to_wareki(day) == text


def test_japanese_draft_writes_dates_and_computation_in_japanese() -> None:
    inc = parse_incident({**INCIDENT, "role": "controller", "discovered_at": "2026-11-02T10:30:00"})
    html = render_drafts(inc, date(2026, 11, 3), "ja")["ppc-report-final.ja.html"]
    assert "令和8年11月2日（月） 10:30" in html and "令和8年12月1日（火）" in html
    assert "知った日を1日目" in html and "day 1" not in html


def test_cause_kind_fills_the_cause_until_the_officer_describes_it() -> None:
    base = {"learned_at": "2026-11-02", "role": "controller", "persons": 5}
    html = render_drafts(parse_incident({**base, "cause": "insider"}), date(2026, 11, 3), "ja")
    assert "内部不正等）（詳細は調査中）" in html["ppc-report-final.ja.html"]
    html = render_drafts(parse_incident({**base, "cause": "insider", "cause_detail": "USBへの持ち出し"}),
                         date(2026, 11, 3), "ja")
    assert "USBへの持ち出し" in html["ppc-report-final.ja.html"]
    assert "詳細は調査中" not in html["ppc-report-final.ja.html"]


def test_gdpr_controller_gets_an_article_33_draft_with_its_four_items() -> None:
    inc = parse_incident({"learned_at": "2026-11-02T09:00:00", "role": "controller", "persons": 40,
                          "categories": ["health"], "jurisdictions": ["appi", "gdpr"], "contact": "dpo@example.eu"})
    out = render_drafts(inc, date(2026, 11, 6), "en")
    html = out["gdpr-art33-notification.en.html"]
    assert "2026-11-05 09:00" in html and "reasons for the delay" in html  # 72 h passed on 11-06
    for item in ("(a)", "(b)", "(c)", "(d)"):
        assert item in html
    assert "dpo@example.eu" in html
    processor = parse_incident({"learned_at": "2026-11-02", "role": "entrustee", "persons": 40,
                                "categories": ["health"], "jurisdictions": ["gdpr"]})
    assert "gdpr-art33-notification.en.html" not in render_drafts(processor, date(2026, 11, 3), "en")


def test_registry_category_words_read_as_japanese_items() -> None:
    inc = parse_incident({"learned_at": "2026-11-02", "role": "controller", "persons": 5,
                          "categories": ["basic", "health"], "categories_from": "registry"})
    ja = render_drafts(inc, date(2026, 11, 3), "ja")["ppc-report-final.ja.html"]
    assert "健康診断結果等（要配慮個人情報）" in ja and "実際に漏えいした項目は確認中" in ja
    en = render_drafts(inc, date(2026, 11, 3), "en")["ppc-report-final.en.html"]
    assert "basic, health" in en
