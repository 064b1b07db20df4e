"""Checking and registering an owner's dataset file (CSV/TSV/Excel, any Japanese encoding).

A dataset is what trace compares a leaked list against, so registering the wrong file, or the
right file read in the wrong encoding, makes a later attribution wrong without anyone noticing.
This module therefore reads the file fully before anything is written: it must be a list (not a
gzip, PDF or old .xls), decode cleanly in one encoding (UTF-8 with or without BOM, CP932/Shift_JIS
or EUC-JP, detected when not given), and hold the id column it is said to have, with no empty id.
Each failure is one line naming the file (and the line where there is one). Only then is the
dataset recorded in ``datasets``; the rows themselves are trace's to index.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from kansa.ingest.sources import record_dataset
from kansa.model.errors import InputError
from kansa.model.vocab import CATEGORIES
from kansa.model.workspace import Workspace

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
# Names a user may give to --encoding, to Python's codec names. "auto" detects.
ENCODINGS = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "cp932": "cp932",
             "windows-31j": "cp932", "ms932": "cp932", "shift_jis": "cp932", "shift-jis": "cp932",
             "sjis": "cp932", "euc-jp": "euc_jp", "euc_jp": "euc_jp", "eucjp": "euc_jp"}
# First bytes of files that are certainly not a list of records.
_NOT_A_LIST = ((b"\x1f\x8b", "a gzip archive"), (b"%PDF", "a PDF document"),
               (b"\xd0\xcf\x11\xe0", "an old Excel .xls (save it as .xlsx or CSV)"),
               (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"))


@dataclass
class DatasetFile:
    """A dataset file as read: its encoding, header, data rows, and the id column if any."""

    path: Path
    encoding: str                  # "xlsx" for Excel; otherwise the codec that decoded it
    header: list[str]
    rows: list[list[str]]
    first_data_line: int = 2
    id_column: str | None = None
    duplicate_ids: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return len(self.rows)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_text(data: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    """(text, codec). A named encoding must decode every byte; "auto"/None tries the Japanese ones.

    UTF-8 is tried first because it almost never decodes anything else by accident. CP932 and
    EUC-JP often both "succeed" on short files of the other; charset-normalizer then chooses, and
    when it cannot, CP932 (what Excel in Japan writes) is preferred.
    """
    if encoding and encoding.lower() != "auto":
        codec = ENCODINGS.get(encoding.lower())
        if codec is None:
            raise InputError(f"unknown encoding {encoding!r}; use auto, utf-8, cp932/shift_jis or euc-jp",
                             path=str(path))
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid {encoding} (byte {exc.start}); try --encoding auto",
                             path=str(path), line=_line_of(data, exc.start)) from exc
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    fits = []
    for codec in ("cp932", "euc_jp"):
        try:
            fits.append((codec, data.decode(codec)))
        except UnicodeDecodeError:
            continue
    if len(fits) == 1:
        return fits[0][1], fits[0][0]
    if fits:
        best = from_bytes(data, cp_isolation=["cp932", "euc_jp"]).best()
        chosen = "euc_jp" if best is not None and best.encoding == "euc_jp" else "cp932"
        return dict(fits)[chosen], chosen
    raise InputError("not text in UTF-8, CP932/Shift_JIS or EUC-JP (first bad byte "
                     f"{utf8_error.start}); is this the right file?", path=str(path),
                     line=_line_of(data, utf8_error.start))


def _sniff_kind(path: Path, head: bytes) -> None:
    for magic, what in _NOT_A_LIST:
        if head.startswith(magic):
            raise InputError(f"this is {what}, not a CSV/TSV/Excel list", path=str(path))
    if path.suffix.lower() in EXCEL_SUFFIXES and not head.startswith(b"PK"):
        raise InputError("named like Excel but not an .xlsx file", path=str(path))


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # Excel stores 12345 as 12345.0
    if isinstance(v, date):
        return v.isoformat()[:10]
    return str(v).strip()


def _excel_rows(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"cannot read as Excel (.xlsx): {exc}", path=str(path)) from exc
    try:
        return [[_cell(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _text_rows(path: Path, data: bytes, encoding: str | None) -> tuple[list[list[str]], str]:
    if b"\x00" in data[:4096]:
        raise InputError("binary data (NUL bytes), not a CSV/TSV list; UTF-16 is not supported",
                         path=str(path))
    text, codec = decode_text(data, path, encoding)
    first = text.split("\n", 1)[0]
    delim = "\t" if path.suffix.lower() == ".tsv" or first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=str(path), line=reader.line_num) from exc
    return rows, codec


def read_dataset_file(path: Path, encoding: str | None = None, id_column: str | None = None) -> DatasetFile:
    """Read and check a dataset file; raises InputError (one line, naming the file) on any problem.

    The first non-empty row is the header. Without ``id_column`` a record's id is its row number
    (1 = first data row), as trace numbers them.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=str(path))
    data = path.read_bytes()
    _sniff_kind(path, data[:8])
    if path.suffix.lower() in EXCEL_SUFFIXES:
        raw, codec = _excel_rows(path), "xlsx"
    else:
        raw, codec = _text_rows(path, data, encoding)
    numbered = [(n, [c.strip() for c in r]) for n, r in enumerate(raw, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise InputError("the file holds no rows", path=str(path))
    (header_line, header), body = numbered[0], numbered[1:]
    result = DatasetFile(path=path, encoding=codec, header=header, rows=[r for _, r in body],
                         first_data_line=body[0][0] if body else header_line + 1)
    if id_column is not None:
        if id_column not in header:
            shown = ", ".join(h for h in header if h) or "(none)"
            raise InputError(f"no id column {id_column!r}; the columns are: {shown}", path=str(path),
                             line=header_line)
        idx = header.index(id_column)
        for line, row in body:
            if idx >= len(row) or not row[idx]:
                raise InputError(f"empty {id_column!r} (the record id)", path=str(path), line=line)
        counts = Counter(row[idx] for _, row in body)
        result.id_column = id_column
        result.duplicate_ids = sum(n - 1 for n in counts.values() if n > 1)
        if result.duplicate_ids:
            result.notes.append(f"{result.duplicate_ids} rows repeat an id already seen")
    return result


def _date(value: str | date | None, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{what} must be a date like 2024-04-01, got {value!r}") from exc


def ingest_dataset(
    ws: Workspace,
    path: Path,
    owner: str,
    name: str,
    *,
    version: str | None = None,
    valid_from: str | date | None = None,
    valid_to: str | date | None = None,
    id_column: str | None = None,
    categories: list[str] | None = None,
    encoding: str | None = None,
) -> dict[str, Any]:
    """Check a dataset file and record it in ``datasets``; returns what was recorded.

    Returns {"dataset_id", "skipped", "records", "encoding", "id_column", "duplicate_ids",
    "header", "notes", "digest"}. ``encoding`` in the result is the codec that read the file, to be
    handed on (e.g. to trace's index_dataset) so that both read it the same way.
    """
    if not owner or not name:
        raise InputError("a dataset needs an owner and a name", path=str(path))
    cats = [c.strip() for c in categories or [] if c.strip()]
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown:
        raise InputError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)};"
                         f" known: {', '.join(CATEGORIES)}", path=str(path))
    start, end = _date(valid_from, "--valid-from"), _date(valid_to, "--valid-to")
    if start and end and end < start:
        raise InputError(f"--valid-to {end} is before --valid-from {start}", path=str(path))
    checked = read_dataset_file(path, encoding, id_column)
    entry = {"owner": owner, "name": name, "version": version, "categories": cats,
             "valid_from": start, "valid_to": end,
             "encoding": None if checked.encoding == "xlsx" else checked.encoding}
    recorded = record_dataset(ws, Path(path), entry)
    if not recorded.get("skipped") and recorded.get("records") != checked.records:
        ws.con.execute("UPDATE datasets SET records = ? WHERE dataset_id = ?",
                       [checked.records, recorded["dataset_id"]])
    return {
        "dataset_id": recorded["dataset_id"], "skipped": bool(recorded.get("skipped")),
        "records": checked.records, "encoding": checked.encoding, "id_column": checked.id_column,
        "duplicate_ids": checked.duplicate_ids, "header": checked.header, "notes": checked.notes,
        "digest": recorded["digest"], "path": str(path),
    }
