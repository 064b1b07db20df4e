"""The canonical row form: same row, same bytes, whatever the column order or time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kansa.ledger.canonical import canonical_row
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace

values = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(-(2**62), 2**62),
    st.booleans(),
    st.lists(st.text(max_size=4), max_size=3),
)


@given(st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=8), st.randoms())
def test_column_order_does_not_matter(row: dict[str, object], rnd: object) -> None:
    items = list(row.items())
    rnd.shuffle(items)  # type: ignore[attr-defined]
    assert canonical_row("access", dict(items)) == canonical_row("access", row)


@given(st.datetimes(timezones=st.just(UTC)), st.integers(-14 * 60, 14 * 60))
def test_same_instant_in_any_zone_gives_same_bytes(ts: datetime, offset_min: int) -> None:
    other = ts.astimezone(timezone(timedelta(minutes=offset_min)))
    assert canonical_row("endpoint", {"ts": other}) == canonical_row("endpoint", {"ts": ts})


def test_null_columns_are_left_out_but_values_are_not() -> None:
    base = canonical_row("access", {"event_id": 1, "purpose": None})
    assert base == canonical_row("access", {"event_id": 1})
    assert base != canonical_row("access", {"event_id": 1, "purpose": ""})
    assert canonical_row("access", {"columns": []}) != canonical_row("access", {})
    assert "氏名".encode() in canonical_row("access", {"columns": ["氏名"]})  # UTF-8, not \\u escapes


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        canonical_row("other", {})


def test_journal_refuses_payloads_that_are_not_plain_json(ws: Workspace) -> None:
    from kansa.ledger import journal

    with pytest.raises(KansaError):
        journal(ws, "triage", {"when": datetime.now(UTC)}, "auditor")
    with pytest.raises(KansaError):
        journal(ws, "", {}, "auditor")
