"""Behaviour of the breach-reporting rules and deadlines."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kansa.model.errors import KansaError
from kansa.respond import assess, load_incident
from kansa.respond.calendar import add_business_days, add_calendar_days, is_office_closed


def _inc(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"discovered_at": "2026-11-02", "controller_kind": "business", "persons": 10}
    base.update(kw)
    return base


def _ids(result: dict[str, Any]) -> set[str]:
    return {o["id"] for o in result["obligations"]}


def test_thousand_persons_is_not_reportable_but_1001_is() -> None:
    assert not assess(_inc(persons=1000), date(2026, 11, 3))["reportable"]
    r = assess(_inc(persons=1001), date(2026, 11, 3))
    assert r["reportable"]
    assert "appi.preliminary_report" in _ids(r)
    pre = next(o for o in r["obligations"] if o["id"] == "appi.preliminary_report")
    assert [b["trigger"] for b in pre["because"]] == ["appi.over1000"]
    assert "第7条第4号" in pre["because"][0]["basis"]


def test_sensitive_data_of_one_person_is_reportable() -> None:
    r = assess(_inc(persons=1, categories=["要配慮個人情報"]), date(2026, 11, 3))
    assert r["reportable"]
    assert {"appi.preliminary_report", "appi.final_report", "appi.notify_persons"} <= _ids(r)


def test_administrative_organ_threshold_is_100() -> None:
    assert not assess(_inc(controller_kind="administrative_organ", persons=100), date(2026, 11, 3))["reportable"]
    assert "admin.preliminary_report" in _ids(
        assess(_inc(controller_kind="administrative_organ", persons=101), date(2026, 11, 3)))


def test_final_report_30_days_and_60_for_wrongful_purpose() -> None:
    # 2026-11-02 + 30 = 2026-12-02 (Wednesday, open)
    r = assess(_inc(persons=5000), date(2026, 11, 3))
    final = next(o for o in r["obligations"] if o["id"] == "appi.final_report")
    assert final["deadline"]["due"] == "2026-12-02"
    r = assess(_inc(persons=5, wrongful_act=True), date(2026, 11, 3))
    final = next(o for o in r["obligations"] if o["id"] == "appi.final_report")
    assert final["deadline"]["days"] == 60
    # 2026-11-02 + 60 = 2027-01-01, closed through 1/3 (Sunday) → Monday 2027-01-04
    assert final["deadline"]["due"] == "2027-01-04"
    assert final["deadline"]["rolled_from"] == "2027-01-01"


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


def test_entrustee_notifies_entrustor_instead_of_reporting() -> None:
    r = assess(_inc(controller_kind="entrustee", persons=5000), date(2026, 11, 3))
    assert _ids(r) == {"appi.notify_entrustor"}
    assert r["action_required"] and not r["reportable"]


def test_my_number_over_100() -> None:
    assert "mynumber.preliminary_report" not in _ids(assess(_inc(persons=100, my_number=True), date(2026, 11, 3)))
    assert "mynumber.preliminary_report" in _ids(assess(_inc(persons=101, my_number=True), date(2026, 11, 3)))


def test_gdpr_72_hours_and_art34() -> None:
    r = assess(_inc(discovered_at="2026-11-02T15:30:00", gdpr=True), date(2026, 11, 3))
    a33 = next(o for o in r["obligations"] if o["id"] == "gdpr.art33_authority")
    assert a33["deadline"]["due_at"] == "2026-11-05T15:30:00"
    assert "gdpr.art34_subjects" not in _ids(r)
    assert "gdpr.art34_subjects" in _ids(assess(_inc(gdpr=True, categories=["health"]), date(2026, 11, 3)))
    assert "gdpr.art33_authority" not in _ids(assess(_inc(gdpr=True, gdpr_unlikely_risk=True), date(2026, 11, 3)))


def test_bad_incident_names_file(tmp_path: Path) -> None:
    p = tmp_path / "inc.yaml"
    p.write_text("discovered_at: 2026-11-02\npersns: 5\n", encoding="utf-8")
    with pytest.raises(KansaError, match=r"inc\.yaml.*persns"):
        load_incident(p)
    p.write_text("discovered_at: [\n", encoding="utf-8")
    with pytest.raises(KansaError, match=r"inc\.yaml"):
        load_incident(p)


def test_yaml_dates_load(tmp_path: Path) -> None:
    p = tmp_path / "inc.yaml"
    p.write_text("discovered_at: 2026-11-02\npersons: 1001\ncategories: [basic]\n", encoding="utf-8")
    assert assess(load_incident(p), date(2026, 11, 3))["reportable"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("令和8年11月2日", "2026-11-02"), ("Ｒ８．１１．２", "2026-11-02"), ("令和元年5月1日", "2019-05-01"),
     ("平成31年4月30日", "2019-04-30")],
)
def test_wareki_discovery_dates(text: str, expected: str) -> None:
    r = assess(_inc(discovered_at=text), date(2027, 1, 1))
    assert r["incident"]["discovered_at"].startswith(expected)


def test_impossible_wareki_date_is_an_error() -> None:
    with pytest.raises(KansaError, match="discovered_at"):
        assess(_inc(discovered_at="令和8年2月30日"), date(2027, 1, 1))


def test_possible_upper_bound_decides_threshold() -> None:
    assert not assess(_inc(persons=800), date(2026, 11, 3))["reportable"]
    r = assess(_inc(persons=800, persons_upper=1200), date(2026, 11, 3))
    assert "appi.preliminary_report" in _ids(r)
    with pytest.raises(KansaError, match="persons_upper"):
        assess(_inc(persons=800, persons_upper=10), date(2026, 11, 3))
