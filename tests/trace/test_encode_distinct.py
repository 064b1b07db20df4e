"""Folding and encoding once per distinct value gives exactly what folding row by row gives.

The batch path (``kansa.trace.batch``) shares one normalised key, keyed hash and Bloom filter
between every row that holds the same raw value; nothing about a row may change because of the
rows around it — spelling variants, missing fields, addresses completed from their postcode,
spreadsheet numbers — and each field keeps its own keyed encoding.
"""

from __future__ import annotations

import random

import pytest

from kansa.model.workspace import Workspace
from kansa.trace import batch, index
from kansa.trace.encode import BLOOM_FIELDS, HASH_FIELDS, bloom, keyed_hash
from kansa.trace.normalize import normalise_record

from .people import make_people


def _reference(ws: Workspace, rows: list[dict[str, object]]) -> list[list[object] | None]:
    """Row by row: ``normalise_record`` then the per-record encoder."""
    return index.encode_records(ws, [normalise_record(r) for r in rows])


def _rows() -> list[dict[str, object]]:
    rng = random.Random(11)
    people = make_people(60, seed=9, prefix="D")
    rows: list[dict[str, object]] = []
    for p in people:
        base: dict[str, object] = {"name": p.name, "kana": p.kana, "dob": p.dob.isoformat(), "phone": p.phone,
                                   "address": p.address}
        rows.append(base)
        # the same person again, re-spelt: width, wareki, hyphens, a space in the name
        rows.append({"name": p.name[:1] + "\u3000" + p.name[1:], "kana": p.kana, "dob": p.dob.strftime("%Y/%m/%d"),
                     "phone": f"{p.phone[:3]}-{p.phone[3:7]}-{p.phone[7:]}", "address": p.address})
        if rng.random() < 0.3:
            rows.append({"name": p.name, "dob": p.dob.isoformat()})  # columns dropped
    # addresses written without municipality: completed from a postcode only when it names one area
    rows += [
        {"name": "山田太郎", "address": "梅田1丁目2-3", "postcode": "530-0001"},
        {"name": "山田花子", "address": "梅田1丁目2-3", "postcode": "5300001"},
        {"name": "山田次郎", "address": "梅田1丁目2-3"},
        {"name": "田中一郎", "address": "梅田1丁目2-3", "postcode": "100-0001"},
        {"name": "田中一郎", "address": "大阪市北区梅田1-2-3", "postcode": "530-0001"},
    ]
    # spreadsheet values, empty cells, a row with no usable field, a postcode alone
    rows += [
        {"name": "佐藤 一", "dob": 31107.0, "phone": 9012345678},
        {"name": "佐藤 一", "dob": "31107", "phone": "09012345678"},
        {"name": "", "kana": "", "dob": "", "phone": "", "address": ""},
        {"sex": "男"},
        {"postcode": "530-0001"},
    ]
    return rows


def test_distinct_folding_equals_row_by_row(ws: Workspace) -> None:
    rows = _rows()
    got = index.encode_table_rows(ws, rows)
    want = _reference(ws, rows)
    assert got == want
    completed = normalise_record(rows[-10])["address"]
    assert completed.startswith("大阪府大阪市北区")  # the postcode path was taken ...
    assert normalise_record(rows[-8])["address"] != completed  # ... and only with the postcode
    assert got[-3] is None and got[-2] is None and got[-1] is None


def test_each_field_keeps_its_own_keyed_encoding(ws: Workspace) -> None:
    """A row's columns are the field's keyed hash and Bloom filter of its normalised value: the
    field name is in every HMAC message and the key is the workspace's."""
    rows = _rows()[:40]
    hkey, bkey = index.trace_keys(ws)
    for raw, enc in zip(rows, index.encode_table_rows(ws, rows), strict=True):
        assert enc is not None
        norm = normalise_record(raw)
        cols = dict(zip(batch.RECORD_COLUMNS, enc, strict=True))
        for f in HASH_FIELDS:
            assert cols[f"h_{f}"] == (keyed_hash(hkey, f, norm[f]) if f in norm else None)
        for f in BLOOM_FIELDS:
            assert cols[f"bf_{f}"] == (bloom(bkey, f, norm[f]) if f in norm else None)
    # the same text in two fields, and the same field under another key, encode differently
    same = batch.fold_values(hkey, bkey, "name", ["ヤマダ"])[0]
    other_field = batch.fold_values(hkey, bkey, "kana", ["ヤマダ"])[0]
    other_key = batch.fold_values(b"x" * 32, b"y" * 32, "name", ["ヤマダ"])[0]
    assert same[2] != other_field[2] and same[3] != other_field[3]
    assert same[2] != other_key[2] and same[3] != other_key[3]


def test_parallel_folding_equals_serial(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows()
    serial = index.encode_table_rows(ws, rows)
    monkeypatch.setattr(index, "PARALLEL_MIN", 10)
    monkeypatch.setattr(batch, "PARALLEL_MIN", 10)
    monkeypatch.setattr(batch, "CHUNK", 7)
    monkeypatch.setattr(batch, "workers", lambda: 2)
    assert index.encode_table_rows(ws, rows) == serial
