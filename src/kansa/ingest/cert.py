"""Reader for endpoint logs in the CMU CERT Insider Threat layout (logon, device, file, http,
email CSVs).

Columns are found by header name, because r4.2 and r6.2 differ (r6.2 adds activity and the
removable-media flags). Times are naive local times; the pipeline places them in the workspace's
zone. In r4.2, file.csv only lists copies to removable media, so a file row without the flag
counts as one.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from kansa.ingest.records import BadLine, Chunk
from kansa.ingest.textfile import open_text

CHUNK_ROWS = 20_000
CERT_FILES = ("logon.csv", "device.csv", "file.csv", "http.csv", "email.csv")  # logons first
_HEADERS = {
    "logon": ["id", "date", "user", "pc", "activity"],
    "device": ["id", "date", "user", "pc", "activity"],
    "file": ["id", "date", "user", "pc", "filename", "content"],
    "http": ["id", "date", "user", "pc", "url", "content"],
    "email": ["id", "date", "user", "pc", "to", "cc", "bcc", "from", "size", "attachments", "content"],
}


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip().lower() in ("true", "1", "yes")


def _parse_row(kind: str, row: dict[str, str], line: int) -> dict[str, Any]:
    ts = datetime.strptime(row["date"].strip(), "%m/%d/%Y %H:%M:%S")
    user = row["user"].strip()
    if not user:
        raise ValueError("empty user")
    rec: dict[str, Any] = {"ts": ts, "account": user, "host": row.get("pc"), "source_system": "cert",
                           "source_line": line}
    activity = (row.get("activity") or "").strip().lower()
    if kind == "logon":
        if activity not in ("logon", "logoff"):
            raise ValueError(f"unknown logon activity {row.get('activity')!r}")
        rec["kind"] = activity
    elif kind == "device":
        if activity not in ("connect", "disconnect"):
            raise ValueError(f"unknown device activity {row.get('activity')!r}")
        rec["kind"] = "usb_" + activity
    elif kind == "file":
        to_rem = _flag(row.get("to_removable_media"))
        if to_rem is None and "to_removable_media" not in row:
            to_rem = True  # r4.2: every row is a copy to removable media
        rec["to_removable"] = bool(to_rem)
        rec["kind"] = "file_copy" if to_rem or _flag(row.get("from_removable_media")) or "copy" in activity else "file_open"
        rec["path"] = row.get("filename")
    elif kind == "http":
        rec["kind"] = "http"
        rec["path"] = row.get("url")
    else:
        rec["kind"] = "email"
        rec["path"] = row.get("to")
        size = (row.get("size") or "").strip()
        rec["bytes"] = int(size) if size else None
    return rec


def read_cert_file(path: Path) -> Iterator[Chunk]:
    """One CERT CSV (kind from its name) → endpoint records."""
    kind = path.name.split(".")[0].lower()
    if kind not in _HEADERS:
        raise ValueError(f"not a CERT endpoint file: {path.name}")
    csv.field_size_limit(1 << 30)
    chunk = Chunk()
    with open_text(path) as fh:
        reader = csv.reader(fh)
        header: list[str] | None = None
        for lineno, cells in enumerate(reader, start=1):
            chunk.end_line = reader.line_num
            if lineno == 1:
                if cells and cells[0].strip().lower() == "id":
                    header = [c.strip().lower() for c in cells]
                    continue
                header = _HEADERS[kind]
            assert header is not None
            if not cells:
                continue
            try:
                if len(cells) < len(header) and not (kind in ("file", "http", "email") and len(cells) >= len(header) - 1):
                    raise ValueError(f"expected {len(header)} columns, found {len(cells)}")
                row = dict(zip(header, cells, strict=False))
                chunk.endpoint.append(_parse_row(kind, row, reader.line_num))
            except (ValueError, KeyError) as exc:
                chunk.bad.append(BadLine(reader.line_num, str(exc), ",".join(cells)[:2000]))
            if len(chunk.endpoint) + len(chunk.bad) >= CHUNK_ROWS:
                yield chunk
                chunk = Chunk(end_line=reader.line_num)
    yield chunk


def cert_files(directory: Path) -> list[Path]:
    """The CERT files present in a directory, in ingest order (logons first, for shared accounts)."""
    return [directory / name for name in CERT_FILES if (directory / name).exists()]
