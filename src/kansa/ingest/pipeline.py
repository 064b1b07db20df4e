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
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kansa.ingest.blocks import StagedBlock, staged_blocks
from kansa.ingest.memory import ingest_memory
from kansa.ingest.records import ACCESS_KEYS, ENDPOINT_KEYS, BadLine, Chunk
from kansa.ingest.textfile import BLOCK_BYTES, content_digest, is_gzip, open_binary
from kansa.ledger import ensure_ledger, seal_pending, seal_range
from kansa.model.workspace import Workspace

log = logging.getLogger(__name__)

# Content bytes per committed batch of a big file: bounds the open transaction (its rows, index
# entries and ledger leaves are held until commit), so memory stays flat whatever the file's size.
BATCH_BYTES = 64 << 20

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
    """sha256 of a file's decompressed content and its length (plain and gzip give the same)."""
    h, size = content_digest(path)
    return h.hexdigest(), size


def prefix_digest(path: Path, nbytes: int) -> str:
    """sha256 of the first ``nbytes`` bytes of a file's decompressed content."""
    return str(content_digest(path, nbytes)[0].hexdigest())


def resume_point(ws: Workspace, name: str, path: Path, size: int) -> int:
    """Lines already ingested when ``path`` is an earlier-ingested file that has since grown."""
    found = _resume(ws, name, path, size)
    return found[1] if found else 0


def _resume(ws: Workspace, name: str, path: Path, size: int | None) -> tuple[int, int, Any] | None:
    """(content bytes done, lines done, hash of those bytes) when ``path`` continues an ingested file.

    Logs are appended to while they are written; re-reading the whole file would duplicate every
    event. The file is a continuation when its first ``bytes_done`` content bytes hash to what was
    ingested. ``size`` None: the content length is not known before reading (gzip).
    """
    rows = ws.con.execute(
        "SELECT head_digest, bytes_done, lines_done FROM ingest_files WHERE path = ? AND bytes_done > 0"
        " AND (? IS NULL OR bytes_done < ?) ORDER BY bytes_done DESC LIMIT 1",
        [name, size, size],
    ).fetchall()
    if not rows:
        return None
    digest, done, lines = rows[0]
    h, got = content_digest(path, int(done))
    if got != int(done) or h.hexdigest() != digest:
        return None
    return int(done), int(lines), h


def already_ingested(ws: Workspace, digest: str) -> bool:
    rows = ws.con.execute("SELECT count(*) FROM ingest_files WHERE head_digest = ?", [digest]).fetchall()
    return bool(rows[0][0])  # fetched to the end: DuckDB refuses other work on a half-read result


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
    ).fetchall()[0]  # read to the end: DuckDB refuses some later calls on a half-read result
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


class _FileBatch:
    """One file's ingest transaction: the batch row at the start, the bookkeeping at the end.

    Everything between ``open`` and ``commit`` is one DuckDB transaction, so a crash or an error
    anywhere leaves no trace of the file; ``commit`` also seals the new events into the ledger in
    the same transaction, so events, ingest_files and the ledger never disagree. (Shared accounts
    are resolved before sealing: a sealed row must not change afterwards.)
    """

    def __init__(self, ws: Workspace, path: Path, source: str, result: FileResult) -> None:
        self.ws = ws
        self.name = str(path)
        self.source = source
        self.result = result
        self.read_count = 0
        # counts of the file before this batch (a big file is committed in several batches)
        self.events_before = result.events + result.endpoint_events
        self.quarantined_before = result.quarantined

    def open(self) -> None:
        con = self.ws.con
        ensure_ledger(self.ws)  # its tables must exist before the file's transaction opens
        con.begin()
        self.next_id, self.batch_id = _next_ids(self.ws)
        self.first_id = self.next_id
        con.execute(
            "INSERT INTO ingest_batches (batch_id, source, path, started_at) VALUES (?, ?, ?, ?)",
            [self.batch_id, self.source, self.name, datetime.now(UTC)],
        )

    def commit(self, digest: str, size: int, lines_done: int, *, resolved: bool = False,
               check_duplicate: bool = True) -> bool:
        """Finish the file (or one batch of it: ``digest`` of the content up to ``size``); False (and
        everything rolled back) when its content was already ingested under another name or form,
        which a digest computed while reading can only tell now."""
        con = self.ws.con
        if check_duplicate and already_ingested(self.ws, digest):
            con.rollback()
            self.result.skipped = True
            self.result.events = self.result.endpoint_events = self.result.quarantined = 0
            return False
        first, last = self.first_id, self.next_id - 1
        if last >= first:
            if not resolved:
                resolve_by_logon(self.ws, first, last)
            seal_pending(self.ws, since_event=first, in_transaction=True)
        now = datetime.now(UTC)
        r = self.result
        con.execute(
            "UPDATE ingest_batches SET finished_at = ?, read = ?, ingested = ?, quarantined = ?,"
            " first_event = ?, last_event = ? WHERE batch_id = ?",
            [now, self.read_count, r.events + r.endpoint_events - self.events_before,
             r.quarantined - self.quarantined_before,
             first if last >= first else None, last if last >= first else None, self.batch_id],
        )
        con.execute(
            "INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?, ?)", [self.name, self.source, digest, size, lines_done, now]
        )
        con.commit()
        r.batch_id = self.batch_id
        return True

    def rollback(self) -> None:
        self.ws.con.rollback()


def ingest_chunks(
    ws: Workspace,
    path: Path,
    source: str,
    read: Callable[[Path], Iterable[Chunk]],
    *,
    digest_path: Path | None = None,
) -> FileResult:
    """Ingest one file through ``read`` (records as Python dicts) atomically and idempotently.

    ``digest_path`` is the file whose content identifies the input (default ``path``). An
    exception from the reader rolls everything back; the caller sees it unchanged.
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
    batch = _FileBatch(ws, path, source, result)
    batch.open()
    try:
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
                    batch.read_count += 1
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
                    row.update(event_id=batch.next_id, batch_id=batch.batch_id, source_file=name)
                    for owner, subject in rec.get("subjects") or ():
                        subject_rows.append({"event_id": batch.next_id, "owner_id": owner, "subject_id": str(subject)})
                    rows.append(row)
                    batch.next_id += 1
            _insert(ws, "access_events", _ACCESS_TYPES, access_rows)
            _insert(ws, "endpoint_events", _ENDPOINT_TYPES, endpoint_rows)
            _insert(ws, "access_subjects", _SUBJECT_TYPES, subject_rows)
            if bad:
                con.executemany(
                    "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)",
                    [(batch.batch_id, source, name, b.line, b.reason, b.raw[:2000]) for b in bad],
                )
            batch.read_count += len(chunk_bad)
            result.events += len(access_rows)
            result.endpoint_events += len(endpoint_rows)
            result.quarantined += len(bad)
        batch.commit(digest, size, lines_done)
    except BaseException:
        batch.rollback()
        raise
    return result


def _resolve_actor_sql(default_system: str) -> str:
    """The SELECT list expression and joins that resolve ``s.account`` to a person, in SQL.

    The same rules as ActorResolver: the record's own system, then the source's default; a
    personal account is its actor; a shared one is resolved by terminal, then by source address
    (when that address belongs to one actor's terminal); an account with no registry row that is
    itself an actor id stands for that actor. The rest stays NULL (then ``resolve_by_logon``).
    """
    system = default_system.replace("'", "''")
    return f"""
        CASE
            WHEN a1.account IS NOT NULL THEN CASE WHEN a1.actor_id IS NOT NULL AND NOT coalesce(a1.shared, false)
                THEN a1.actor_id ELSE coalesce(t.actor_id, ta.actor_id) END
            WHEN a2.account IS NOT NULL THEN CASE WHEN a2.actor_id IS NOT NULL AND NOT coalesce(a2.shared, false)
                THEN a2.actor_id ELSE coalesce(t.actor_id, ta.actor_id) END
            ELSE ac.actor_id
        END AS actor_id
    FROM _kansa_good s
    LEFT JOIN accounts a1 ON a1.system = s.system AND a1.account = s.account
    LEFT JOIN accounts a2 ON a2.system = '{system}' AND a2.account = s.account
    LEFT JOIN actors ac ON ac.actor_id = s.account
    LEFT JOIN terminals t ON t.terminal_id = s.terminal
    LEFT JOIN (
        SELECT address, min(actor_id) AS actor_id FROM terminals WHERE address IS NOT NULL
        GROUP BY address HAVING count(DISTINCT actor_id) = 1
    ) ta ON ta.address = s.source_ip
    """


def ingest_line_blocks(ws: Workspace, path: Path, source: str, stage_sql: str) -> FileResult:
    """Ingest a line-oriented file parsed inside DuckDB, block by block, atomically and idempotently.

    ``stage_sql`` turns the relation ``_kansa_block(line, n)`` into staged rows: ``n``, ``line``,
    ``reason`` (NULL for a good line, else why it is quarantined), the access_events columns a
    source can give, ``system`` (the account's system, may be NULL) and ``subjects`` (VARCHAR[]).
    Ids, actors, subjects and quarantine are set-wise SQL over each block; Python only moves
    blocks of bytes, so the file's size, not its line count, sets the Python cost.
    """
    def blocks(start_offset: int, start_line: int, hasher: Any) -> Iterator[StagedBlock]:
        return staged_blocks(path, stage_sql, start_offset=start_offset, start_line=start_line, hasher=hasher,
                             timezone=ws.timezone.key)

    return ingest_staged_blocks(ws, path, source, blocks)


def _line_end_offset(path: Path, lines: int) -> int:
    """Content offset just after line ``lines`` (the line reader records a live log's size, which
    may end inside a record it left for later; the columnar path resumes at a record's end)."""
    if lines == 0:
        return 0
    seen = 0
    offset = 0
    with open_binary(path) as fh:
        while block := fh.read(BLOCK_BYTES):
            newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
            if seen + len(newlines) >= lines:
                return offset + int(newlines[lines - seen - 1]) + 1
            seen += len(newlines)
            offset += len(block)
    return offset


def ingest_staged_blocks(
    ws: Workspace,
    path: Path,
    source: str,
    stage: Callable[[int, int, Any], Iterator[StagedBlock]],
    *,
    resume_at_line_end: bool = False,
) -> FileResult:
    """Ingest staged blocks (``stage(start_offset, start_line, hasher)``) atomically and idempotently.

    Each block's rows carry the access_events columns a source can give, ``n`` (line), ``system``
    and optionally ``source_system`` (else ``source``); ids, actors, subjects and quarantine are
    set-wise SQL over each block. ``resume_at_line_end``: a grown file resumes after the last line
    ingested, not at the recorded size (a record left unfinished is read again).
    """
    # Only this path commits a big file in batches, so only it takes the optional cap (memory.py).
    with ingest_memory(ws.con):
        return _ingest_staged_blocks(ws, path, source, stage, resume_at_line_end)


def _ingest_staged_blocks(
    ws: Workspace, path: Path, source: str, stage: Callable[[int, int, Any], Iterator[StagedBlock]],
    resume_at_line_end: bool,
) -> FileResult:
    name = str(path)
    result = FileResult(path=name, source=source)
    gz = is_gzip(path)
    raw_size = path.stat().st_size
    if not gz and ws.con.execute(
        "SELECT count(*) FROM ingest_files WHERE bytes_done = ?", [raw_size]
    ).fetchall()[0][0]:
        # something of this very length was ingested: worth a digest pass to skip the file early
        h, _ = content_digest(path)
        if already_ingested(ws, h.hexdigest()):
            result.skipped = True
            return result
    resumed = _resume(ws, name, path, None if gz else raw_size)
    start_offset, start_line, hasher = resumed if resumed else (0, 0, hashlib.sha256())
    if resumed and resume_at_line_end and (at := _line_end_offset(path, start_line)) != start_offset:
        start_offset, hasher = at, content_digest(path, at)[0]
    result.resumed_after_line = start_line
    default_system = DEFAULT_ACCOUNT_SYSTEM.get(source, source)
    con = ws.con
    resolve = _resolve_actor_sql(default_system)
    batch = _FileBatch(ws, path, source, result)
    batch.open()
    size = start_offset
    lines_done = start_line
    batch_from = start_offset
    batch_digest: str | None = None  # of the content up to `size`, when the stage reports it
    copy_checked = False
    try:
        for block in stage(start_offset, start_line, hasher):
            if batch_digest is not None and size - batch_from >= BATCH_BYTES:
                # a big file goes in as several batches, each committed with the prefix it covers,
                # so that memory does not grow with the file and a killed run resumes after the last
                if not copy_checked and already_ingested(ws, batch_digest):
                    copy_checked = True  # this prefix is known: is the whole file a copy of one ingested?
                    if already_ingested(ws, content_digest(path)[0].hexdigest()):
                        batch.rollback()
                        result.skipped = True
                        result.events = result.endpoint_events = result.quarantined = 0
                        return result
                batch.commit(batch_digest, size, lines_done, resolved=True, check_duplicate=False)
                log.debug("%s: batch %d committed, %d content bytes, %d events", name, batch.batch_id, size,
                          result.events)
                batch = _FileBatch(ws, path, source, result)
                batch.open()
                batch_from = size
            lines_done, size, batch_digest = block.end_line, block.end_offset, block.digest
            good = len(block.good)
            if len(block.bad):
                con.register("_kansa_bad", block.bad)
                try:
                    con.execute(
                        "INSERT INTO quarantine SELECT ?, ?, ?, n, reason, raw FROM _kansa_bad",
                        [batch.batch_id, source, name],
                    )
                finally:
                    con.unregister("_kansa_bad")
            if good:
                first_b, last_b = batch.next_id, batch.next_id + good - 1
                rows = block.good.append_column(
                    "event_id", pa.array(np.arange(first_b, last_b + 1, dtype=np.int64))
                )
                subjects = block.subjects.append_column(
                    "event_id", pc.add(block.subjects.column("row"), first_b)
                )
                con.register("_kansa_good", rows)
                con.register("_kansa_subjects", subjects)
                own_system = "s.source_system" if "source_system" in rows.column_names else "NULL"
                try:
                    con.execute(
                        f"""
                        INSERT INTO access_events BY NAME
                        SELECT s.event_id, s.ts, s.account, s.action, s.resource, s.columns, s.owner_id,
                               s.purpose, s.ticket, s.terminal, s.source_ip, s.outcome, s.row_count, s.bytes,
                               s.statement, coalesce({own_system}, ?) AS source_system, ? AS batch_id,
                               ? AS source_file, s.n AS source_line, {resolve}
                        """,
                        [source, batch.batch_id, name],
                    )
                    con.execute(
                        "INSERT INTO access_subjects SELECT event_id, owner_id, subject_id FROM _kansa_subjects"
                    )
                finally:
                    con.unregister("_kansa_good")
                    con.unregister("_kansa_subjects")
                # rows are final once shared accounts are resolved; then they are sealed, block by block
                resolve_by_logon(ws, first_b, last_b)
                seal_range(ws, "access", first_b, last_b)
            batch.next_id += good
            batch.read_count += good + len(block.bad)
            result.events += good
            result.quarantined += len(block.bad)
        batch.commit(hasher.hexdigest(), size, lines_done, resolved=True)
    except BaseException:
        batch.rollback()
        raise
    return result
