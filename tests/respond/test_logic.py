"""The three-valued rule language: agrees with ordinary logic on known values, and an unknown
part decides nothing that the known parts have not already decided."""

from __future__ import annotations

from itertools import product

from hypothesis import given
from hypothesis import strategies as st

from kansa.respond.logic import both, either, holds, unknown_facts

TRI = st.sampled_from([True, False, None])


@given(st.lists(st.booleans(), max_size=5))
def test_known_values_follow_ordinary_logic(values: list[bool]) -> None:
    assert both(list(values)) is all(values)
    assert either(list(values)) is any(values)


@given(st.lists(TRI, min_size=1, max_size=5))
def test_a_decided_result_holds_for_every_filling_of_the_unknowns(values: list[bool | None]) -> None:
    holes = [i for i, v in enumerate(values) if v is None]
    for fill in product([True, False], repeat=len(holes)):
        known = list(values)
        for i, b in zip(holes, fill, strict=True):
            known[i] = b
        if both(values) is not None:
            assert both(values) is all(known)
        if either(values) is not None:
            assert either(values) is any(known)


def test_conditions_and_the_facts_they_still_need() -> None:
    cond = {"all": [{"not": {"flag": "encrypted"}}, {"any": [{"flag": "sensitive"}, {"persons_over": 1000}]}]}
    assert holds(cond, {"encrypted": False, "sensitive": None, "persons": 1001}) is True
    assert holds(cond, {"encrypted": True, "sensitive": None, "persons": None}) is False
    facts = {"encrypted": False, "sensitive": None, "persons": None}
    assert holds(cond, facts) is None
    assert unknown_facts(cond, facts) == ["sensitive", "persons"]
