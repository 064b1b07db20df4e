"""OCSF access logs through the block pipeline: plain lines mapped in SQL, the rest by ``parse_ocsf``.

OCSF leaves much to the emitter (a time as text, an id as a string, an owner as a number), and
``parse_ocsf`` already says what each such shape means. Re-stating all of that in SQL would make
two rule books to keep equal, so the SQL here takes only lines of the plain shape, in which every
field read has its expected JSON type (integers for class, time, ids and rows; text for names;
a list of text or one text for subjects) and leaves no room for interpretation; any other line of
the block is parsed by ``parse_ocsf`` itself, in Python, with its exact reasons for a rejection.
A producer that writes plain OCSF pays for no Python per line; the blocks, batches, ids, actor
resolution, quarantine and sealing are the pipeline's, as for kansa's own access log.

One difference from reading line by line with ``json.loads``: a key given twice in one object
counts by its first occurrence in a plain line (DuckDB's reading), by its last in the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from kansa.ingest.blocks import StagedBlock, block_stage, unnest_subjects
from kansa.ingest.ocsf import ACTIVITY_BY_CLASS, STATUS_OUTCOME, parse_ocsf
from kansa.ingest.textfile import LineBlock
from kansa.model.vocab import ACTIONS

# Paths read from each line, in one parse (DuckDB lists are 1-based: the position is the index).
_PATHS = ("class_uid", "time", "activity_id", "activity_name", "status_id", "actor.user.name", "user.name",
          "unmapped.owner", "unmapped.subjects", "unmapped.rows", "table.name", "database.name",
          "databucket.name", "file.name", "query_info.query_string", "src_endpoint.ip", "src_endpoint.hostname")
_AT = {p: i for i, p in enumerate(_PATHS, start=1)}
# The plain range of `time`: epoch ms from 1970 to 2096. Within it Python's float seconds
# (``int(time) / 1000``) hold every millisecond exactly to the microsecond, as SQL's integers do.
MAX_PLAIN_MS = 4_000_000_000_000


def _v(path: str) -> str:
    return f"v[{_AT[path]}]"


def _ty(path: str) -> str:
    return f"ty[{_AT[path]}]"


def _absent(path: str) -> str:
    return f"coalesce({_ty(path)}, 'NULL') = 'NULL'"


def _text(path: str) -> str:
    return f"tx[{_AT[path]}]"


def _int(path: str) -> str:
    return f"try_cast({_text(path)} AS BIGINT)"


def _is_int(path: str) -> str:
    return f"({_ty(path)} IN ('BIGINT', 'UBIGINT') AND {_int(path)} IS NOT NULL)"


def _absent_or_text(path: str) -> str:
    return f"({_absent(path)} OR {_ty(path)} = 'VARCHAR')"


def _nonempty_text(path: str) -> str:
    return f"({_ty(path)} = 'VARCHAR' AND {_text(path)} <> '')"


def _truthy_text(path: str) -> str:
    return f"nullif({_text(path)}, '')"


_CLASSES = ", ".join(str(c) for c in ACTIVITY_BY_CLASS)
_PLAIN = " AND ".join([
    "v IS NOT NULL", "starts_with(line, '{')",
    f"{_is_int('class_uid')}", f"{_int('class_uid')} IN ({_CLASSES})",
    f"{_is_int('time')}", f"{_int('time')} BETWEEN 0 AND {MAX_PLAIN_MS}",
    f"({_absent('activity_id')} OR {_is_int('activity_id')})",
    f"{_absent_or_text('activity_name')}",
    f"({_absent('status_id')} OR {_is_int('status_id')})",
    f"({_nonempty_text('actor.user.name')} OR ({_absent('actor.user.name')} AND {_nonempty_text('user.name')}))",
    f"{_absent_or_text('unmapped.owner')}",
    f"({_absent('unmapped.subjects')} OR {_ty('unmapped.subjects')} = 'VARCHAR'"
    f" OR ({_ty('unmapped.subjects')} = 'ARRAY' AND coalesce(list_bool_and(list_transform("
    f"json_type({_v('unmapped.subjects')}, '$[*]'), lambda t: t = 'VARCHAR')), true)))",
    f"({_absent('unmapped.rows')} OR {_is_int('unmapped.rows')})",
    *(_absent_or_text(p) for p in ("table.name", "database.name", "databucket.name", "file.name",
                                   "query_info.query_string", "src_endpoint.ip", "src_endpoint.hostname")),
])
_ACTIONS_SQL = ", ".join(f"'{a}'" for a in ACTIONS)
_BY_ID = " ".join(
    f"WHEN {_int('class_uid')} = {c} THEN CASE coalesce({_int('activity_id')}, 0) "
    + " ".join(f"WHEN {i} THEN '{a}'" for i, a in ids.items()) + " ELSE 'other' END"
    for c, ids in ACTIVITY_BY_CLASS.items()
)
_STATUS = " ".join(f"WHEN {i} THEN '{o}'" for i, o in STATUS_OUTCOME.items())

# Input: _kansa_block(line, n). Output: every non-blank line with `plain`; a plain line also with
# the access columns (as parse_ocsf gives them) and its subjects.
OCSF_STAGE_SQL = f"""
SELECT n, plain,
       CASE WHEN plain THEN timezone('UTC', make_timestamp({_int('time')} * 1000)) END AS ts,
       CASE WHEN plain THEN CASE WHEN {_nonempty_text('actor.user.name')} THEN {_text('actor.user.name')}
                                 ELSE {_text('user.name')} END END AS account,
       CASE WHEN plain THEN CASE WHEN lower(coalesce({_text('activity_name')}, '')) IN ({_ACTIONS_SQL})
                                 THEN lower({_text('activity_name')}) {_BY_ID} END END AS action,
       CASE WHEN plain THEN CASE WHEN {_truthy_text('database.name')} IS NOT NULL
                                      AND {_truthy_text('table.name')} IS NOT NULL
                                 THEN {_text('database.name')} || '.' || {_text('table.name')}
                                 WHEN {_truthy_text('table.name')} IS NOT NULL THEN {_text('table.name')}
                                 WHEN {_truthy_text('databucket.name')} IS NOT NULL THEN {_text('databucket.name')}
                                 ELSE {_text('file.name')} END END AS resource,
       NULL::VARCHAR[] AS columns,
       CASE WHEN plain THEN {_text('unmapped.owner')} END AS owner_id,
       NULL::VARCHAR AS purpose, NULL::VARCHAR AS ticket,
       CASE WHEN plain THEN {_text('src_endpoint.hostname')} END AS terminal,
       CASE WHEN plain THEN {_text('src_endpoint.ip')} END AS source_ip,
       CASE WHEN plain THEN CASE coalesce({_int('status_id')}, 0) {_STATUS} ELSE 'unknown' END END AS outcome,
       CASE WHEN plain THEN {_int('unmapped.rows')} END AS row_count,
       NULL::BIGINT AS bytes,
       CASE WHEN plain THEN {_text('query_info.query_string')} END AS statement,
       NULL::VARCHAR AS system,
       CASE WHEN NOT plain OR {_absent('unmapped.subjects')} THEN []::VARCHAR[]
            WHEN {_ty('unmapped.subjects')} = 'VARCHAR'
                THEN CASE WHEN {_text('unmapped.subjects')} <> '' THEN [{_text('unmapped.subjects')}]
                          ELSE []::VARCHAR[] END
            ELSE json_transform({_v('unmapped.subjects')}, '["VARCHAR"]') END AS subjects
FROM (
    SELECT n, v, ty, tx, coalesce({_PLAIN}, false) AS plain
    FROM (SELECT n, line, v, list_transform(v, lambda x: json_type(x)) AS ty,
                 list_transform(v, lambda x: json_extract_string(x, '$')) AS tx
          FROM (SELECT n, line, try(json_extract(line, [{", ".join(f"'$.{p}'" for p in _PATHS)}])) AS v
                FROM _kansa_block))
    WHERE trim(line, E' \\t\\r\\n') <> ''  -- blank lines are skipped (but keep their number)
)
"""

_TEXT_COLUMNS = ("account", "action", "resource", "owner_id", "terminal", "source_ip", "outcome", "statement")
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _unfit(rec: dict[str, Any]) -> str | None:
    """Why a record parse_ocsf accepted cannot be stored (a number where the model keeps text)."""
    for key in _TEXT_COLUMNS:
        if rec.get(key) is not None and not isinstance(rec[key], str):
            return f"bad record: {key} is not text: {rec[key]!r}"[:500]
    rows = rec.get("row_count")
    if rows is not None and not _INT64[0] <= rows <= _INT64[1]:
        return f"bad record: rows out of range: {rows}"
    return None


def _by_python(block: LineBlock, ns: list[int], schema: pa.Schema) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """The lines ``ns`` parsed by ``parse_ocsf``: good ones as rows of ``schema``, the others as
    (line, reason, raw) as ``json_line_chunks`` would quarantine them."""
    texts = pc.take(block.lines, pa.array([n - block.first_line for n in ns])).to_pylist()
    good: list[dict[str, Any]] = []
    bad: list[tuple[int, str, str]] = []
    for n, line in zip(ns, texts, strict=True):
        text = str(line).rstrip("\r\n")
        if not text.strip():  # blank to Python (an ideographic space, say): skipped, as line by line
            continue
        try:
            rec = parse_ocsf(json.loads(text), n)
        except (ValueError, TypeError, OverflowError) as exc:
            bad.append((n, str(exc), text[:2000]))
            continue
        why = _unfit(rec)
        if why is not None:
            bad.append((n, why, text[:2000]))
            continue
        rec.update(n=n, ts=rec["ts"].astimezone(UTC), subjects=[s for _, s in rec["subjects"]])
        good.append(rec)
    columns = {f.name: pa.array([r.get(f.name) for r in good], f.type) for f in schema if f.name != "plain"}
    return pa.table(columns), bad


def stage_block(con: duckdb.DuckDBPyConnection, block: LineBlock) -> StagedBlock:
    """One block of an OCSF log as the pipeline takes it (see ``access_columnar.stage_block``)."""
    con.register("_kansa_block", block.table())
    try:
        staged = con.sql(OCSF_STAGE_SQL).to_arrow_table()
    finally:
        con.unregister("_kansa_block")
    plain = staged.column("plain")
    good = staged.filter(plain).drop_columns(["plain"])
    bad_rows: list[tuple[int, str, str]] = []
    if len(staged) and pc.sum(plain).as_py() != len(staged):
        others = staged.filter(pc.invert(plain)).column("n").to_pylist()
        parsed, bad_rows = _by_python(block, others, staged.schema)
        good = pa.concat_tables([good, parsed.select(good.column_names)]).sort_by("n")
    bad = pa.table({"n": pa.array([b[0] for b in bad_rows], pa.int64()),
                    "reason": pa.array([b[1] for b in bad_rows], pa.string()),
                    "raw": pa.array([b[2] for b in bad_rows], pa.string())})
    return StagedBlock(good.drop_columns(["subjects"]), unnest_subjects(good), bad, len(block.lines),
                       block.first_line, block.end_line, block.end_offset, block.digest)


def ocsf_stage(path: Path) -> Callable[[int, int, Any], Iterator[StagedBlock]]:
    """The ``stage`` of ``pipeline.ingest_staged_blocks`` for an OCSF log (times are epoch ms, so
    the workspace's zone plays no part)."""
    return block_stage(path, stage_block)
