"""Reader for the application access log in kansa's own JSON Lines schema (docs/formats.md).

Only parses: each good line becomes an access record, each bad one a quarantined line with its
number and why, so one broken line never costs the rest of the file.

Three forms of the same rules. ``field_columns`` and ``mapping_sql`` hold the typing, the checks
and the mapping onto access columns once; ``ACCESS_STAGE_SQL`` feeds them from a block of lines
parsed one by one inside DuckDB (any line, however odd: the exact fallback), access_columnar.py
from DuckDB's ``read_json`` over a whole block (the fast path for blocks of plain lines);
``parse_access`` parses one object in Python (for callers that build records by hand). Tests hold
them to the same results.
"""

from __future__ import annotations

import json
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


def mapping_sql(relation: str, *, first_checks: str = "", last_checks: str = "") -> str:
    """The rules every parse of an access line shares, over ``relation``.

    ``relation`` has ``n`` and the record's keys as columns (``field_columns`` gives them): the
    text keys (with "action" as ``action_text``: as given, not yet lower-cased) as VARCHAR, ``row_count`` and
    ``bytes`` as BIGINT, ``subjects`` and ``columns`` as VARCHAR[]. A parse that can fail in ways
    the typed columns no longer show (invalid JSON, a rows value that is not a number) names them
    in ``first_checks`` (tried before the key checks) and ``last_checks`` (after them), so that
    every parse gives the same reason for the same line. Output: the staged columns that
    ``pipeline.ingest_staged_blocks`` takes.
    """
    return f"""
SELECT n,
       CASE
           {first_checks}
           WHEN coalesce("time", '') = '' THEN 'missing required key ''time'''
           WHEN coalesce(actor, '') = '' THEN 'missing required key ''actor'''
           WHEN coalesce(action_text, '') = '' THEN 'missing required key ''action'''
           WHEN action NOT IN ({_ACTIONS_SQL}) THEN 'unknown action ' || {_quoted("action_text")}
           WHEN ts IS NULL THEN 'bad time ' || {_quoted('"time"')}
           {last_checks}
       END AS reason,
       ts, actor AS account, action, resource, columns, "owner" AS owner_id, purpose, ticket, terminal,
       source_ip, outcome, row_count, bytes, "statement", "system", subjects
FROM (SELECT *, try_cast("time" AS TIMESTAMPTZ) AS ts, lower(action_text) AS action FROM {relation})
"""


# A list of subjects gives its items as text, nulls and empty strings dropped (an empty id names
# no one); a missing or null value gives none; any other value is one subject.
_SUBJECTS_FROM_JSON = """CASE
               WHEN j.subjects IS NULL OR json_type(j.subjects) = 'NULL' THEN []::VARCHAR[]
               WHEN json_type(j.subjects) = 'ARRAY'
                   THEN list_filter(json_transform(j.subjects, '["VARCHAR"]'), lambda x: coalesce(x, '') <> '')
               ELSE list_filter([json_extract_string(j.subjects, '$')], lambda x: x <> '')
           END"""

_LINE_CHECKS = f"""WHEN j IS NULL THEN 'not valid JSON'
           WHEN NOT starts_with(ltrim(line, {_WS}), '{{') THEN 'not a JSON object'"""
NUMBER_CHECKS = f"""WHEN row_count IS NULL AND nullif(rows_text, '') IS NOT NULL
               THEN 'rows is not an integer: ' || {_quoted("rows_text")}
           WHEN bytes IS NULL AND nullif(bytes_text, '') IS NOT NULL
               THEN 'bytes is not an integer: ' || {_quoted("bytes_text")}"""

def field_columns(prefix: str) -> str:
    """SELECT items that type the keys as ``mapping_sql`` takes them, from columns named by the keys
    (``prefix`` "j." for the struct of ``json_transform``) holding ``_SHAPE``'s types."""
    p = prefix
    return f"""{p}time AS "time", {p}actor AS actor, {p}action AS action_text, {p}resource AS resource,
           {p}owner AS "owner", {p}purpose AS purpose, {p}ticket AS ticket, {p}terminal AS terminal,
           {p}source_ip AS source_ip, {p}outcome AS outcome, {p}statement AS "statement", {p}system AS "system",
           {p}rows AS rows_text, {p}bytes AS bytes_text,
           try_cast(nullif({p}rows, '') AS BIGINT) AS row_count,
           try_cast(nullif({p}bytes, '') AS BIGINT) AS bytes,
           {_SUBJECTS_FROM_JSON.replace("j.", p)} AS subjects,
           CASE WHEN json_type({p}columns) = 'ARRAY' THEN json_transform({p}columns, '["VARCHAR"]') END AS columns"""


# The read_json columns that give each key the type ``_SHAPE`` gives it.
SHAPE_COLUMNS = _SHAPE.replace('"', "'")

# Input: a relation _kansa_block(line, n). Output: one row per non-blank line with its number `n`,
# the access columns, `system`, `subjects` (VARCHAR[]) and `reason` (NULL for a good line). The
# raw line is not carried along: the pipeline fetches it again for the few quarantined lines.
ACCESS_STAGE_SQL = f"""
WITH parsed AS (
    SELECT n, line, try(json_transform(line, '{_SHAPE}')) AS j
    FROM _kansa_block
), fields AS (
    SELECT n, line, j, {field_columns("j.")}
    FROM parsed
    WHERE j IS NOT NULL OR trim(line, {_WS}) <> ''  -- blank lines are skipped (but keep their number)
)
{mapping_sql("fields", first_checks=_LINE_CHECKS, last_checks=NUMBER_CHECKS)}"""


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _text(value: Any) -> str:
    """A JSON value as the SQL parse reads it into VARCHAR: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _subjects(value: Any) -> list[str]:
    """The subjects rule of ``ACCESS_STAGE_SQL`` (see ``_SUBJECTS_FROM_JSON``)."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    return [t for t in (_text(v) for v in items if v is not None) if t]


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
        "subjects": [(owner, s) for s in _subjects(obj.get("subjects"))],
    }


def read_access(path: Path) -> Iterator[Chunk]:
    return json_line_chunks(path, parse_access, CHUNK_LINES)
