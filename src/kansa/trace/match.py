"""Trace a leaked list: whose dataset (and version) each row came from, and who could have taken it.

The steps, each in its own module:

1. ``reader`` / ``normalize`` read the list as it is and fold each field to canonical text;
   ``index.encode_table_rows`` turns it into the same keyed hashes and Bloom filters as the index.
2. ``linkage`` runs the Fellegi–Sunter model (``splink_settings``) with Splink on DuckDB: every
   leaked row against the indexed records it shares a blocking key with.
3. ``attribution`` decides per row (best owner/dataset/version with its probability, or
   unattributed with the reason), sums per owner and dataset with the validity window, and writes
   the per-record CSV.
4. ``suspects`` joins the attributed (owner, record id) pairs with the access model.

The report names leaked rows by number only; it never repeats their content.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from kansa.model.workspace import Workspace
from kansa.trace.attribution import MIN_PROBABILITY, Dataset, decide, owners_summary, write_per_record
from kansa.trace.index import RECORD_COLUMNS, encode_table_rows, ensure_trace_tables
from kansa.trace.linkage import MAX_BLOCK, link
from kansa.trace.reader import read_table
from kansa.trace.suspects import rank_suspects


def _datasets(ws: Workspace) -> dict[str, Dataset]:
    """Indexed datasets, with the validity window from the index or else the access model."""
    rows = ws.con.cursor().execute(
        """SELECT t.dataset_id, t.owner_id, t.name, t.version, coalesce(t.records, 0),
                  coalesce(t.valid_from, d.valid_from), coalesce(t.valid_to, d.valid_to)
           FROM trace_datasets t LEFT JOIN datasets d USING (dataset_id)"""
    ).fetchall()
    return {r[0]: Dataset(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6]) for r in rows}


def _cutoff(ws: Workspace, until: date | datetime | None) -> datetime | None:
    if isinstance(until, datetime):
        return until if until.tzinfo else until.replace(tzinfo=ws.timezone)
    if isinstance(until, date):
        return datetime.combine(until + timedelta(days=1), time(0), tzinfo=ws.timezone)
    return None


def trace_file(ws: Workspace, path: Path, until: date | datetime | None = None) -> dict[str, Any]:
    """Attribute a leaked list to indexed datasets and rank who could have leaked it.

    ``until`` (e.g. the day the list was found) limits the evidence to events before it: what
    happened after the leak surfaced cannot explain it. A date means the end of that local day.
    Returns the contract C4 keys (records, attributed, unattributed, owners, suspects,
    per_record) and the detail keys (datasets, matches, actors, unattributed_lines, ...).
    """
    cutoff = _cutoff(ws, until)
    ensure_trace_tables(ws)
    path = Path(path)
    table = read_table(path)
    fields = table.canonical_fields
    encoded = encode_table_rows(ws, [table.fields(r) for r in table.rows])
    leak = pd.DataFrame([(i, *e) for i, e in enumerate(encoded) if e is not None], columns=["row", *RECORD_COLUMNS])
    pairs = link(ws, leak, fields)
    meta = _datasets(ws)
    total = len(table.rows)
    decisions = decide(total, set(leak["row"]), pairs, meta)
    attributed = [d for d in decisions if d.dataset_id is not None]

    # per dataset (version): rows it holds with p ≥ 0.5, and rows for which it is the best version
    strong = pairs[pairs["match_probability"] >= MIN_PROBABILITY]
    matched = {str(k): int(v) for k, v in strong.groupby("dataset_id")["row"].nunique().items()}
    best_version: dict[str, int] = {}
    for d in attributed:
        for v in d.best_versions:
            best_version[v] = best_version.get(v, 0) + 1
    datasets: list[dict[str, Any]] = []
    for ds, n in matched.items():
        m = meta[ds]
        datasets.append({"dataset_id": ds, "owner": m.owner, "name": m.name, "version": m.version,
                         "records": m.records, "matched": int(n), "best_version": best_version.get(ds, 0),
                         "share": round(n / total, 4) if total else 0.0,
                         "coverage": round(n / m.records, 4) if m.records else 0.0})
    datasets.sort(key=lambda d: (-d["matched"], d["dataset_id"]))

    leaked = pd.DataFrame([(meta[d.dataset_id].owner, d.subject_id) for d in attributed if d.dataset_id],
                          columns=["owner_id", "subject_id"])
    ranked = rank_suspects(ws, leaked, _people_per_owner(meta), cutoff)

    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    per_record = write_per_record(ws.reports_dir / "trace" / f"{path.stem}-{digest}.records.csv", decisions, meta)
    unattributed = [d for d in decisions if d.dataset_id is None]
    reasons: dict[str, int] = {}
    for d in unattributed:
        key = d.reason.split(" (")[0] if not d.reason.startswith("best candidate") else "best candidate below 0.5"
        reasons[key] = reasons.get(key, 0) + 1
    return {
        # contract C4
        "records": total,
        "attributed": len(attributed),
        "unattributed": len(unattributed),
        "owners": owners_summary(decisions, meta),
        "suspects": ranked["suspects"],
        "per_record": str(per_record),
        # detail
        "file": str(path),
        "encoding": table.encoding,
        "fields": fields,
        "rows": total,
        "matched_rows": len(attributed),
        "unattributed_rows": len(unattributed),
        "unattributed_reasons": reasons,
        "unattributed_lines": [table.line_of(d.row) for d in unattributed][:100],
        "ambiguous_rows": sum(1 for d in attributed if d.other_owners),
        "unexplained_by_logged_access": ranked["unexplained"],
        "datasets": datasets,
        "actors": ranked["suspects"],
        "until": cutoff,
        # per leaked line its record (owner record ids, never names): the owner notifies exactly these
        "matches": [
            {"line": table.line_of(d.row), "row": d.row + 1, "dataset_id": d.dataset_id,
             "owner": meta[d.dataset_id].owner, "subject_id": d.subject_id, "probability": round(d.probability, 6),
             "score": round(d.probability, 3), "also_owners": d.other_owners}
            for d in attributed if d.dataset_id is not None
        ],
        "method": {"linkage": "Fellegi–Sunter (Splink, DuckDB) on keyed hashes and Bloom-filter Dice",
                   "min_probability": MIN_PROBABILITY, "max_block": MAX_BLOCK},
    }


def _people_per_owner(meta: dict[str, Dataset]) -> dict[str, int]:
    """People indexed per owner: per dataset name its largest version (versions repeat people)."""
    per_name: dict[tuple[str, str], int] = {}
    for m in meta.values():
        per_name[(m.owner, m.name)] = max(per_name.get((m.owner, m.name), 0), m.records)
    out: dict[str, int] = {}
    for (owner, _name), n in per_name.items():
        out[owner] = out.get(owner, 0) + n
    return out
