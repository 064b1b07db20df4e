"""Reader for the application access log in kansa's own JSON Lines schema (docs/formats.md).

Only parses: each good line becomes an access record, each bad one a quarantined line with its
number and why, so one broken line never costs the rest of the file.

Two forms of the same rules: ``ACCESS_STAGE_SQL`` parses a block of lines inside DuckDB (the
path the pipeline takes: no Python work per line, so a big log goes at the engine's speed), and
``parse_access`` parses one object in Python (for callers that build records by hand). A test
holds them to the same results on the same lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from kansa.ingest.records import Chunk
from kansa.ingest.textfile import json_line_chunks
from kansa.model.vocab import ACTIONS

CHUNK_LINES = 20_000

# Every key read from a line. Values come out as text (numbers and objects as their JSON text),
# the two list-valued keys as JSON, so that a wrong type is reported rather than guessed at.
_SHAPE = (
    '{"time":"VARCHAR","actor":"VARCHAR","action":"VARCHAR","resource":"VARCHAR","owner":"VARCHAR",'
    '"subjects":"JSON","rows":"VARCHAR","purpose":"VARCHAR","ticket":"VARCHAR","terminal":"VARCHAR",'
    '"source_ip":"VARCHAR","outcome":"VARCHAR","bytes":"VARCHAR","system":"VARCHAR",'
    '"statement":"VARCHAR","columns":"JSON"}'
)
_ACTIONS_SQL = ", ".join(f"'{a}'" for a in ACTIONS)
_WS = "E' \\t\\r\\n'"


def _quoted(col: str) -> str:
    return f"'''' || {col} || ''''"


# Input: a relation _kansa_block(line, n). Output: one row per non-blank line with its number `n`,
# the access columns, `system`, `subjects` (VARCHAR[]) and `reason` (NULL for a good line). The
# raw line is not carried along: the pipeline fetches it again for the few quarantined lines.
ACCESS_STAGE_SQL = f"""
WITH parsed AS (
    SELECT n, line, try(json_transform(line, '{_SHAPE}')) AS j
    FROM _kansa_block
), typed AS (
    SELECT n, line, j,
           try_cast(j.time AS TIMESTAMPTZ) AS ts,
           lower(j.action) AS action,
           try_cast(nullif(j.rows, '') AS BIGINT) AS row_count,
           try_cast(nullif(j.bytes, '') AS BIGINT) AS bytes,
           CASE json_type(j.subjects)
               WHEN 'ARRAY' THEN list_filter(json_transform(j.subjects, '["VARCHAR"]'), lambda x: x IS NOT NULL)
               WHEN 'NULL' THEN []::VARCHAR[]
               ELSE [json_extract_string(j.subjects, '$')]
           END AS subjects
    FROM parsed
    WHERE j IS NOT NULL OR trim(line, {_WS}) <> ''  -- blank lines are skipped (but keep their number)
)
SELECT n,
       CASE
           WHEN j IS NULL THEN 'not valid JSON'
           WHEN NOT starts_with(ltrim(line, {_WS}), '{{') THEN 'not a JSON object'
           WHEN coalesce(j.time, '') = '' THEN 'missing required key ''time'''
           WHEN coalesce(j.actor, '') = '' THEN 'missing required key ''actor'''
           WHEN coalesce(j.action, '') = '' THEN 'missing required key ''action'''
           WHEN action NOT IN ({_ACTIONS_SQL}) THEN 'unknown action ' || {_quoted("j.action")}
           WHEN ts IS NULL THEN 'bad time ' || {_quoted("j.time")}
           WHEN row_count IS NULL AND nullif(j.rows, '') IS NOT NULL
               THEN 'rows is not an integer: ' || {_quoted("j.rows")}
           WHEN bytes IS NULL AND nullif(j.bytes, '') IS NOT NULL
               THEN 'bytes is not an integer: ' || {_quoted("j.bytes")}
       END AS reason,
       ts, j.actor AS account, action, j.resource AS resource,
       CASE WHEN json_type(j.columns) = 'ARRAY' THEN json_transform(j.columns, '["VARCHAR"]') END AS columns,
       j.owner AS owner_id, j.purpose AS purpose, j.ticket AS ticket, j.terminal AS terminal,
       j.source_ip AS source_ip, j.outcome AS outcome, row_count, bytes, j.statement AS statement,
       j.system AS system, subjects
FROM typed
"""


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def parse_access(obj: Any, line: int) -> dict[str, Any]:
    """One JSON object → an access record; ValueError says what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    for key in ("time", "actor", "action"):
        if obj.get(key) in (None, ""):
            raise ValueError(f"missing required key {key!r}")
    action = str(obj["action"]).lower()
    if action not in ACTIONS:
        raise ValueError(f"unknown action {obj['action']!r}")
    ts = datetime.fromisoformat(str(obj["time"]).replace("Z", "+00:00"))
    owner = obj.get("owner")
    subjects = obj.get("subjects") or []
    if not isinstance(subjects, list):
        subjects = [subjects]
    columns = obj.get("columns")
    return {
        "ts": ts,
        "account": str(obj["actor"]),
        "action": action,
        "resource": obj.get("resource"),
        "columns": [str(c) for c in columns] if isinstance(columns, list) else None,
        "owner_id": owner,
        "purpose": obj.get("purpose"),
        "ticket": obj.get("ticket"),
        "terminal": obj.get("terminal"),
        "source_ip": obj.get("source_ip"),
        "outcome": obj.get("outcome"),
        "row_count": _int(obj.get("rows")),
        "bytes": _int(obj.get("bytes")),
        "statement": obj.get("statement"),
        "system": obj.get("system"),
        "source_system": "access",
        "source_line": line,
        "subjects": [(owner, str(s)) for s in subjects],
    }


def read_access(path: Path) -> Iterator[Chunk]:
    return json_line_chunks(path, parse_access, CHUNK_LINES)
