"""Byte-stable writers for the world formats of docs/formats.md.

Everything a world contains is written here so that the same seed always gives the same bytes:
gzip with mtime 0 and no file name, LF line ends, rows in the order the caller sorted them.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any


def _write_bytes(path: Path, data: bytes, compress: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(data)
        data = buf.getvalue()
    path.write_bytes(data)


def write_csv(
    path: Path, header: Sequence[str] | None, rows: Iterable[Sequence[Any]] | Sequence[Sequence[Any]],
    encoding: str = "utf-8", compress: bool = False, quote_all: bool = False,
) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n" if encoding in ("cp932", "utf-8-sig") else "\n",
                   quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    if header is not None:
        w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else v for v in row])
    _write_bytes(path, buf.getvalue().encode(encoding), compress)


def write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "Sheet1") -> None:
    """An Excel workbook as owners send lists; byte-stable (fixed document times and zip entry
    times, which openpyxl would otherwise take from the clock)."""
    import zipfile
    from datetime import datetime as _dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    ws.append(list(header))
    for row in rows:
        ws.append(["" if v is None else v for v in row])
    fixed = _dt(2024, 1, 1)
    wb.properties.created = wb.properties.modified = fixed
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":   # openpyxl stamps "modified" with the clock on save
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", data)
            dst.writestr(entry, data)
    _write_bytes(path, out.getvalue(), False)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]], compress: bool = True) -> None:
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
    _write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8") if lines else b"", compress)


def write_json(path: Path, obj: Any) -> None:
    _write_bytes(path, (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode(), False)


def pg_time(t: datetime) -> str:
    """csvlog log_time: '2024-01-04 10:15:02.123 JST'."""
    return f"{t.isoformat(' ', 'milliseconds')[:23]} {t.tzname() or 'UTC'}"


def cert_time(t: datetime) -> str:
    """CERT dataset dates: MM/DD/YYYY HH:MM:SS, local time."""
    return f"{t.month:02d}/{t.day:02d}/{t.year:04d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


def iso_ms(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds")
