"""Trace speed: a damaged leaked list against indexed holdings, kansa beside plain Splink.

Holdings are synthetic people (names and readings from japanese-personal-name-dataset, recombined
family × given; birth dates, phones, addresses, postcodes drawn at random). The leak is a sample
of them with broker damage (a changed character in the name, a digit typo in the phone, a changed
house number, the reading column dropped) plus 10 % people nobody holds, written as a CSV.

Each measured step runs in its own child process, so that its CPU seconds (user + system, all
threads) and its peak RSS are its own (``os.wait4``):

* index — normalise and encode the holdings (HMAC + Bloom, in chunks of ``--chunk`` records, each
  stored as one dataset version), then estimate u (once per index state). One-off per dataset
  version, reported apart;
* kansa — ``trace_file`` on the leak CSV: read, normalise, encode, Splink linkage with kansa's
  model (pre-blocking on the index, registered term frequencies, stored u, EM on m), decide,
  per-record CSV, suspects (no access data here);
* splink — plain Splink on the same people in clear text: library comparisons (exact +
  Jaro-Winkler names, exact dates/phones/postcodes, Jaro-Winkler addresses), the same pairs of
  fields as blocking rules, u by random sampling (1e6 pairs), predict, best per leaked row.

    python -m benchmarks.trace_speed --holdings 1000000 --leak 100000 [--repeat 3] [--no-splink]
        [--keep DIR]

``--keep DIR`` keeps the generated data and the index in DIR and reuses them when DIR already
holds the same sizes: indexing ten million holdings is a one-off that need not be repeated for
every measurement of the trace.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

_PREFS = ["大阪府大阪市北区", "京都府京都市中京区", "兵庫県神戸市中央区", "奈良県奈良市", "滋賀県大津市",
          "和歌山県和歌山市", "岡山県岡山市北区", "広島県広島市中区", "徳島県徳島市", "香川県高松市"]
LEAK_COLUMNS = ["name", "dob", "phone", "address", "postcode"]
LEAK_HEADER = ["氏名", "生年月日", "電話番号", "住所", "郵便番号"]


def _name_pool() -> list[tuple[list[str], list[str]]]:
    import japanese_personal_name_dataset as jpn

    pool = []
    for i in range(3000):
        got = jpn.generate_random_full_name(gender="male" if i % 2 else "female", return_reading=True)
        assert isinstance(got, tuple)
        name, kana = (str(x).split() for x in got)
        if len(name) == 2 and len(kana) == 2:
            pool.append((name, kana))
    return pool


def people_chunks(n: int, seed: int, chunk: int = 500_000) -> Iterator[pd.DataFrame]:
    """``n`` synthetic people in DataFrames of at most ``chunk`` rows (ten million at once would
    not fit beside the steps measured)."""
    random.seed(seed)
    rng = random.Random(seed)
    pool = _name_pool()
    for start in range(0, n, chunk):
        rows = []
        for i in range(start, min(n, start + chunk)):
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
        yield pd.DataFrame(rows)


def people(n: int, seed: int) -> pd.DataFrame:
    return pd.concat(list(people_chunks(n, seed)), ignore_index=True)


def damaged_leak(picked: pd.DataFrame, n: int, seed: int) -> tuple[pd.DataFrame, dict[int, str]]:
    """The leak: ``picked`` held people plus strangers up to ``n`` rows, shuffled, with damage."""
    rng = random.Random(seed)
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
    return pd.DataFrame(rows, columns=LEAK_COLUMNS), truth


def prepare(work: Path, holdings_n: int, leak_n: int) -> None:
    """Holdings and leak in clear (synthetic people) for the children: Parquet and the leak CSV.
    The holdings are written chunk by chunk; 90 % of the leak is drawn from them on the way."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    held = int(leak_n * 0.9)
    wanted = set(random.Random(2).sample(range(holdings_n), held))
    picked: list[pd.DataFrame] = []
    writer: Any = None
    start = 0
    for part in people_chunks(holdings_n, 1):
        table = pa.Table.from_pandas(part, preserve_index=False)
        writer = writer or pq.ParquetWriter(work / "holdings.parquet", table.schema)
        writer.write_table(table)
        idx = [i - start for i in range(start, start + len(part)) if i in wanted]
        picked.append(part.iloc[idx])
        start += len(part)
    writer.close()
    leak, truth = damaged_leak(pd.concat(picked, ignore_index=True), leak_n, 2)
    leak.to_parquet(work / "leak.parquet")
    with (work / "leak.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(LEAK_HEADER)
        w.writerows(leak.itertuples(index=False))
    (work / "truth.json").write_text(json.dumps({str(k): v for k, v in truth.items()}), encoding="utf-8")


# --- children: one measured step each -------------------------------------------------------

def child_index(work: Path, chunk: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from kansa.model.workspace import init_workspace
    from kansa.trace.index import encode_table_rows, store_index
    from kansa.trace.linkage import u_probabilities

    ws = init_workspace(work / "ws")
    t = time.perf_counter()
    fields = ["address", "dob", "kana", "name", "phone", "postcode"]
    for k, batch in enumerate(pq.ParquetFile(work / "holdings.parquet").iter_batches(batch_size=chunk)):
        records: list[dict[str, object]] = batch.to_pylist()
        ids = [str(r.pop("id")) for r in records]
        enc = encode_table_rows(ws, records)
        ds = f"bench/people-{k}/1"
        rows = [(ds, i + 1, pid, *e) for i, (pid, e) in enumerate(zip(ids, enc, strict=True)) if e]
        del records, enc
        store_index(ws, ds, "bench", f"people-{k}", "1", rows, fields)
        del rows
    t_index = time.perf_counter() - t
    t = time.perf_counter()
    u_probabilities(ws)
    t_u = time.perf_counter() - t
    ws.close()
    return {"index_wall": t_index, "u_wall": t_u}


def child_kansa(work: Path) -> dict[str, Any]:
    from kansa.model.workspace import open_workspace
    from kansa.trace import trace_file

    ws = open_workspace(work / "ws")
    try:
        report = trace_file(ws, work / "leak.csv")
    finally:
        ws.close()
    # kept beside the data so that two versions of the code can be diffed on the same list
    shutil.copyfile(report["per_record"], work / "kansa.records.csv")
    (work / "kansa.report.json").write_text(json.dumps(report, default=str, ensure_ascii=False, indent=1),
                                            encoding="utf-8")
    found: dict[int, str] = {}
    with open(report["per_record"], encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["record_id"]:
                found[int(r["row"]) - 1] = r["record_id"]
    return {"found": found}


def child_splink(work: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    holdings = pq.read_table(work / "holdings.parquet")  # Arrow, not pandas objects: 10 M rows fit
    leak = pd.read_parquet(work / "leak.parquet")
    logging.getLogger("splink").setLevel(logging.ERROR)
    left = leak.assign(unique_id=[f"L{i}" for i in range(len(leak))], kana=None)
    right = holdings.rename_columns(["unique_id" if c == "id" else c for c in holdings.column_names])
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
        probability_two_random_records_match=1 / holdings.num_rows,
    )
    api = DuckDBAPI()
    linker = Linker([api.register(left), api.register(right)], settings, log_level=None)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    pred["leak"] = [lid if str(lid).startswith("L") else rid for lid, rid in zip(pred.unique_id_l, pred.unique_id_r, strict=True)]
    pred["hold"] = [rid if str(lid).startswith("L") else lid for lid, rid in zip(pred.unique_id_l, pred.unique_id_r, strict=True)]
    best = pred.sort_values("match_probability", ascending=False).drop_duplicates("leak")
    return {"found": {int(str(lk)[1:]): str(h) for lk, h in zip(best["leak"], best["hold"], strict=True)}}


CHILDREN = {"index": child_index, "kansa": child_kansa, "splink": child_splink}


def run_child(step: str, work: Path, chunk: int) -> dict[str, Any]:
    """Run one step in a child process; its wall and CPU seconds and peak RSS come with the result."""
    out = work / f"{step}.json"
    cmd = [sys.executable, "-m", "benchmarks.trace_speed", "--child", step, "--work", str(work),
           "--chunk", str(chunk)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{step} failed ({status})")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result.update(wall=wall, cpu=usage.ru_utime + usage.ru_stime, rss_mib=usage.ru_maxrss / 1024)
    return result


def _stamped(stamp: Path, sizes: dict[str, int]) -> bool:
    """Whether a kept directory already holds this step's output for these sizes."""
    return stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")) == sizes


def f1(found: dict[int, str], truth: dict[int, str]) -> float:
    tp = sum(1 for k, v in found.items() if truth.get(k) == v)
    return round(2 * tp / (len(found) + len(truth)), 4) if tp else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--holdings", type=int, default=200_000)
    ap.add_argument("--leak", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=500_000, help="holdings encoded and stored per dataset version")
    ap.add_argument("--no-splink", action="store_true", help="kansa only (when plain Splink cannot finish)")
    ap.add_argument("--keep", type=Path, help="directory keeping data and index between runs (reused when sizes match)")
    ap.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn: Any = CHILDREN[args.child]
        got = fn(args.work, args.chunk) if args.child == "index" else fn(args.work)
        if "found" in got:
            got["found"] = {str(k): v for k, v in got["found"].items()}
        (args.work / f"{args.child}.json").write_text(json.dumps(got), encoding="utf-8")
        return
    print(f"{platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}; "
          f"holdings {args.holdings}, leak {args.leak}")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        sizes = {"holdings": args.holdings, "leak": args.leak}
        data_stamp, index_stamp = work / "data.json", work / "index.json"
        if not _stamped(data_stamp, sizes):
            index_stamp.unlink(missing_ok=True)
            t = time.perf_counter()
            prepare(work, args.holdings, args.leak)
            print(f"generated in {time.perf_counter() - t:.0f} s", flush=True)
            data_stamp.write_text(json.dumps(sizes), encoding="utf-8")
        else:
            print(f"data reused from {work}", flush=True)
        if not _stamped(index_stamp, {**sizes, "chunk": args.chunk}):
            shutil.rmtree(work / "ws", ignore_errors=True)
            idx = run_child("index", work, args.chunk)
            print(f"index (normalise + encode + store): wall {idx['index_wall']:.0f} s; u estimate wall"
                  f" {idx['u_wall']:.0f} s; child CPU {idx['cpu']:.0f} s, peak RSS {idx['rss_mib']:.0f} MiB;"
                  f" load {os.getloadavg()[0]:.1f}", flush=True)
            index_stamp.write_text(json.dumps({**sizes, "chunk": args.chunk}), encoding="utf-8")
        else:
            print(f"index reused from {work}", flush=True)
        truth = {int(k): v for k, v in json.loads((work / "truth.json").read_text(encoding="utf-8")).items()}
        sides = ["kansa"] if args.no_splink else ["kansa", "splink"]
        runs: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
        for _ in range(args.repeat):
            for side in sides:
                r = run_child(side, work, args.chunk)
                r["f1"] = f1({int(k): v for k, v in r.pop("found").items()}, truth)
                r["load"] = os.getloadavg()[0]
                runs[side].append(r)
                print(f"  {side:7s} wall {r['wall']:7.1f} s  CPU {r['cpu']:7.1f} s  RSS {r['rss_mib']:6.0f} MiB"
                      f"  F1 {r['f1']}  load {r['load']:.1f}", flush=True)
    for side in sides:
        rs = runs[side]
        print(f"{side:7s} median wall {statistics.median(r['wall'] for r in rs):7.1f} s"
              f"  CPU {statistics.median(r['cpu'] for r in rs):7.1f} s  peak RSS {max(r['rss_mib'] for r in rs):6.0f} MiB"
              f"  F1 {rs[-1]['f1']}")


if __name__ == "__main__":
    main()
