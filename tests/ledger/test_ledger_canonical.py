"""The canonical row form: same row, same bytes, whatever the column order or time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
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


texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)


@settings(deadline=None, max_examples=60)  # a DuckDB connection per example: slow, not wrong
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), texts),
            st.one_of(st.none(), st.integers(-(2**62), 2**62)),
            st.one_of(st.none(), st.booleans()),
            st.one_of(st.none(), st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1),
                                              timezones=st.just(UTC))),
            st.one_of(st.none(), st.lists(st.one_of(st.none(), texts), max_size=4)),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_engine_frame_v2_equals_python_reference(rows: list[tuple[object, ...]]) -> None:
    """The leaf hash DuckDB computes for a row is the sha256 of framed_row() of the same row, whether
    the costly texts are built inside the frame or once beforehand (texts_sql, as sealing does)."""
    import hashlib

    import duckdb

    from kansa.ledger.canonical import framed_row, leaf_hash_sql, texts_sql

    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Tokyo'")  # the session zone must not matter
    con.execute("CREATE TABLE t (s VARCHAR, i BIGINT, b BOOLEAN, ts TIMESTAMPTZ, l VARCHAR[])")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [list(r) for r in rows])
    cols = [("s", "VARCHAR"), ("i", "BIGINT"), ("b", "BOOLEAN"), ("ts", "TIMESTAMP WITH TIME ZONE"),
            ("l", "VARCHAR[]")]
    names = [c for c, _ in cols]
    got = con.execute(
        f"SELECT {', '.join('e.' + n for n in names)}, {leaf_hash_sql('endpoint', cols)},"
        f" {leaf_hash_sql('endpoint', cols, texts=True)}"
        f" FROM (SELECT {', '.join(['e.*', *texts_sql(cols, 'e')])} FROM t e) e"
    ).fetchall()
    assert len(got) == len(rows)
    for *row, inline, once in got:
        ref = framed_row("endpoint", dict(zip(names, row, strict=True)))
        assert inline == once == hashlib.sha256(b"\x00" + ref).hexdigest()


def test_frame_v2_is_unambiguous_where_plain_joining_is_not() -> None:
    from kansa.ledger.canonical import framed_row

    assert framed_row("access", {"a": "x;b=1:y"}) != framed_row("access", {"a": "x", "b": "y"})
    assert framed_row("access", {"l": ["a", "b"]}) != framed_row("access", {"l": ["a1:b"]})
    assert framed_row("access", {"l": [None]}) != framed_row("access", {"l": ["~"]})
    assert framed_row("access", {"s": ""}) != framed_row("access", {})
