"""Reader for the application access log in kansa's own JSON Lines schema (docs/formats.md).

Only parses: each good line becomes an access record, each bad one a BadLine with its number and
why, so one broken line never costs the rest of the file.
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
