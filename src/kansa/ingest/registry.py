"""Loading the registry (who works where, with which accounts and terminals, under which
contracts) from one CSV per table.

The registry is a snapshot, not a log: a new export replaces the tables it names, all in one
transaction, and an unchanged export (same bytes) is skipped. Bad rows are quarantined by line.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from kansa.model.errors import InputError
from kansa.model.workspace import Workspace

REGISTRY_TABLES = (
    "organisations", "contracts", "actors", "accounts", "terminals", "assignments", "assignment_subjects",
    "db_owners",
)


def _convert(value: str, dtype: str) -> Any:
    value = value.strip()
    if dtype.endswith("[]"):
        return [v.strip() for v in value.split("|") if v.strip()] if value else []
    if value == "":
        return None
    if dtype == "BOOLEAN":
        low = value.lower()
        if low in ("true", "t", "1", "yes", "y"):
            return True
        if low in ("false", "f", "0", "no", "n"):
            return False
        raise ValueError(f"not a boolean: {value!r}")
    if dtype == "DATE":
        return date.fromisoformat(value)
    if dtype in ("BIGINT", "INTEGER"):
        return int(value)
    return value


def _decode(path: Path) -> str:
    """UTF-8 (with or without BOM) as formats.md says; CP932 as Excel in Japan saves CSV."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError("neither UTF-8 nor CP932 text", path=str(path))


def registry_digest(directory: Path) -> str:
    h = hashlib.sha256()
    for table in REGISTRY_TABLES:
        path = directory / f"{table}.csv"
        if path.exists():
            h.update(table.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def ingest_registry(ws: Workspace, directory: Path) -> dict[str, Any]:
    """Replace the registry tables with the CSVs in ``directory``; returns rows per table."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("registry must be a folder of CSV files", path=str(directory))
    present = [t for t in REGISTRY_TABLES if (directory / f"{t}.csv").exists()]
    if not present:
        raise InputError("no registry CSV found (organisations.csv, actors.csv, ...)", path=str(directory))
    digest = registry_digest(directory)
    con = ws.con
    last = con.execute(
        "SELECT head_digest FROM ingest_files WHERE source = 'registry' ORDER BY updated_at DESC LIMIT 1"
    ).fetchall()
    if last and last[0][0] == digest:  # compare with the registry in force, not any older one
        return {"path": str(directory), "skipped": True, "tables": {}, "quarantined": 0}
    counts: dict[str, int] = {}
    quarantined = 0
    con.begin()
    try:
        for table in present:
            path = directory / f"{table}.csv"
            types = dict(con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?"
                " ORDER BY ordinal_position", [table]).fetchall())
            rows: list[list[Any]] = []
            bad: list[tuple[int, str, str]] = []
            with io.StringIO(_decode(path), newline="") as fh:
                reader = csv.DictReader(fh)
                unknown = [c for c in (reader.fieldnames or []) if c not in types]
                cols = [c for c in (reader.fieldnames or []) if c in types]
                if unknown:
                    raise InputError(f"unknown column(s) {', '.join(unknown)} for table {table}", path=str(path), line=1)
                for rec in reader:
                    try:
                        rows.append([_convert(rec.get(c) or "", types[c]) for c in cols])
                    except ValueError as exc:
                        bad.append((reader.line_num, str(exc), ",".join(str(v) for v in rec.values())))
            con.execute(f"DELETE FROM {table}")
            if rows:  # bulk through Arrow: executemany costs a round trip per row
                arrow = pa.Table.from_pylist([dict(zip(cols, r, strict=True)) for r in rows])
                con.register("_kansa_registry_rows", arrow)
                try:
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _kansa_registry_rows")
                finally:
                    con.unregister("_kansa_registry_rows")
            for line, reason, raw in bad:
                con.execute("INSERT INTO quarantine VALUES (NULL, 'registry', ?, ?, ?, ?)", [str(path), line, reason, raw])
            counts[table] = len(rows)
            quarantined += len(bad)
        con.execute(
            "INSERT INTO ingest_files VALUES (?, 'registry', ?, 0, ?, ?)",
            [str(directory), digest, sum(counts.values()), datetime.now(UTC)],
        )
        con.commit()
    except BaseException as exc:
        con.rollback()
        if "Constraint Error" in str(exc) or type(exc).__name__ == "ConstraintException":
            raise InputError(f"registry violates a key: {exc}", path=str(directory)) from exc
        raise
    return {"path": str(directory), "skipped": False, "tables": counts, "quarantined": quarantined}
