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
