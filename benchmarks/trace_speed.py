"""Trace speed: a damaged leaked list against indexed holdings, kansa beside plain Splink.

Holdings are synthetic people (names and readings from japanese-personal-name-dataset, recombined
family × given; birth dates, phones, addresses, postcodes drawn at random), written straight into
kansa's index as keyed hashes and Bloom filters (``store_index``): indexing is a one-off per
dataset version and is timed apart. The leak is a sample of them with broker damage (a changed
character in the name, a digit typo in the phone, a changed house number, the reading column
dropped) plus 10 % people nobody holds.

Timed per run:

* kansa — encode the leak (HMAC + Bloom), Splink linkage with kansa's model (pre-blocking
  on the index, registered term frequencies, cached u), best record per leaked row;
* peer — plain Splink on the same people in clear text: library comparisons (exact + Jaro-Winkler
  names and readings, exact dates/phones/postcodes, Jaro-Winkler addresses), the same pairs of
  fields as blocking rules, u by random sampling (1e6 pairs), predict, best per leaked row.

    python -m benchmarks.trace_speed --holdings 200000 --leak 20000 [--repeat 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

_PREFS = ["大阪府大阪市北区", "京都府京都市中京区", "兵庫県神戸市中央区", "奈良県奈良市", "滋賀県大津市",
          "和歌山県和歌山市", "岡山県岡山市北区", "広島県広島市中区", "徳島県徳島市", "香川県高松市"]


def people(n: int, seed: int) -> pd.DataFrame:
    import japanese_personal_name_dataset as jpn

    random.seed(seed)
    rng = random.Random(seed)
    pool = []
    for i in range(3000):
        got = jpn.generate_random_full_name(gender="male" if i % 2 else "female", return_reading=True)
        assert isinstance(got, tuple)
        name, kana = (str(x).split() for x in got)
        if len(name) == 2 and len(kana) == 2:
            pool.append((name, kana))
    rows = []
    for i in range(n):
        fam, giv = rng.choice(pool), rng.choice(pool)
        rows.append({
            "id": f"P{i:08d}",
            "name": fam[0][0] + giv[0][1],
            "kana": (fam[1][0] + giv[1][1]),
            "dob": (date(1930, 1, 1) + timedelta(days=rng.randrange(30000))).isoformat(),
            "phone": f"0{rng.randint(10, 99)}{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}",
            "address": f"{rng.choice(_PREFS)}{rng.choice('東西南北')}町{rng.randint(1, 9)}-{rng.randint(1, 40)}-{rng.randint(1, 30)}",
            "postcode": f"{rng.randint(1000000, 9999999)}",
        })
    return pd.DataFrame(rows)


def damaged_leak(holdings: pd.DataFrame, n: int, seed: int) -> tuple[pd.DataFrame, dict[int, str]]:
    rng = random.Random(seed)
    picked = holdings.sample(n=int(n * 0.9), random_state=seed)
    strangers = people(n - len(picked), seed + 1000).assign(id="")
    leak = pd.concat([picked, strangers]).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    rows = []
    for r in leak.itertuples():
        name, phone, address = str(r.name), str(r.phone), str(r.address)
        if rng.random() < 0.1:
            name = name[:-1] + "子"
        if rng.random() < 0.05:
            i = rng.randrange(len(phone))
            phone = phone[:i] + str((int(phone[i]) + 1) % 10) + phone[i + 1:]
        if rng.random() < 0.1:
            address = address[:-1] + str(rng.randint(0, 9))
        rows.append({"name": name, "dob": r.dob, "phone": phone, "address": address, "postcode": r.postcode})
    truth = {i: str(x) for i, x in enumerate(leak["id"]) if x}
    return pd.DataFrame(rows), truth


def _as_records(df: pd.DataFrame) -> list[dict[str, str]]:
    return [{str(k): str(v) for k, v in r.items()} for r in df.to_dict("records")]


def kansa_index(tmp: Path, holdings: pd.DataFrame) -> tuple[object, float, float]:
    from kansa.model.workspace import init_workspace
    from kansa.trace.index import encode_records, store_index
    from kansa.trace.linkage import u_probabilities

    ws = init_workspace(tmp / "ws")
    t = time.perf_counter()
    enc = encode_records(ws, _as_records(holdings.drop(columns=["id"])))
    rows = [("bench/people/1", i + 1, pid, *e) for i, (pid, e) in enumerate(zip(holdings["id"], enc, strict=True)) if e]
    store_index(ws, "bench/people/1", "bench", "people", "1", rows, ["address", "dob", "kana", "name", "phone", "postcode"])
    t_index = time.perf_counter() - t
    t = time.perf_counter()
    u_probabilities(ws)
    return ws, t_index, time.perf_counter() - t


def kansa_trace(ws: object, leak: pd.DataFrame) -> dict[int, str]:
    from kansa.model.workspace import Workspace
    from kansa.trace.attribution import MIN_PROBABILITY
    from kansa.trace.index import RECORD_COLUMNS, encode_records
    from kansa.trace.linkage import link

    assert isinstance(ws, Workspace)
    enc = encode_records(ws, _as_records(leak))
    frame = pd.DataFrame([(i, *e) for i, e in enumerate(enc) if e], columns=["row", *RECORD_COLUMNS])
    pairs = link(ws, frame, ["address", "dob", "name", "phone", "postcode"])
    best = pairs.sort_values("match_probability", ascending=False).drop_duplicates("row")
    best = best[best["match_probability"] >= MIN_PROBABILITY]
    return dict(zip(best["row"].astype(int), best["subject_id"].astype(str), strict=True))


def splink_plain(holdings: pd.DataFrame, leak: pd.DataFrame) -> dict[int, str]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    left = leak.assign(unique_id=[f"L{i}" for i in range(len(leak))], kana=None)
    right = holdings.rename(columns={"id": "unique_id"})
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("kana", [0.9, 0.7]),
            cl.ExactMatch("dob"),
            cl.DamerauLevenshteinAtThresholds("phone", [1]),
            cl.JaroWinklerAtThresholds("address", [0.95, 0.8]),
            cl.ExactMatch("postcode"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("name", "dob"), block_on("phone"), block_on("address"), block_on("name", "postcode"),
            block_on("dob", "postcode"),
        ],
        probability_two_random_records_match=1 / len(holdings),
    )
    api = DuckDBAPI()
    linker = Linker([api.register(left), api.register(right)], settings, log_level=None)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    pred["leak"] = [lid if str(lid).startswith("L") else rid for lid, rid in zip(pred.unique_id_l, pred.unique_id_r, strict=True)]
    pred["hold"] = [rid if str(lid).startswith("L") else lid for lid, rid in zip(pred.unique_id_l, pred.unique_id_r, strict=True)]
    best = pred.sort_values("match_probability", ascending=False).drop_duplicates("leak")
    return {int(str(lk)[1:]): str(h) for lk, h in zip(best["leak"], best["hold"], strict=True)}


def f1(found: dict[int, str], truth: dict[int, str]) -> float:
    tp = sum(1 for k, v in found.items() if truth.get(k) == v)
    return round(2 * tp / (len(found) + len(truth)), 4) if tp else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdings", type=int, default=200_000)
    ap.add_argument("--leak", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t = time.perf_counter()
    holdings = people(args.holdings, 1)
    leak, truth = damaged_leak(holdings, args.leak, 2)
    print(f"generated {len(holdings)} holdings, {len(leak)} leaked rows in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        ws, t_index, t_u = kansa_index(Path(tmp), holdings)
        print(f"kansa index (encode + store): {t_index:.1f} s; u estimate (once per index state): {t_u:.1f} s")
        times: dict[str, list[float]] = {"kansa": [], "splink": []}
        scores: dict[str, float] = {}
        for _ in range(args.repeat):
            t = time.perf_counter()
            scores["kansa"] = f1(kansa_trace(ws, leak), truth)
            times["kansa"].append(time.perf_counter() - t)
            t = time.perf_counter()
            scores["splink"] = f1(splink_plain(holdings, leak), truth)
            times["splink"].append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name in ("kansa", "splink"):
        print(f"{name:7s} median {statistics.median(times[name]):7.2f} s  runs {[round(x, 1) for x in times[name]]}"
              f"  F1 {scores[name]}")
    print(f"peak RSS of the process {rss:.0f} MiB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
