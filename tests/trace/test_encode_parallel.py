"""Normalising and encoding a large list over worker processes gives exactly the serial result,
row for row and in order (a row without any usable field stays None in its place)."""

from __future__ import annotations

import pytest

from kansa.model.workspace import Workspace
from kansa.trace import index

from .people import make_people


def test_parallel_encoding_equals_serial(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    people = make_people(120, seed=4, prefix="E")
    rows: list[dict[str, object]] = [
        {"name": p.name, "kana": p.kana, "dob": p.dob.isoformat(), "phone": p.phone, "address": p.address}
        for p in people
    ]
    rows[57] = {"sex": "男"}  # no usable personal field
    serial = index.encode_table_rows(ws, rows)
    monkeypatch.setattr(index, "PARALLEL_MIN", 10)
    monkeypatch.setattr(index, "_workers", lambda: 2)
    parallel = index.encode_table_rows(ws, rows)
    assert parallel == serial
    assert serial[57] is None and all(e is not None for i, e in enumerate(serial) if i != 57)
    assert len({tuple(e) for e in serial if e}) == 119  # different people, different encodings
