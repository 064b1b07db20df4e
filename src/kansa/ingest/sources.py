"""Ingesting one source (a file or a folder) by kind: the entry points the CLI and the world
ingest share.

Each returns a plain dict so that the CLI can print it and ``ingest_world`` can add it up.
"""

from __future__ import annotations

import csv
import importlib
import io
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kansa.ingest.access_columnar import access_stage
from kansa.ingest.cert import cert_files, read_cert_file
from kansa.ingest.ocsf import looks_like_ocsf
from kansa.ingest.ocsf_columnar import ocsf_stage
from kansa.ingest.pipeline import FileResult, file_digest, ingest_chunks, ingest_staged_blocks
from kansa.ingest.records import Chunk
from kansa.model.errors import InputError
from kansa.model.workspace import Workspace

log = logging.getLogger(__name__)


def _need_file(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=str(path))
    return path


def ingest_access_file(ws: Workspace, path: Path) -> dict[str, Any]:
    """An application access log: kansa JSONL, or OCSF (detected by class_uid)."""
    path = _need_file(path)
    if looks_like_ocsf(path):
        return ingest_ocsf_file(ws, path)
    return ingest_staged_blocks(ws, path, "access", access_stage(path, ws.timezone.key)).to_dict()


def ingest_ocsf_file(ws: Workspace, path: Path) -> dict[str, Any]:
    path = _need_file(path)
    return ingest_staged_blocks(ws, path, "ocsf", ocsf_stage(path)).to_dict()


def ingest_pgaudit_file(ws: Workspace, path: Path) -> dict[str, Any]:
    """PostgreSQL csvlog/jsonlog through the pgaudit reader, when that module is installed."""
    path = _need_file(path)
    try:
        pgaudit = importlib.import_module("kansa.ingest.pgaudit")
    except ImportError:
        log.warning("%s: no pgaudit reader available; file quarantined, not ingested", path)
        ws.con.execute(
            "INSERT INTO quarantine VALUES (NULL, 'pgaudit', ?, NULL, ?, NULL)",
            [str(path), "no pgaudit reader available in this kansa; file not ingested"],
        )
        return FileResult(path=str(path), source="pgaudit", quarantined=1, not_ingested=True).to_dict()
    if not pgaudit.is_jsonlog(path):
        stage = importlib.import_module("kansa.ingest.pgaudit_stage")
        try:
            return stage.ingest_pgaudit_columnar(ws, path).to_dict()  # type: ignore[no-any-return]
        except stage.Irregular as why:  # rolled back; the line reader quarantines what it must
            log.info("%s: read line by line (%s)", path, why)
    reader: Callable[[Path], Iterable[Chunk]] = pgaudit.pgaudit_reader(ws)
    return ingest_chunks(ws, path, "pgaudit", reader).to_dict()


def ingest_cert_dir(ws: Workspace, directory: Path) -> dict[str, Any]:
    """Every CERT CSV in the folder, each its own atomic file."""
    directory = Path(directory)
    files = cert_files(directory) if directory.is_dir() else []
    if not files:
        raise InputError("no CERT endpoint files (logon.csv, device.csv, file.csv, ...)", path=str(directory))
    results = [ingest_chunks(ws, f, "cert", read_cert_file) for f in files]
    return {
        "path": str(directory),
        "files": [r.to_dict() for r in results],
        "endpoint_events": sum(r.endpoint_events for r in results),
        "quarantined": sum(r.quarantined for r in results),
        "skipped": sum(r.skipped for r in results),
    }


def _count_records(path: Path, encoding: str | None) -> int | None:
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True)
            sheet = book.worksheets[0]
            n = sum(1 for row in sheet.iter_rows(values_only=True) if any(v not in (None, "") for v in row))
            book.close()
            return max(n - 1, 0)
        data = path.read_bytes()
        if encoding is None:
            from charset_normalizer import from_bytes

            best = from_bytes(data).best()
            encoding = best.encoding if best else "utf-8"
        text = data.decode(encoding, errors="replace").lstrip("\ufeff")
        delim = "\t" if path.suffix.lower() == ".tsv" else ","
        return max(sum(1 for row in csv.reader(io.StringIO(text), delimiter=delim) if row) - 1, 0)
    except Exception as exc:  # counting is a courtesy; the dataset is still recorded
        log.warning("%s: could not count records: %s", path, exc)
        return None


def record_dataset(ws: Workspace, path: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """A dataset listed in a manifest goes into the datasets table (its rows are trace's business)."""
    path = _need_file(path)
    owner = entry.get("owner")
    name = entry.get("name") or path.stem
    if not owner:
        raise InputError("dataset entry needs an owner", path=str(path))
    version = entry.get("version")
    dataset_id = f"{owner}/{name}/{version}" if version else f"{owner}/{name}"
    digest, _ = file_digest(path)
    con = ws.con
    same = con.execute(
        "SELECT count(*) FROM datasets WHERE dataset_id = ? AND digest = ?", [dataset_id, digest]
    ).fetchall()[0]
    if same[0]:
        return {"dataset_id": dataset_id, "skipped": True, "digest": digest}

    def _d(v: Any) -> date | None:
        return date.fromisoformat(str(v)) if v else None

    records = _count_records(path, entry.get("encoding"))
    con.begin()
    try:
        con.execute("DELETE FROM datasets WHERE dataset_id = ?", [dataset_id])
        con.execute(
            "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [dataset_id, owner, name, version, entry.get("categories") or [], _d(entry.get("valid_from")),
             _d(entry.get("valid_to")), records, str(path), digest],
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return {"dataset_id": dataset_id, "skipped": False, "records": records, "digest": digest}


def ingest_status(ws: Workspace) -> dict[str, Any]:
    """What has been ingested: files per source, events, quarantined lines (with their reasons)."""
    con = ws.con
    by_source = [
        {"source": s, "files": f, "lines": ln}
        for s, f, ln in con.execute(
            "SELECT source, count(DISTINCT path), sum(lines_done) FROM (SELECT path, source, max(lines_done) AS lines_done"
            " FROM ingest_files GROUP BY path, source) GROUP BY source ORDER BY source"
        ).fetchall()
    ]
    one = lambda sql: int((con.execute(sql).fetchall() or [(0,)])[0][0] or 0)  # noqa: E731
    reasons = [
        {"path": p, "reason": r, "count": n}
        for p, r, n in con.execute(
            "SELECT path, reason, count(*) FROM quarantine GROUP BY path, reason ORDER BY count(*) DESC LIMIT 20"
        ).fetchall()
    ]
    return {
        "files": one("SELECT count(DISTINCT path) FROM ingest_files"),
        "by_source": by_source,
        "events": one("SELECT count(*) FROM access_events"),
        "endpoint_events": one("SELECT count(*) FROM endpoint_events"),
        "unresolved_actor": one("SELECT count(*) FROM access_events WHERE actor_id IS NULL"),
        "quarantined": one("SELECT count(*) FROM quarantine"),
        "quarantine_reasons": reasons,
        "datasets": one("SELECT count(*) FROM datasets"),
        "as_of": datetime.now(UTC),
    }
