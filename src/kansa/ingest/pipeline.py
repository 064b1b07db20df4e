"""The one path by which events enter the workspace.

Every reader yields Chunks; this module turns them into rows with the guarantees the rest of kansa
relies on: a file is ingested in ONE DuckDB transaction (events, subjects, quarantine, the batch and
the ingest_files row commit together or not at all), a file whose content digest was already
ingested is skipped (so re-running an ingest changes nothing), event ids continue one sequence
across access and endpoint events (they are the ledger's leaf indexes), and each event's actor is
resolved from the registry so that audit compares people, not account names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from kansa.ingest.records import ACCESS_KEYS, ENDPOINT_KEYS, BadLine, Chunk
from kansa.model.workspace import Workspace

# The accounts.csv `system` a source's account names belong to, when the record names none.
DEFAULT_ACCOUNT_SYSTEM = {"access": "app", "ocsf": "app", "pgaudit": "db", "cert": "endpoint"}

_ACCESS_TYPES: dict[str, pa.DataType] = {
    "event_id": pa.int64(), "ts": pa.timestamp("us", tz="UTC"), "actor_id": pa.string(),
    "account": pa.string(), "action": pa.string(), "resource": pa.string(),
    "columns": pa.list_(pa.string()), "owner_id": pa.string(), "purpose": pa.string(),
    "ticket": pa.string(), "terminal": pa.string(), "source_ip": pa.string(), "outcome": pa.string(),
    "row_count": pa.int64(), "bytes": pa.int64(), "statement": pa.string(),
    "source_system": pa.string(), "batch_id": pa.int64(), "source_file": pa.string(),
    "source_line": pa.int64(),
}
_ENDPOINT_TYPES: dict[str, pa.DataType] = {
    "event_id": pa.int64(), "ts": pa.timestamp("us", tz="UTC"), "actor_id": pa.string(),
    "account": pa.string(), "host": pa.string(), "kind": pa.string(), "device": pa.string(),
    "path": pa.string(), "bytes": pa.int64(), "to_removable": pa.bool_(),
    "source_system": pa.string(), "batch_id": pa.int64(), "source_file": pa.string(),
    "source_line": pa.int64(),
}

_SUBJECT_TYPES: dict[str, pa.DataType] = {"event_id": pa.int64(), "owner_id": pa.string(), "subject_id": pa.string()}


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 of a file's bytes and its size."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def prefix_digest(path: Path, nbytes: int) -> str:
    """sha256 of a file's first ``nbytes`` bytes."""
    h = hashlib.sha256()
    left = nbytes
    with path.open("rb") as fh:
        while left > 0 and (block := fh.read(min(left, 1 << 20))):
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def resume_point(ws: Workspace, name: str, path: Path, size: int) -> int:
    """Lines already ingested when ``path`` is an earlier-ingested file that has since grown.

    Logs are appended to while they are written; re-reading the whole file would duplicate every
    event. The file is a continuation when its first ``bytes_done`` bytes hash to what was ingested.
    """
    row = ws.con.execute(
        "SELECT head_digest, bytes_done, lines_done FROM ingest_files WHERE path = ? AND bytes_done < ?"
        " ORDER BY bytes_done DESC LIMIT 1",
        [name, size],
    ).fetchone()
    if row is None or not row[1]:
        return 0
    return int(row[2]) if prefix_digest(path, int(row[1])) == row[0] else 0


def already_ingested(ws: Workspace, digest: str) -> bool:
    row = ws.con.execute("SELECT count(*) FROM ingest_files WHERE head_digest = ?", [digest]).fetchone()
    return bool(row and row[0])


@dataclass
class FileResult:
    path: str
    source: str
    skipped: bool = False
    not_ingested: bool = False  # the whole file was quarantined (no reader for it)
    resumed_after_line: int = 0  # the file had grown since its last ingest; lines up to here were done
    events: int = 0
    endpoint_events: int = 0
    quarantined: int = 0
    batch_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ActorResolver:
    """Account name → person, from the registry loaded once per file.

    A personal account maps straight to its actor. A shared account (or one the registry marks
    shared) is resolved by where it was used: the terminal named in the event, or the source
    address → terminals.address, whose assigned actor it is. Events on shared machines are
    resolved after insertion by who was logged on to that host (see ``resolve_by_logon``).
    """

    def __init__(self, ws: Workspace) -> None:
        con = ws.con
        self.accounts: dict[tuple[str, str], tuple[str | None, bool]] = {
            (s, a): (actor, bool(shared))
            for s, a, actor, shared in con.execute("SELECT system, account, actor_id, shared FROM accounts").fetchall()
        }
        self.by_address: dict[str, str | None] = {}
        self.by_terminal: dict[str, str | None] = {}
        for tid, addr, actor in con.execute("SELECT terminal_id, address, actor_id FROM terminals").fetchall():
            self.by_terminal[tid] = actor
            if addr:
                self.by_address[addr] = actor
        self.actor_ids = {r[0] for r in con.execute("SELECT actor_id FROM actors").fetchall()}

    def resolve(self, rec: dict[str, Any], default_system: str) -> str | None:
        account = rec.get("account")
        if account is None:
            return None
        hit = None
        system = rec.get("system")
        if system is not None:
            hit = self.accounts.get((str(system), account))
        if hit is None:
            hit = self.accounts.get((default_system, account))
        if hit is None:
            # No registry row: a source that logs the person's own id needs no mapping.
            return account if account in self.actor_ids else None
        actor, shared = hit
        if actor is not None and not shared:
            return actor
        for key, table in (("terminal", self.by_terminal), ("host", self.by_terminal), ("source_ip", self.by_address)):
            value = rec.get(key)
            if value is not None and table.get(value):
                return table[value]
        return None


def _to_utc(value: Any, tz: ZoneInfo) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ValueError(f"not a timestamp: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _next_ids(ws: Workspace) -> tuple[int, int]:
    row = ws.con.execute(
        "SELECT greatest(coalesce((SELECT max(event_id) FROM access_events), -1),"
        " coalesce((SELECT max(event_id) FROM endpoint_events), -1)) + 1,"
        " coalesce((SELECT max(batch_id) FROM ingest_batches), 0) + 1"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _insert(ws: Workspace, table: str, types: dict[str, pa.DataType], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    arrays = {name: pa.array([r.get(name) for r in rows], type=t) for name, t in types.items()}
    tbl = pa.table(arrays)
    ws.con.register("_kansa_ingest_rows", tbl)
    try:
        ws.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _kansa_ingest_rows")
    finally:
        ws.con.unregister("_kansa_ingest_rows")


def resolve_by_logon(ws: Workspace, first: int, last: int) -> None:
    """Shared-account events still unresolved: the person logged on to the event's host then.

    The host is the event's terminal, or the terminal whose address the event came from; the
    actor is the one whose latest logon/logoff on that host at or before the event was a logon.
    """
    ws.con.execute(
        """
        UPDATE access_events SET actor_id = r.actor_id FROM (
            SELECT e.event_id, l.actor_id, l.kind
            FROM (
                SELECT e.event_id, e.ts, coalesce(t1.terminal_id, t2.terminal_id) AS host
                FROM access_events e
                JOIN accounts a ON a.account = e.account AND a.shared
                LEFT JOIN terminals t1 ON t1.terminal_id = e.terminal
                LEFT JOIN terminals t2 ON t2.address = e.source_ip
                WHERE e.event_id BETWEEN ? AND ? AND e.actor_id IS NULL
            ) e
            ASOF JOIN (
                SELECT host, ts, actor_id, kind FROM endpoint_events WHERE kind IN ('logon', 'logoff')
            ) l ON l.host = e.host AND l.ts <= e.ts
        ) r
        WHERE access_events.event_id = r.event_id AND r.kind = 'logon' AND r.actor_id IS NOT NULL
        """,
        [first, last],
    )


def ingest_chunks(
    ws: Workspace,
    path: Path,
    source: str,
    read: Callable[[Path], Iterable[Chunk]],
    *,
    digest_path: Path | None = None,
) -> FileResult:
    """Ingest one file through ``read`` atomically and idempotently.

    ``digest_path`` is the file whose bytes identify the content (default ``path``). An exception
    from the reader rolls everything back; the caller sees it unchanged.
    """
    name = str(path)
    digest, size = file_digest(digest_path or path)
    result = FileResult(path=name, source=source)
    if already_ingested(ws, digest):
        result.skipped = True
        return result
    resume_after = resume_point(ws, name, digest_path or path, size) if digest_path is None else 0
    result.resumed_after_line = resume_after
    tz = ws.timezone
    resolver = ActorResolver(ws)
    default_system = DEFAULT_ACCOUNT_SYSTEM.get(source, source)
    con = ws.con
    con.begin()
    try:
        next_id, batch_id = _next_ids(ws)
        first_id = next_id
        started = datetime.now(UTC)
        con.execute(
            "INSERT INTO ingest_batches (batch_id, source, path, started_at) VALUES (?, ?, ?, ?)",
            [batch_id, source, name, started],
        )
        read_count = 0
        lines_done = 0
        for chunk in read(path):
            lines_done = max(lines_done, chunk.end_line)
            access_rows: list[dict[str, Any]] = []
            subject_rows: list[dict[str, Any]] = []
            if chunk.end_line <= resume_after:
                continue
            chunk_bad = [b for b in chunk.bad if b.line > resume_after]
            bad = list(chunk_bad)
            endpoint_rows: list[dict[str, Any]] = []
            for records, keys, required, rows in (
                (chunk.access, ACCESS_KEYS, "action", access_rows),
                (chunk.endpoint, ENDPOINT_KEYS, "kind", endpoint_rows),
            ):
                for rec in records:
                    line = int(rec.get("source_line") or 0)
                    if line <= resume_after:
                        continue
                    read_count += 1
                    try:
                        row = {k: rec.get(k) for k in keys}
                        row["ts"] = _to_utc(rec["ts"], tz)
                        if not row.get(required):
                            raise ValueError(f"no {required}")
                    except (KeyError, ValueError, TypeError) as exc:
                        bad.append(BadLine(line, f"bad record: {exc}", repr(rec)[:500]))
                        continue
                    row["source_system"] = row.get("source_system") or source
                    if row.get("actor_id") is None:
                        row["actor_id"] = resolver.resolve(rec, default_system)
                    row.update(event_id=next_id, batch_id=batch_id, source_file=name)
                    for owner, subject in rec.get("subjects") or ():
                        subject_rows.append({"event_id": next_id, "owner_id": owner, "subject_id": str(subject)})
                    rows.append(row)
                    next_id += 1
            _insert(ws, "access_events", _ACCESS_TYPES, access_rows)
            _insert(ws, "endpoint_events", _ENDPOINT_TYPES, endpoint_rows)
            _insert(ws, "access_subjects", _SUBJECT_TYPES, subject_rows)
            if bad:
                con.executemany(
                    "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)",
                    [(batch_id, source, name, b.line, b.reason, b.raw[:2000]) for b in bad],
                )
            read_count += len(chunk_bad)
            result.events += len(access_rows)
            result.endpoint_events += len(endpoint_rows)
            result.quarantined += len(bad)
        if next_id > first_id:
            resolve_by_logon(ws, first_id, next_id - 1)
        now = datetime.now(UTC)
        con.execute(
            "UPDATE ingest_batches SET finished_at = ?, read = ?, ingested = ?, quarantined = ?,"
            " first_event = ?, last_event = ? WHERE batch_id = ?",
            [now, read_count, result.events + result.endpoint_events, result.quarantined,
             first_id if next_id > first_id else None, next_id - 1 if next_id > first_id else None, batch_id],
        )
        con.execute(
            "INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?, ?)", [name, source, digest, size, lines_done, now]
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    result.batch_id = batch_id
    return result
