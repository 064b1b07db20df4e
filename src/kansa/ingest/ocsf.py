"""Reader for OCSF 1.x events: Datastore Activity (6005), Authentication (3002), File System
Activity (1001), mapped onto kansa's action vocabulary.

OCSF's activity ids differ per class, so the mapping is per class; an activity_name that already
is one of kansa's actions (e.g. a vendor's "Export") wins, because it is the more specific word.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kansa.ingest.records import Chunk
from kansa.ingest.textfile import json_line_chunks, numbered_lines
from kansa.model.vocab import ACTIONS

CHUNK_LINES = 20_000

_DATASTORE = {1: "view", 2: "update", 3: "login", 4: "search", 5: "update", 6: "insert", 7: "delete", 8: "search"}
_AUTH = {1: "login", 2: "logout"}
_FILE = {1: "insert", 2: "view", 3: "update", 4: "delete", 5: "other", 6: "other"}
ACTIVITY_BY_CLASS = {6005: _DATASTORE, 3002: _AUTH, 1001: _FILE}
STATUS_OUTCOME = {1: "success", 2: "failure"}


def _get(obj: dict[str, Any], *keys: str) -> Any:
    cur: Any = obj
    for key in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def parse_ocsf(obj: Any, line: int) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    class_uid = obj.get("class_uid")
    if class_uid not in ACTIVITY_BY_CLASS:
        raise ValueError(f"unsupported OCSF class_uid {class_uid!r}")
    if obj.get("time") is None:
        raise ValueError("missing required key 'time'")
    ts = datetime.fromtimestamp(int(obj["time"]) / 1000, tz=UTC)
    account = _get(obj, "actor", "user", "name") or _get(obj, "user", "name")
    if not account:
        raise ValueError("missing actor.user.name")
    name = str(obj.get("activity_name") or "").lower()
    action = name if name in ACTIONS else ACTIVITY_BY_CLASS[class_uid].get(int(obj.get("activity_id") or 0), "other")
    raw_unmapped = obj.get("unmapped")
    unmapped: dict[str, Any] = raw_unmapped if isinstance(raw_unmapped, dict) else {}
    owner = unmapped.get("owner")
    subjects = unmapped.get("subjects") or []
    if not isinstance(subjects, list):
        subjects = [subjects]
    table = _get(obj, "table", "name")
    db = _get(obj, "database", "name")
    resource = f"{db}.{table}" if db and table else (table or _get(obj, "databucket", "name") or _get(obj, "file", "name"))
    rows = unmapped.get("rows")
    return {
        "ts": ts,
        "account": str(account),
        "action": action,
        "resource": resource,
        "owner_id": owner,
        "statement": _get(obj, "query_info", "query_string"),
        "source_ip": _get(obj, "src_endpoint", "ip"),
        "terminal": _get(obj, "src_endpoint", "hostname"),
        "outcome": STATUS_OUTCOME.get(int(obj.get("status_id") or 0), "unknown"),
        "row_count": int(rows) if rows not in (None, "") else None,
        "source_system": "ocsf",
        "source_line": line,
        "subjects": [(owner, str(s)) for s in subjects],
    }


def looks_like_ocsf(path: Path) -> bool:
    """True when the first non-blank line is an object with a class_uid (for auto-detection)."""
    for _, text in numbered_lines(path):
        if text.strip():
            try:
                obj = json.loads(text)
            except ValueError:
                return False
            return isinstance(obj, dict) and "class_uid" in obj
    return False


def read_ocsf(path: Path) -> Iterator[Chunk]:
    return json_line_chunks(path, parse_ocsf, CHUNK_LINES)
