"""Behaviour of the breach-reporting rules and deadlines (non-table cases)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kansa.model.errors import KansaError
from kansa.respond import assess, load_incident
from kansa.respond.calendar import add_business_days, add_calendar_days, is_office_closed

# every fact known: a business, its own data, no special items, an error, APPI only
KNOWN: dict[str, Any] = {
    "learned_at": "2026-11-02", "sector": "business", "role": "controller", "persons": 10,
    "categories": ["氏名", "住所"], "cause": "error", "jurisdictions": ["appi"], "encrypted": False,
}


def _inc(**kw: Any) -> dict[str, Any]:
    base = dict(KNOWN)
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


def _ob(result: dict[str, Any], oid: str) -> dict[str, Any]:
    return next(o for o in result["obligations"] if o["id"] == oid)


def _ids(result: dict[str, Any], status: str = "required") -> set[str]:
    return {o["id"] for o in result["obligations"] if o["status"] == status}


def test_final_report_30_days_and_60_for_wrongful_purpose() -> None:
    # learned Monday 2026-11-02 = day 1 (guideline 3-5-3-4); day 30 = Tuesday 2026-12-01 (open)
    final = _ob(assess(_inc(persons=5000), date(2026, 11, 3)), "appi.final_report")
    assert final["deadline"]["due"] == "2026-12-01" and final["due"] == "2026-12-01"
    assert "day 1" in final["how_computed"] and "3-5-3-4" in final["how_computed"]
    final = _ob(assess(_inc(persons=5, cause="malicious"), date(2026, 11, 3)), "appi.final_report")
    assert final["deadline"]["days"] == 60
    # day 60 = 2026-12-31, closed through 1/3 (Sunday) → Monday 2027-01-04
    assert final["due"] == "2027-01-04"
    assert final["deadline"]["rolled_from"] == "2026-12-31"
    assert "2027-01-04" in final["how_computed"] and "closed day" in final["how_computed"]


def test_first_day_counting_is_configurable() -> None:
    final = _ob(assess(_inc(persons=5000, counting={"first_day_counts": False}), date(2026, 11, 3)),
                "appi.final_report")
    assert final["due"] == "2026-12-02"  # one day later: the Civil Code Art. 140 reading
    assert "Civil Code Art. 140" in final["how_computed"]
    pre = _ob(assess(_inc(persons=5000), date(2026, 11, 3)), "appi.preliminary_report")
    assert pre["due"] == "2026-11-06"  # day 5 of "about 3 to 5 days"


def test_unknown_wrongful_purpose_uses_the_earlier_final_date_and_asks() -> None:
    r = assess(_inc(persons=5000, cause=..., categories=["氏名"]), date(2026, 11, 3))
    assert r["reportable"] is True
    final = _ob(r, "appi.final_report")
    assert final["deadline"]["days"] == 30 and "60 if it is confirmed" in final["how_computed"]
    assert "cause" in {q["fact"] for q in r["questions"]}


def test_deadline_rolls_over_national_holiday() -> None:
    # 2026-04-29 (Showa Day, Wed) is closed → 2026-04-30
    assert is_office_closed(date(2026, 4, 29))
    assert add_calendar_days(date(2026, 3, 30), 30, roll_to_open_day=True) == date(2026, 4, 30)
    assert add_calendar_days(date(2026, 3, 30), 30) == date(2026, 4, 29)


def test_business_days_skip_golden_week() -> None:
    # Fri 2026-05-01, then 5/2-5/6 closed (weekend + Constitution, Greenery, Children's, substitute)
    assert add_business_days(date(2026, 5, 1), 1) == date(2026, 5, 7)


def test_overdue_is_flagged() -> None:
    r = assess(_inc(persons=2000), date(2026, 11, 20))
    assert "appi.preliminary_report" in r["overdue"]
    assert "appi.final_report" not in r["overdue"]


def test_entrustee_lists_every_entrustor_to_notify() -> None:
    r = assess(_inc(role="entrustee", persons=5000, entrustors=["A市", "B保険"]), date(2026, 11, 3))
    ob = _ob(r, "appi.notify_entrustor")
    assert ob["recipients"] == ["A市", "B保険"]
    assert "A市" in " ".join(r["notes"])
    r = assess(_inc(role="entrustee", persons=5000), date(2026, 11, 3))
    assert "entrustors" in {q["fact"] for q in r["questions"]}


def test_gdpr_72_hours_and_art34() -> None:
    r = assess(_inc(learned_at="2026-11-02T15:30:00", jurisdictions=["appi", "gdpr"]), date(2026, 11, 3))
    a33 = _ob(r, "gdpr.art33_authority")
    assert a33["due"] == "2026-11-05T15:30:00"
    assert "gdpr.art34_subjects" not in _ids(r)
    assert "gdpr.art34_subjects" in _ids(assess(_inc(jurisdictions=["gdpr"], categories=["health"]), date(2026, 11, 3)))
    assert "gdpr.art33_authority" not in _ids(assess(_inc(gdpr=True, gdpr_unlikely_risk=True), date(2026, 11, 3)))


def test_encryption_unknown_is_assumed_absent_and_asked() -> None:
    r = assess(_inc(persons=5000, encrypted=...), date(2026, 11, 3))
    assert r["reportable"] is True
    assert [a["fact"] for a in r["assumptions"]] == ["encrypted"]
    assert not assess(_inc(persons=5000, encrypted=True), date(2026, 11, 3))["assumptions"]


def test_bad_incident_names_file(tmp_path: Path) -> None:
    p = tmp_path / "inc.yaml"
    p.write_text("discovered_at: 2026-11-02\npersns: 5\n", encoding="utf-8")
    with pytest.raises(KansaError, match=r"inc\.yaml.*persns"):
        load_incident(p)
    p.write_text("discovered_at: [\n", encoding="utf-8")
    with pytest.raises(KansaError, match=r"inc\.yaml"):
        load_incident(p)
    p.write_text("learned_at: 2026-11-02\nsector: company\n", encoding="utf-8")
    with pytest.raises(KansaError, match=r"inc\.yaml.*sector"):
        load_incident(p)
    p.write_text("learned_at: 2026-11-02\ndiscovered_at: 2026-11-05\n", encoding="utf-8")
    with pytest.raises(KansaError, match=r"inc\.yaml.*discovered_at"):
        load_incident(p)


def test_yaml_issue_keys_load(tmp_path: Path) -> None:
    p = tmp_path / "inc.yaml"
    p.write_text(
        "learned_at: 2026-11-02\nsector: business\nrole: controller\npersons: 1001\ncategories: [basic]\n"
        "cause: error\nsuspected: true\nencrypted: false\njurisdictions: [appi]\n", encoding="utf-8")
    r = assess(load_incident(p), date(2026, 11, 3))
    assert r["reportable"] is True and r["questions"] == []
    assert [g["trigger"] for g in r["grounds"]] == ["appi.over1000"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("令和8年11月2日", "2026-11-02"), ("Ｒ８．１１．２", "2026-11-02"), ("令和元年5月1日", "2019-05-01"),
     ("平成31年4月30日", "2019-04-30")],
)
def test_wareki_discovery_dates(text: str, expected: str) -> None:
    r = assess(_inc(learned_at=text), date(2027, 1, 1))
    assert r["incident"]["discovered_at"].startswith(expected)


def test_impossible_wareki_date_is_an_error() -> None:
    with pytest.raises(KansaError, match="learned_at"):
        assess(_inc(learned_at="令和8年2月30日"), date(2027, 1, 1))


def test_possible_upper_bound_decides_threshold() -> None:
    assert assess(_inc(persons=800), date(2026, 11, 3))["reportable"] is False
    r = assess(_inc(persons=800, persons_upper=1200), date(2026, 11, 3))
    assert "appi.preliminary_report" in _ids(r)
    with pytest.raises(KansaError, match="persons_upper"):
        assess(_inc(persons=800, persons_upper=10), date(2026, 11, 3))
    # persons unknown but bounded by 900: the size rule is decided (false), nothing left to ask
    r = assess(_inc(persons=None, persons_upper=900), date(2026, 11, 3))
    assert r["reportable"] is False and r["questions"] == []


@pytest.mark.parametrize(
    ("facts", "expected"),
    [({"persons": "約1,200人"}, 1200), ({"persons": "１２００名"}, 1200), ({"persons": "1001"}, 1001),
     ({"sector": "地方公共団体", "persons": 101}, "public_body"), ({"role": "委託先"}, "entrustee"),
     ({"jurisdictions": ["個人情報保護法", "GDPR"]}, ("appi", "gdpr"))],
)
def test_words_officers_write_are_understood(facts: dict[str, Any], expected: Any) -> None:
    from kansa.respond.incident import parse_incident

    inc = parse_incident(_inc(**facts))
    got = {"persons": inc.persons, "sector": inc.sector, "role": inc.role,
           "jurisdictions": ("appi",) * inc.appi + ("gdpr",) * bool(inc.gdpr)}
    assert got[next(iter(facts))] == expected


def test_unreadable_counts_are_errors_not_zero() -> None:
    with pytest.raises(KansaError, match="persons"):
        assess(_inc(persons="たくさん"), date(2026, 11, 3))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp932"])
def test_incident_files_from_windows_editors_load(tmp_path: Path, encoding: str) -> None:
    p = tmp_path / "inc.yaml"
    p.write_bytes("learned_at: 令和8年11月2日\nsector: 民間\nrole: 自社\npersons: 1001\n".encode(encoding))
    inc = load_incident(p)
    assert inc.sector == "business" and inc.persons == 1001
    p.write_bytes(b"learned_at: \xff\xfe\x00\x81")
    with pytest.raises(KansaError, match=r"inc\.yaml.*UTF-8"):
        load_incident(p)


def test_open_day_counting_applies_to_prompt_deadlines_only() -> None:
    # learned on Friday 2026-11-06: open days Fri 6, Mon 9, Tue 10, Wed 11, Thu 12
    facts = {"learned_at": "2026-11-06", "persons": 5000, "counting": {"business_days": True}}
    r = assess(_inc(**facts), date(2026, 11, 6))
    pre = _ob(r, "appi.preliminary_report")
    assert pre["due"] == "2026-11-12" and "open day 5" in pre["how_computed"]
    # the 確報 period is fixed in days by the rules: still calendar day 30 (Sat 12-05 → Mon 12-07)
    final = _ob(r, "appi.final_report")
    assert final["due"] == "2026-12-07" and "calendar day 30" in final["how_computed"]
    default = _ob(assess(_inc(learned_at="2026-11-06", persons=5000), date(2026, 11, 6)), "appi.preliminary_report")
    assert default["due"] == "2026-11-10"  # the PPC reading: calendar day 5
    # not counting the day of learning: the 5th open day after it
    later = assess(_inc(**{**facts, "counting": {"business_days": True, "first_day_counts": False}}),
                   date(2026, 11, 6))
    assert _ob(later, "appi.preliminary_report")["due"] == "2026-11-13"
