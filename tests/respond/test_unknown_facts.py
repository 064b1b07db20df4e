"""Missing facts never yield a silent "not reportable": each unknown input asks who can answer.

Each case leaves out exactly one fact from an incident that is otherwise not reportable; the fact
could create a duty, so the answer must be "unknown" with a question naming that fact.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from kansa.respond import assess

# known and not reportable: 10 persons, names only, a mis-sent letter, a business's own data
BASE: dict[str, Any] = {
    "learned_at": "2026-11-02", "sector": "business", "role": "controller", "persons": 10,
    "categories": ["氏名"], "cause": "error", "jurisdictions": ["appi"], "encrypted": False,
}


def test_the_base_case_is_known_and_not_reportable() -> None:
    r = assess(BASE, date(2026, 11, 3))
    assert r["reportable"] is False and r["questions"] == [] and r["obligations"] == []
    # the sector only matters when a threshold differs: 10 persons is below both
    r = assess({k: v for k, v in BASE.items() if k != "sector"}, date(2026, 11, 3))
    assert r["reportable"] is False and r["questions"] == []


@pytest.mark.parametrize(
    ("missing", "asked", "also"),
    [
        ("persons", "persons", {}),
        ("categories", "categories", {}),
        ("cause", "cause", {}),
        # 500 persons: reportable for a public body (> 100), not for a business (> 1,000)
        ("sector", "sector", {"persons": 500}),
        ("jurisdictions", "jurisdictions", {}),
    ],
)
def test_one_missing_fact_makes_reportability_unknown(missing: str, asked: str, also: dict[str, Any]) -> None:
    inc = {k: v for k, v in BASE.items() if k != missing} | also
    r = assess(inc, date(2026, 11, 3))
    assert r["reportable"] == "unknown"
    facts = {q["fact"] for q in r["questions"]}
    assert asked in facts
    q = next(q for q in r["questions"] if q["fact"] == asked)
    assert q["text"].startswith("unknown: ask ") and q["who"] and q["because"]


def test_null_persons_written_as_unknown_in_yaml_words() -> None:
    r = assess({**BASE, "persons": "unknown"}, date(2026, 11, 3))
    assert r["reportable"] == "unknown"
    assert {q["fact"] for q in r["questions"]} == {"persons"}


def test_role_unknown_for_a_business_asks_role_not_sector() -> None:
    inc = {k: v for k, v in BASE.items() if k != "role"} | {"persons": 5000}
    r = assess(inc, date(2026, 11, 3))
    assert r["reportable"] == "unknown"
    assert {q["fact"] for q in r["questions"]} == {"role"}


def test_a_known_ground_decides_despite_other_unknowns() -> None:
    # 1,001 persons is reportable whatever the categories and cause turn out to be
    inc = {k: v for k, v in BASE.items() if k not in ("categories", "cause")} | {"persons": 1001}
    r = assess(inc, date(2026, 11, 3))
    assert r["reportable"] is True
    assert "appi.over1000" in {g["trigger"] for g in r["grounds"]}


def test_my_number_system_unknown_is_asked_not_guessed() -> None:
    r = assess({**BASE, "categories": ["氏名", "マイナンバー"]}, date(2026, 11, 3))
    assert r["reportable"] == "unknown"
    assert "my_number_system" in {q["fact"] for q in r["questions"]}
    r = assess({**BASE, "categories": ["氏名", "マイナンバー"], "my_number_system": False,
                "my_number_public": False}, date(2026, 11, 3))
    assert r["reportable"] is False


@pytest.mark.parametrize(("key", "value", "asked"), [("cause", "unknown", "cause"), ("cause", "不明", "cause"),
                                                     ("categories", [], "categories"), ("persons", None, "persons")])
def test_explicitly_unknown_values_ask_too(key: str, value: Any, asked: str) -> None:
    r = assess({**BASE, key: value, "persons": BASE["persons"] if key != "persons" else None}, date(2026, 11, 3))
    assert r["reportable"] == "unknown"
    assert asked in {q["fact"] for q in r["questions"]}


def test_follow_up_questions_wait_for_the_question_that_decides_them() -> None:
    bare = assess({"learned_at": "2026-11-02"}, date(2026, 11, 3))
    asked = {q["fact"]: q for q in bare["questions"]}
    # nothing known: ask which items leaked and which laws apply, not yet how My Number was held
    assert {"categories", "jurisdictions"} <= set(asked)
    assert not {"my_number_system", "my_number_public", "gdpr_role", "gdpr_high_risk"} & set(asked)
    # the held-back questions' duties are still named under the question asked
    assert "mynumber.preliminary_report" in asked["categories"]["because"]
    assert "gdpr.art33_authority" in asked["jurisdictions"]["because"]
    # once the data is known to hold My Number and GDPR applies, the follow-ups are asked
    known = assess({"learned_at": "2026-11-02", "categories": ["マイナンバー"], "jurisdictions": ["appi", "gdpr"]},
                   date(2026, 11, 3))
    assert {"my_number_system", "my_number_public", "gdpr_role"} <= {q["fact"] for q in known["questions"]}
