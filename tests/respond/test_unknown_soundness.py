"""Three-valued soundness: a decided answer never changes when the unknown facts become known.

If kansa says "reportable" (or "not reportable") while some facts are unknown, then every way of
filling in those facts must give the same answer; otherwise the answer had to be "unknown".
Facts the engine assumes (encryption absent, APPI applies) are held fixed, as it documents.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kansa.respond import assess

CATEGORY_WORDS = ["氏名", "住所", "病歴", "クレジットカード番号", "マイナンバー", "条例要配慮個人情報"]

SPACE: dict[str, st.SearchStrategy[Any]] = {
    "sector": st.sampled_from(["business", "public_body"]),
    "role": st.sampled_from(["controller", "entrustee"]),
    "persons": st.sampled_from([0, 1, 50, 100, 101, 999, 1000, 1001, 5000]),
    "categories": st.lists(st.sampled_from(CATEGORY_WORDS), min_size=1, max_size=3, unique=True),
    "cause": st.sampled_from(["malicious", "error", "loss"]),
    # APPI is assumed to apply until told otherwise (documented assumption), so completions keep it
    "jurisdictions": st.sampled_from([["appi"], ["appi", "gdpr"]]),
    "my_number_system": st.booleans(),
    "my_number_public": st.booleans(),
}


@st.composite
def partial_and_completion(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    full = {k: draw(s) for k, s in SPACE.items()}
    hidden = draw(st.sets(st.sampled_from(sorted(SPACE))))
    base = {"learned_at": "2026-11-02", "encrypted": draw(st.booleans())}
    partial = {**base, **{k: v for k, v in full.items() if k not in hidden}}
    return partial, {**base, **full}


@settings(max_examples=300, deadline=None)
@given(partial_and_completion())
def test_decided_answers_survive_learning_the_unknown_facts(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    partial, complete = case
    today = date(2026, 11, 3)
    before = assess(partial, today)["reportable"]
    after = assess(complete, today)["reportable"]
    assert after in (True, False), "all facts known: the answer must be decided"
    if before != "unknown":
        assert before == after, (partial, complete)


@settings(max_examples=100, deadline=None)
@given(partial_and_completion())
def test_required_obligations_stay_required(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    partial, complete = case
    today = date(2026, 11, 3)
    before = {o["id"] for o in assess(partial, today)["obligations"] if o["status"] == "required"}
    after = {o["id"] for o in assess(complete, today)["obligations"] if o["status"] == "required"}
    assert before <= after
