"""Canonical bytes of an event row: what a ledger leaf commits to.

The same row must give the same bytes on any machine, in any session time zone and after any
column reordering, or verification would cry wolf. So: JSON with sorted keys, no spaces, UTF-8,
timestamps in UTC with microseconds, and NULL columns left out (a column added to the schema
later does not change the leaves of older rows, while setting or clearing a value still does).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

LEAF_KINDS = ("access", "endpoint", "journal")


_PLAIN = (str, int, bool, float)


def _value(v: Any) -> Any:
    if type(v) in _PLAIN:  # the common case, checked first: most columns are text or numbers
        return v
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=UTC)
        return v.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()
    if isinstance(v, list | tuple):
        return [_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _value(x) for k, x in v.items()}
    return v


def canonical_row(kind: str, row: dict[str, Any]) -> bytes:
    """The leaf data for one row of ``access_events``, ``endpoint_events`` or the ledger journal."""
    if kind not in LEAF_KINDS:
        raise ValueError(f"unknown leaf kind {kind!r}")
    body = {k: _value(v) for k, v in row.items() if v is not None}
    doc = {"kind": kind, "row": body}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )


# ---- frame-v2: the encoding event leaves use, computed by the database engine ------------------
#
# Hashing millions of events one Python call at a time would make sealing the slowest step of
# ingest, so event leaves are computed by DuckDB over a framing that both DuckDB and Python can
# produce byte for byte without any JSON escaping rules to agree on:
#
#     "kansa-leaf-v2|" kind "|" then, for each non-NULL column in name order:
#         name "=" L ":" text ";"       L = the length of text in UTF-8 bytes
#
# where text is: the string itself; an integer in decimal; true/false; a timestamp in UTC as
# YYYY-MM-DDTHH:MM:SS.ffffffZ; a date as YYYY-MM-DD; a list as "[" count "]" followed by each
# element as L ":" element, or "~" for a NULL element. Length prefixes make the framing
# unambiguous whatever the values hold; leaving NULLs out keeps the leaves of old rows unchanged
# when a column is added to the table later.

FRAME_V2 = "kansa-leaf-v2"


def _frame_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=UTC)
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, list | tuple):
        parts = "".join("~" if x is None else f"{len(str(x).encode())}:{x}" for x in v)
        return f"[{len(v)}]{parts}"
    raise TypeError(f"no frame-v2 text for {type(v).__name__}")


def framed_row(kind: str, row: dict[str, Any]) -> bytes:
    """The frame-v2 leaf data of one event row (the reference the SQL form is tested against)."""
    if kind not in LEAF_KINDS:
        raise ValueError(f"unknown leaf kind {kind!r}")
    out = [f"{FRAME_V2}|{kind}|"]
    for name in sorted(row, key=lambda n: n.encode("utf-8")):
        v = row[name]
        if v is None:
            continue
        text = _frame_text(v)
        out.append(f"{name}={len(text.encode())}:{text};")
    return "".join(out).encode("utf-8")


_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT")


def _sql_text(col: str, dtype: str) -> str:
    """SQL for the frame-v2 text of column ``col`` (already quoted) of DuckDB type ``dtype``."""
    if dtype == "VARCHAR":
        return col
    if dtype in _INTEGER_TYPES:
        return f"CAST({col} AS VARCHAR)"
    if dtype == "BOOLEAN":
        return f"CASE WHEN {col} THEN 'true' ELSE 'false' END"
    if dtype == "TIMESTAMP WITH TIME ZONE":
        return f"strftime(timezone('UTC', {col}), '%Y-%m-%dT%H:%M:%S.%fZ')"
    if dtype == "TIMESTAMP":
        return f"strftime({col}, '%Y-%m-%dT%H:%M:%S.%fZ')"
    if dtype == "DATE":
        return f"strftime({col}, '%Y-%m-%d')"
    if dtype == "VARCHAR[]":
        return (
            f"concat('[', len({col}), ']', array_to_string(list_transform({col}, "
            "lambda x: CASE WHEN x IS NULL THEN '~' ELSE concat(strlen(x), ':', x) END), ''))"
        )
    raise TypeError(f"no frame-v2 text for column type {dtype}")


# ---- frame-v2s: an access event together with the data subjects it touched --------------------
#
# Who was touched lives in its own table (access_subjects, one row per subject). An admin who
# deletes or edits those rows changes what the event says as surely as one who edits the event,
# so from the leaf index recorded as 'frame-v2s' in ledger_encodings on, an access leaf carries
# one more field after the event's columns:
#
#     "~subjects=" L ":" "[" count "]" then each item as L ":" item
#     item: owner "|" subject_id     owner = L ":" owner_id, or "~" when owner_id is NULL
#
# with the items in byte order (so the rows' storage order is irrelevant) and the field left out
# when the event touched no subject (so such events have the same leaf as in frame-v2). "~"
# sorts after every column name (lower-case ASCII), so the field comes last. Duplicate rows stay
# duplicate items: deleting one of two identical rows is a change too.

SUBJECTS_FIELD = "~subjects"


def subject_item(owner: str | None, subject: str) -> str:
    """One access_subjects row as an item of the ``~subjects`` field."""
    return ("~" if owner is None else f"{len(owner.encode())}:{owner}") + "|" + subject


def subjects_value(pairs: list[tuple[str | None, str]]) -> list[str] | None:
    """The ``~subjects`` field of an event touching ``pairs`` (owner_id, subject_id); None when
    it touched none, so that the field is left out like any NULL column."""
    if not pairs:
        return None
    return sorted((subject_item(o, s) for o, s in pairs), key=lambda x: x.encode("utf-8"))


# The same items in SQL; COLLATE c keeps list_sort in byte order whatever default_collation a
# session sets (a leaf must not depend on the session).
SUBJECT_ITEM_SQL = (
    "concat(CASE WHEN owner_id IS NULL THEN '~' ELSE concat(strlen(owner_id), ':', owner_id) END,"
    " '|', subject_id)"
)


def subjects_sql(where: str = "") -> str:
    """SELECT of (event_id, items): for every event in access_subjects (rows narrowed by
    ``where``, e.g. to an id range; empty for all) the frame-v2 text of its ``~subjects`` list.

    The list is framed here, once per event, and enters the leaf as a VARCHAR field: the same
    bytes as framing it as a VARCHAR[] column, without building the long text twice (once for
    its length, once for itself) in the row's frame.
    """
    cond = f" WHERE {where}" if where else ""
    return (
        f"SELECT event_id, concat('[', count(*), ']', array_to_string(list_transform("
        f"list_sort(list({SUBJECT_ITEM_SQL} COLLATE c)), lambda x: concat(strlen(x), ':', x)), '')) AS items"
        f" FROM access_subjects{cond} GROUP BY event_id"
    )


# Texts that cost more than a column read (a timestamp formatted, a list framed element by
# element) appear twice in a frame, once for their length and once as themselves; built inside
# the frame, they are built twice per row. A source that has them once, in an inner projection
# (texts_sql), lets the frame read them as plain VARCHAR columns named by text_column: the same
# bytes for about a quarter less engine time per event.
_TEXT_ONCE = ("VARCHAR[]", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "DATE")


def text_column(name: str) -> str:
    """The name under which texts_sql gives column ``name``'s frame-v2 text."""
    return f"~text:{name}"


def texts_sql(columns: list[tuple[str, str]], alias: str = "e") -> list[str]:
    """SELECT-list items giving, once per row, the frame-v2 text of each costly column of
    ``columns`` (NULL when the column is: a NULL list would otherwise read as "[]")."""
    items = []
    for name, dtype in columns:
        if dtype in _TEXT_ONCE:
            col = f'{alias}."{name}"'
            items.append(f'CASE WHEN {col} IS NULL THEN NULL ELSE {_sql_text(col, dtype)} END AS "{text_column(name)}"')
    return items


def framed_sql(
    kind: str,
    columns: list[tuple[str, str]],
    alias: str = "e",
    extra: tuple[tuple[str, str, str], ...] = (),
    *,
    texts: bool = False,
) -> str:
    """SQL expression (VARCHAR) of the frame-v2 leaf data of a row of a table with ``columns``
    [(name, DuckDB type)], the row's columns qualified by ``alias``; ``extra`` adds fields
    computed elsewhere as (name, DuckDB type, SQL expression). ``texts``: ``alias`` also has the
    columns of texts_sql, and costly columns are read from them."""
    if kind not in LEAF_KINDS:
        raise ValueError(f"unknown leaf kind {kind!r}")
    # one concat() over all fields: chained || builds an intermediate string per operator and
    # costs several times more on wide rows
    parts = [f"'{FRAME_V2}|{kind}|'"]
    fields = [
        (name, "VARCHAR", f'{alias}."{text_column(name)}"') if texts and dtype in _TEXT_ONCE
        else (name, dtype, f'{alias}."{name}"')
        for name, dtype in columns
    ] + list(extra)
    for name, dtype, col in sorted(fields, key=lambda f: f[0].encode("utf-8")):
        text = _sql_text(col, dtype)
        parts.append(f"CASE WHEN {col} IS NULL THEN '' ELSE concat('{name}=', strlen({text}), ':', {text}, ';') END")
    return "concat(" + ", ".join(parts) + ")"


def leaf_hash_sql(
    kind: str,
    columns: list[tuple[str, str]],
    alias: str = "e",
    extra: tuple[tuple[str, str, str], ...] = (),
    *,
    texts: bool = False,
) -> str:
    """SQL for the hex RFC 6962 leaf hash sha256(0x00 || frame-v2 data) of a row."""
    return f"sha256('\\x00'::BLOB || encode({framed_sql(kind, columns, alias, extra, texts=texts)}))"
