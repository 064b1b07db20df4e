"""Property test of the reader: whatever the column order, header language (or no header),
encoding and delimiter, each column is understood as the same field."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kansa.trace.reader import read_table

from .people import make_people

PEOPLE = make_people(40, seed=31, prefix="P")
HEADERS = {
    "name": ["氏名", "お名前", "Name"],
    "kana": ["フリガナ", "カナ", "Kana"],
    "dob": ["生年月日", "誕生日", "Birth date"],
    "phone": ["電話番号", "TEL", "Phone"],
    "address": ["住所", "ご住所", "Address"],
}
VALUES = {
    "name": lambda p: p.name,
    "kana": lambda p: p.kana,
    "dob": lambda p: p.dob.strftime("%Y/%m/%d"),
    "phone": lambda p: p.phone,
    "address": lambda p: p.address,
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.permutations(list(VALUES)),
    header_choice=st.lists(st.integers(0, 2), min_size=5, max_size=5),
    with_header=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp932", "euc_jp"]),
    delimiter=st.sampled_from([",", "\t"]),
)
def test_columns_are_understood_in_any_order_language_and_encoding(
    order: list[str], header_choice: list[int], with_header: bool, encoding: str, delimiter: str
) -> None:
    lines = []
    if with_header:
        lines.append(delimiter.join(HEADERS[f][c] for f, c in zip(order, header_choice, strict=True)))
    lines += [delimiter.join(VALUES[f](p) for f in order) for p in PEOPLE]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "list.txt"
        path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
        table = read_table(path)
    assert table.has_header == with_header
    assert table.columns == {f: i for i, f in enumerate(order)}
    assert len(table.rows) == len(PEOPLE)
