"""Attribute a leaked list: whose dataset (and version) each row came from, and who accessed them.

Two stages, as in privacy-preserving record linkage:

1. Blocking by keyed hashes. A leaked row is compared only with indexed records that share at
   least one hash (name+dob, phone, ...). Single-field blocks that would pull in more than
   ``MAX_BLOCK`` candidates (a common birthday, 佐藤) are dropped: they carry no evidence.
2. Scoring by Bloom-filter Dice similarity over the fields both sides have. A candidate is a
   match when a strong key (two fields) agrees exactly, or when the mean Dice is at least
   ``MIN_DICE`` over at least two fields. 0.8 is the reason-set threshold: one typo in a name
   (about two of six bigrams changed) with the other fields equal stays above it; two unrelated
   people who share only a birthday score about 0.5–0.6 and stay below it.

Then the matched (owner, record id) pairs are joined with the access model: an actor who touched
many of the leaked subjects, especially by export, is the first candidate to look at. The report
names leaked rows by line number only; it never repeats their content.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from kansa.model.workspace import Workspace
from kansa.trace.encode import BLOOM_FIELDS, STRONG_KEYS, similarity
from kansa.trace.index import encode_table_rows, ensure_trace_tables
from kansa.trace.reader import read_table

MAX_BLOCK = 200
MIN_DICE = 0.8
TOP_ACTORS = 10
_STRONG = {"+".join(c) for c in STRONG_KEYS}


def _candidates(ws: Workspace, hashes: list[list[tuple[str, str]]]) -> list[tuple[Any, ...]]:
    rows = [(i, kind, digest) for i, hs in enumerate(hashes) for kind, digest in hs]
    leak = pd.DataFrame(rows, columns=["row", "kind", "digest"])
    con = ws.con.cursor()  # own cursor: the shared connection may hold an unfetched result
    con.register("leak_keys", leak)
    try:
        return con.execute(
            f"""
            WITH hits AS (
                SELECT l.row, l.kind, k.dataset_id, k.record_no,
                       count(*) OVER (PARTITION BY l.row, l.kind) AS block_size
                FROM leak_keys l JOIN trace_keys k ON k.digest = l.digest AND k.kind = l.kind
            )
            SELECT h.row, h.dataset_id, h.record_no, r.subject_id,
                   bool_or(h.kind IN ({",".join("'" + s + "'" for s in sorted(_STRONG))})) AS strong,
                   {", ".join(f"any_value(r.bf_{f}) AS bf_{f}" for f in BLOOM_FIELDS)}
            FROM hits h JOIN trace_records r USING (dataset_id, record_no)
            WHERE h.block_size <= {MAX_BLOCK} OR h.kind LIKE '%+%'
            GROUP BY h.row, h.dataset_id, h.record_no, r.subject_id
            """
        ).fetchall()
    finally:
        con.unregister("leak_keys")


# An export that names no subjects (COPY ... TO, a bulk SELECT) may still have carried the leaked
# people out: it counts for every leaked row of the owner it read. Aggregate-only statements
# (SELECT count(*)) return no personal data and are not counted, whatever the source called them.
_AGGREGATE_ONLY = r"^\s*select\s+count\s*\("


def _tier(a: dict[str, Any]) -> int:
    """Order of suspicion, set from reasons: had the data and copied to removable media; could
    have had most of the list; copied to removable media with the access itself unlogged (the
    NTT West case); the rest."""
    if a["share"] > 0 and a["removable_media_events"]:
        return 0
    if a["share"] >= 0.5:
        return 1
    if a["removable_media_events"]:
        return 2
    return 3


def _actors(ws: Workspace, matched: pd.DataFrame, until: datetime | None = None) -> list[dict[str, Any]]:
    """Who could have produced the list: per actor, leaked subjects touched one by one, bulk exports
    of the leaked owners' data, removable-media copies; ranked by the share of leaked rows covered."""
    if matched.empty:
        return []
    pairs = matched[["owner_id", "subject_id"]].drop_duplicates()
    rows_per_owner = pairs.groupby("owner_id").size().to_dict()
    total = len(pairs)
    cutoff = until or datetime(9999, 1, 1, tzinfo=UTC)
    con = ws.con.cursor()  # own cursor: the shared connection may hold an unfetched result
    con.register("leaked_subjects", pairs)
    try:
        direct = con.execute(
            """
            SELECT coalesce(e.actor_id, 'account:' || coalesce(e.account, '?')) AS actor,
                   count(DISTINCT (s.owner_id, s.subject_id)) AS subjects,
                   count(DISTINCT e.event_id) AS events,
                   count(DISTINCT e.event_id) FILTER (WHERE e.action IN ('export', 'print')) AS exports,
                   min(e.ts), max(e.ts)
            FROM leaked_subjects l
            JOIN access_subjects s ON s.owner_id = l.owner_id AND s.subject_id = l.subject_id
            JOIN access_events e ON e.event_id = s.event_id
            WHERE e.ts < ?
            GROUP BY 1
            """,
            [cutoff],
        ).fetchall()
        bulk = con.execute(
            f"""
            SELECT coalesce(e.actor_id, 'account:' || coalesce(e.account, '?')) AS actor,
                   e.owner_id, count(*) AS n, min(e.ts), max(e.ts),
                   -- rows the exports returned, when every one of them says (NULL: unknown)
                   CASE WHEN bool_and(e.row_count IS NOT NULL) THEN sum(e.row_count) END AS rows_out
            FROM access_events e
            WHERE e.action IN ('export', 'print') AND e.ts < ?
              AND e.owner_id IN (SELECT DISTINCT owner_id FROM leaked_subjects)
              AND NOT EXISTS (SELECT 1 FROM access_subjects s WHERE s.event_id = e.event_id)
              AND NOT regexp_matches(coalesce(e.statement, ''), '{_AGGREGATE_ONLY}', 'i')
            GROUP BY 1, 2
            """,
            [cutoff],
        ).fetchall()
        usb = con.execute(
            "SELECT actor_id, count(*), min(ts), max(ts) FROM endpoint_events"
            " WHERE to_removable AND actor_id IS NOT NULL AND ts < ? GROUP BY actor_id",
            [cutoff],
        ).fetchall()
        roles = dict(con.execute("SELECT actor_id, role FROM actors").fetchall())
    finally:
        con.unregister("leaked_subjects")
    removable = {actor: int(n) for actor, n, _f, _l in usb}
    acc: dict[str, dict[str, Any]] = {}

    def slot(actor: str) -> dict[str, Any]:
        return acc.setdefault(actor, {"actor": actor, "subjects": 0, "events": 0, "exports": 0, "bulk_exports": 0,
                                      "bulk_owners": [], "first_access": None, "last_access": None})

    def widen(a: dict[str, Any], first: Any, last: Any) -> None:
        # our cursor does not carry the workspace zone; show times in the organisation's local time
        first, last = first.astimezone(ws.timezone), last.astimezone(ws.timezone)
        a["first_access"] = first if a["first_access"] is None else min(a["first_access"], first)
        a["last_access"] = last if a["last_access"] is None else max(a["last_access"], last)

    for actor, n, ev, ex, first, last in direct:
        a = slot(actor)
        a.update(subjects=int(n), events=int(ev), exports=int(ex))
        widen(a, first, last)
    for actor, owner, n, first, last, rows_out in bulk:
        a = slot(actor)
        a["bulk_exports"] += int(n)
        a["bulk_owners"] = sorted({*a["bulk_owners"], owner})
        # an export that returned k rows can have carried at most k of the leaked rows
        cap = rows_per_owner.get(owner, 0) if rows_out is None else min(int(rows_out), rows_per_owner.get(owner, 0))
        a.setdefault("_bulk_rows", 0)
        a["_bulk_rows"] += cap
        widen(a, first, last)
    for actor, _n, first, last in usb:
        # copies to removable media count even when the data access itself went unlogged
        widen(slot(actor), first, last)
    out = []
    for a in acc.values():
        bulk_rows = int(a.pop("_bulk_rows", 0))
        covered = max(a["subjects"], bulk_rows)
        a["share"] = round(covered / total, 4)
        a["removable_media_events"] = int(removable.get(a["actor"], 0))
        reasons = []
        if a["subjects"]:
            reasons.append(f"touched {a['subjects']} of {total} leaked subjects one by one ({a['exports']} export events)")
        if a["bulk_exports"]:
            reasons.append(f"{a['bulk_exports']} bulk exports of {', '.join(a['bulk_owners'])} "
                           f"(could carry {bulk_rows} of {total} leaked rows)")
        if a["removable_media_events"]:
            reasons.append(f"{a['removable_media_events']} copies to removable media")
        a["role"] = roles.get(a["actor"])
        if a["role"] == "service":
            reasons.append("a service account: find who used it at those times")
        a["why"] = "; ".join(reasons)
        out.append(a)
    # within a tier, people before service accounts (a backup job exports everything every night)
    out.sort(key=lambda a: (_tier(a), a["role"] == "service", -a["share"], -a["removable_media_events"], -a["bulk_exports"], a["actor"]))
    for a in out:
        a["tier"] = _tier(a)
    return out[:TOP_ACTORS]


def trace_file(ws: Workspace, path: Path, until: date | datetime | None = None) -> dict[str, Any]:
    """Attribute a leaked list to indexed datasets and list the actors who accessed its subjects.

    ``until`` (e.g. the day the list was found) limits the evidence to events before it: what
    happened after the leak surfaced cannot explain it. A date means the end of that local day.
    """
    cutoff: datetime | None = None
    if isinstance(until, datetime):
        cutoff = until if until.tzinfo else until.replace(tzinfo=ws.timezone)
    elif isinstance(until, date):
        cutoff = datetime.combine(until + timedelta(days=1), time(0), tzinfo=ws.timezone)
    ensure_trace_tables(ws)
    path = Path(path)
    table = read_table(path)
    raw = [table.fields(r) for r in table.rows]
    _norm, hashes, filters = encode_table_rows(ws, raw)
    cands = _candidates(ws, hashes)
    meta = {
        d: (o, n, v, int(c or 0))
        for d, o, n, v, c in ws.con.cursor().execute(
            "SELECT dataset_id, owner_id, name, version, records FROM trace_datasets"
        ).fetchall()
    }
    # best match per (row, dataset)
    best: dict[tuple[int, str], tuple[float, bool, str]] = {}
    for row, dataset_id, _record_no, subject_id, strong, *bfs in cands:
        theirs = {f: bytes(b) for f, b in zip(BLOOM_FIELDS, bfs, strict=True) if b is not None}
        score, n = similarity(filters[row], theirs)
        if not (strong or (n >= 2 and score >= MIN_DICE)):
            continue
        key = (int(row), str(dataset_id))
        if key not in best or score > best[key][0]:
            best[key] = (score, bool(strong), str(subject_id))
    per_row: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for (row, ds), (score, _s, _subj) in best.items():
        per_row[row].append((ds, score))
    by_ds: dict[str, dict[str, Any]] = {}
    for ds, (o, n, v, c) in meta.items():
        by_ds[ds] = {"dataset_id": ds, "owner": o, "name": n, "version": v, "records": c,
                     "matched": 0, "best_version": 0}
    ambiguous = 0
    for _row, hits in per_row.items():
        owners = {meta[ds][0] for ds, _ in hits}
        if len(owners) > 1:
            ambiguous += 1
        # the version that fits best, per owner/name: a leak copies one snapshot
        top: dict[tuple[str, str], tuple[float, str]] = {}
        for ds, score in hits:
            by_ds[ds]["matched"] += 1
            k = (meta[ds][0], meta[ds][1])
            if k not in top or score > top[k][0]:
                top[k] = (score, ds)
        for _score, ds in top.values():
            by_ds[ds]["best_version"] += 1
    total = len(table.rows)
    datasets = sorted((d for d in by_ds.values() if d["matched"]), key=lambda d: (-d["matched"], d["dataset_id"]))
    for d in datasets:
        d["share"] = round(d["matched"] / total, 4) if total else 0.0
        d["coverage"] = round(d["matched"] / d["records"], 4) if d["records"] else 0.0
    matched_pairs = pd.DataFrame(
        [(meta[ds][0], subj) for (_row, ds), (_sc, _st, subj) in best.items()], columns=["owner_id", "subject_id"]
    )
    unattributed = [table.first_data_line + i for i in range(total) if i not in per_row]
    return {
        "file": str(path),
        "encoding": table.encoding,
        "fields": table.canonical_fields,
        "rows": total,
        "matched_rows": len(per_row),
        "unattributed_rows": len(unattributed),
        "unattributed_lines": unattributed[:100],
        "ambiguous_rows": ambiguous,
        "datasets": datasets,
        "actors": _actors(ws, matched_pairs, cutoff),
        "until": cutoff,
        # per leaked line, the best record per dataset: owner record ids (never names), so the
        # owner can notify exactly these people
        "matches": [
            {"line": table.first_data_line + row, "dataset_id": ds, "owner": meta[ds][0], "subject_id": subj,
             "score": round(score, 3), "exact_key": strong}
            for (row, ds), (score, strong, subj) in sorted(best.items())
        ],
        "method": {"blocking": "keyed HMAC-SHA256", "scoring": "Bloom (CLK) Dice per field",
                   "min_dice": MIN_DICE, "max_block": MAX_BLOCK},
    }
