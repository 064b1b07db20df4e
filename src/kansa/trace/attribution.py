"""From scored candidate pairs to an attribution: each leaked row's owner, dataset and version.

Splink scores every candidate pair (``linkage``); this module decides. A row is attributed to
the record with the highest match probability when that probability is at least
``MIN_PROBABILITY`` (0.5: the match is more likely than not under the model — the Bayes decision
with equal costs; we do not fit it to any world). Otherwise it stays unattributed, with the
reason said. Per owner and dataset the versions that fit each row best give the validity
window: a leak copies one snapshot, so rows that fit only an old version (an address since
changed) narrow when the copy was made.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

MIN_PROBABILITY = 0.5
SAME = 1e-9
"""Probabilities closer than this are the same fit (versions holding the same values)."""


@dataclass
class Dataset:
    dataset_id: str
    owner: str
    name: str
    version: str | None
    records: int
    valid_from: Any = None
    valid_to: Any = None


@dataclass
class RowDecision:
    row: int  # 0-based data row
    dataset_id: str | None = None
    subject_id: str | None = None
    probability: float = 0.0
    reason: str = ""
    best_versions: list[str] = field(default_factory=list)  # dataset ids fitting equally best
    other_owners: list[str] = field(default_factory=list)  # also matched ≥ MIN_PROBABILITY


def decide(rows: int, usable: set[int], pairs: pd.DataFrame, meta: dict[str, Dataset]) -> list[RowDecision]:
    """One decision per leaked data row (0-based ``rows`` of them)."""
    by_row: dict[int, list[tuple[float, str, str]]] = defaultdict(list)
    for r, ds, subj, p in pairs[["row", "dataset_id", "subject_id", "match_probability"]].itertuples(index=False):
        by_row[int(r)].append((float(p), str(ds), str(subj)))
    out: list[RowDecision] = []
    for i in range(rows):
        d = RowDecision(i)
        out.append(d)
        if i not in usable:
            d.reason = "no usable personal field (name, reading, birth date, phone, address)"
            continue
        cands = sorted(by_row.get(i, []), key=lambda c: (-c[0], c[1], c[2]))
        if not cands:
            d.reason = "no indexed record shares a blocking key (name+birth date, phone, address, rare name…)"
            continue
        p, ds, subj = cands[0]
        if p < MIN_PROBABILITY:
            d.reason = f"best candidate {p:.2f} < {MIN_PROBABILITY} ({meta[ds].owner}/{meta[ds].name})"
            d.probability = p
            continue
        d.dataset_id, d.subject_id, d.probability = ds, subj, p
        top = meta[ds]
        d.best_versions = sorted(
            {c[1] for c in cands if p - c[0] <= SAME and (meta[c[1]].owner, meta[c[1]].name) == (top.owner, top.name)}
        )
        d.other_owners = sorted({meta[c[1]].owner for c in cands if c[0] >= MIN_PROBABILITY} - {top.owner})
    return out


def _iso(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)[:10]


def owners_summary(decisions: list[RowDecision], meta: dict[str, Dataset]) -> list[dict[str, Any]]:
    """Per owner and dataset name: rows, versions that fit, and the validity window they allow."""
    groups: dict[tuple[str, str], list[RowDecision]] = defaultdict(list)
    for d in decisions:
        if d.dataset_id is not None:
            m = meta[d.dataset_id]
            groups[(m.owner, m.name)].append(d)
    out = []
    for (owner, name), ds in groups.items():
        fitting = sorted({v for d in ds for v in d.best_versions})
        only = sorted({d.best_versions[0] for d in ds if len(d.best_versions) == 1})
        # all versions of this dataset fit equally unless some rows fit one version only
        narrowing = only or fitting
        froms = [meta[v].valid_from for v in narrowing]
        tos = [meta[v].valid_to for v in narrowing]
        window = {
            "from": None if any(_iso(f) is None for f in froms) else min(_iso(f) or "" for f in froms),
            "to": None if any(_iso(t) is None for t in tos) else max(_iso(t) or "" for t in tos),
            "versions": [meta[v].version for v in narrowing],
            "rows_fitting_one_version": sum(1 for d in ds if len(d.best_versions) == 1),
        }
        out.append({"owner": owner, "dataset": name, "records": len(ds), "window": window,
                    "dataset_ids": narrowing,
                    "mean_probability": round(sum(d.probability for d in ds) / len(ds), 4)})
    return sorted(out, key=lambda o: (-o["records"], o["owner"], o["dataset"]))


def write_per_record(path: Path, decisions: list[RowDecision], meta: dict[str, Dataset]) -> Path:
    """CSV (UTF-8, header): leaked data row (1-based) → owner, dataset, record_id, probability;
    empty where unattributed (then ``reason`` says why). Record ids only, never personal data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "owner", "dataset", "record_id", "probability", "version", "reason"])
        for d in decisions:
            if d.dataset_id is None:
                w.writerow([d.row + 1, "", "", "", "", "", d.reason])
            else:
                m = meta[d.dataset_id]
                w.writerow([d.row + 1, m.owner, m.name, d.subject_id, f"{d.probability:.6f}", m.version or "", ""])
    tmp.replace(path)
    return path
