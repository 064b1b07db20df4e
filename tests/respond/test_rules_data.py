"""The rule set is data: check it is self-consistent, and deadline invariants hold for any day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kansa.model.errors import KansaError
from kansa.respond import assess
from kansa.respond.calendar import add_calendar_days, is_office_closed
from kansa.respond.engine import load_rules


def test_every_rule_cites_a_basis_and_references_known_triggers() -> None:
    rules = load_rules()
    trigger_ids = {t["id"] for t in rules.triggers}
    assert len(trigger_ids) == len(rules.triggers)
    for t in rules.triggers:
        assert t["basis"].strip() and t["why_ja"].strip() and t["why_en"].strip()
    for o in rules.obligations:
        assert o["basis"].strip()
        assert set(o["if_any"]) <= trigger_ids, o["id"]
        assert o["deadline"]["kind"] in {"calendar_days", "business_days", "hours", "asap"}


def test_every_fact_that_can_be_unknown_has_a_question_and_who_answers() -> None:
    from kansa.respond.engine import INCIDENT_KEY, facts_of
    from kansa.respond.incident import parse_incident

    rules = load_rules()
    # the facts left unknown when an incident says nothing but when it was learned
    bare = facts_of(parse_incident({"learned_at": "2026-11-02"}))
    unknown = {INCIDENT_KEY.get(k, k) for k, v in bare.items() if v is None}
    unknown |= {"sector", "role", "gdpr_role", "categories", "entrustors"}
    assert unknown - set(rules.questions) == set()
    for q in rules.questions.values():
        assert q["ja"].strip() and q["en"].strip() and q["who"].strip()


@given(st.dates(min_value=date(2022, 4, 1), max_value=date(2030, 12, 31)), st.integers(1, 90))
def test_rolled_deadline_is_open_and_not_early(start: date, days: int) -> None:
    due = add_calendar_days(start, days, roll_to_open_day=True)
    assert due >= start + timedelta(days=days)
    assert not is_office_closed(due)
    assert all(is_office_closed(d) for d in (start + timedelta(days=k) for k in range(days, (due - start).days)))


def test_today_before_discovery_is_refused() -> None:
    with pytest.raises(KansaError, match="before discovered_at"):
        assess({"discovered_at": "2026-11-02", "persons": 1}, date(2026, 11, 1))


def test_both_languages_offer_every_label_the_templates_use() -> None:
    import re
    from importlib import resources

    from kansa.respond.deadlines import STATES
    from kansa.respond.incident import CAUSES
    from kansa.respond.labels import LABELS

    assert set(LABELS["ja"]) == set(LABELS["en"])
    used: set[str] = set()
    for t in resources.files("kansa.respond").joinpath("templates").iterdir():
        text = t.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bL\.(\w+)", text)) | set(re.findall(r"\bL\[\"(\w+)\"\]", text))
    used |= {f"state_{s}" for s in STATES} | {f"cause_{c}" for c in CAUSES}
    assert used - set(LABELS["ja"]) == set()
