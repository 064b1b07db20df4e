"""Appending to the ledger: sealing ingested events and journal entries under a signed head.

Sealing is one transaction: the new leaves and the head that covers them appear together or not
at all, so an interrupted seal leaves the ledger as it was and the next seal redoes the work.
Ingest seals inside its own per-file transaction, so a file's events and their leaves commit
together.

Sealing must not be what limits ingest, so the work per event is set-wise: the engine hashes the
rows (frame-v2, see canonical.py) and numbers the leaves in one INSERT ... SELECT, and the tree
grows level by level over the whole batch from the frontier the previous seal kept.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from kansa.ledger import merkle, signing, store
from kansa.ledger.canonical import canonical_row, texts_sql
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace

CHUNK = 1 << 20  # leaf hashes fetched per round trip when extending the tree


def _size(con: duckdb.DuckDBPyConnection) -> int:
    row = store.one(con, "SELECT count(*), coalesce(max(leaf_index) + 1, 0) FROM ledger_leaves")
    assert row is not None
    count, nxt = int(row[0]), int(row[1])
    if count != nxt:
        raise KansaError("ledger leaves are not contiguous (rows were removed); run `kansa ledger verify`")
    return count


def _frontier(con: duckdb.DuckDBPyConnection, size: int) -> merkle.Frontier:
    """The tree of the first ``size`` stored leaves: from the frontier kept by the last seal, or
    (a workspace from before it was kept) rebuilt from every stored leaf hash."""
    stack = store.load_frontier(con, size)
    if stack is not None:
        return merkle.Frontier(stack)
    tree = merkle.Frontier()
    for hashes in store.hash_batches(con, 0, size, CHUNK):
        tree.extend(hashes)
    return tree


def _sign(ws: Workspace, con: duckdb.DuckDBPyConnection, start: int, tree: merkle.Frontier) -> dict[str, Any]:
    """Inside an open transaction: keep the frontier, sign the head if the tree grew."""
    size = tree.size
    root_hex = tree.root().hex()
    store.save_frontier(con, size, tree.stack)
    last = store.one(con, "SELECT max(tree_size) FROM ledger_heads")
    if last is None or last[0] is None or int(last[0]) < size:
        key = signing.signing_key(ws)
        ts_ms = int(time.time() * 1000)
        sig = signing.sign_head(key, size, root_hex, ts_ms)
        con.execute(
            "INSERT INTO ledger_heads VALUES (?, ?, ?, ?, ?)",
            [size, root_hex, ts_ms, signing.key_id(key.public_key()), sig],
        )
    return {"sealed": size - start, "tree_size": size, "root": root_hex}


def _pending_sql(con: duckdb.DuckDBPyConnection, since: int | None) -> str:
    """(kind, ref_id, leaf_hash) of every event not yet sealed, hashed by the engine (frame-v2s).

    Only the pending events' subjects are aggregated: the subjects table is many times the size
    of the events table, and most of it belongs to events sealed long ago.
    """
    parts = []
    for kind, table in store.EVENT_TABLES.items():
        bound = "" if since is None else f" AND l.ref_id >= {int(since)}"
        where = "" if since is None else f" WHERE e.event_id >= {int(since)}"
        pending = (
            f"{table} e ANTI JOIN (SELECT ref_id FROM ledger_leaves l WHERE l.kind = '{kind}'{bound}) l"
            f" ON l.ref_id = e.event_id{where}"
        )
        subjects = store.subjects_join(kind, "e.event_id", True, f"event_id IN (SELECT e.event_id FROM {pending})")
        texts = texts_sql(store.columns_of(con, table), "e")
        parts.append(
            f"SELECT '{kind}' AS kind, e.event_id AS ref_id, {store.event_hash_sql(con, kind, subjects=True, texts=True)}"
            f" AS leaf_hash FROM (SELECT {', '.join(['e.*', *texts])} FROM {pending}) e{subjects}"
        )
    return " UNION ALL ".join(parts)


def _check_encoding(con: duckdb.DuckDBPyConnection, start: int) -> None:
    """New leaves are always frame-v2s; the marker must say so for every leaf from ``start`` on,
    or verify would rebuild them without their subjects."""
    v2s = store.encodings(con).v2s
    if v2s is None or v2s > start:
        raise KansaError(
            "ledger_encodings no longer records from where access leaves include their subjects"
            " (it was edited); run `kansa ledger verify`"
        )


def _any_pending(con: duckdb.DuckDBPyConnection, since: int | None) -> bool:
    """Is any event (from ``since`` on) without a leaf? Ids only, no framing: ingest has sealed
    every block with seal_range before it signs, and the framed pending query, planned and run
    for nothing, cost as much as the signing itself."""
    for kind, table in store.EVENT_TABLES.items():
        bound = "" if since is None else f" AND ref_id >= {int(since)}"
        where = "" if since is None else f" WHERE e.event_id >= {int(since)}"
        row = store.one(
            con,
            f"SELECT EXISTS (SELECT 1 FROM {table} e ANTI JOIN (SELECT ref_id FROM ledger_leaves"
            f" WHERE kind = '{kind}'{bound}) l ON l.ref_id = e.event_id{where})",
        )
        if row is not None and row[0]:
            return True
    return False


def _seal(ws: Workspace, con: duckdb.DuckDBPyConnection, since: int | None) -> dict[str, Any]:
    start = _size(con)
    _check_encoding(con, start)
    tree = _frontier(con, start)
    if not _any_pending(con, since):
        return _sign(ws, con, start, tree)
    con.execute(
        f"INSERT INTO ledger_leaves SELECT {start} - 1 + row_number() OVER (ORDER BY ref_id), kind, ref_id,"
        f" unhex(leaf_hash), ? FROM ({_pending_sql(con, since)})",
        [datetime.now(UTC)],
    )
    for hashes in store.hash_batches(con, start, None, CHUNK):
        tree.extend(hashes)
    return _sign(ws, con, start, tree)


def _insert_leaves(con: duckdb.DuckDBPyConnection, start: int, kind: str, ids: np.ndarray, hashes: list[bytes]) -> None:
    """Append leaves start.. in one INSERT; the digests travel as one buffer."""
    n = len(ids)
    digests = pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), n, [None, pa.py_buffer(b"".join(hashes))])
    leaves = pa.table({"i": pa.array(np.arange(n, dtype=np.int64)), "ref_id": pa.array(ids, pa.int64()), "h": digests})
    con.register("_ledger_new", leaves)
    try:
        con.execute(
            "INSERT INTO ledger_leaves SELECT ? + i, ?, ref_id, h::BLOB, ? FROM _ledger_new",
            [start, kind, datetime.now(UTC)],
        )
    finally:
        con.unregister("_ledger_new")


def seal_range(ws: Workspace, kind: str, first: int, last: int) -> int:
    """Inside the caller's open transaction: append the events ``first``..``last`` of one kind
    (consecutive ids, all present, none sealed yet) as the next leaves, in id order.

    For a writer that hands out ids in blocks (ingest): no scan of the ledger to find what is
    pending, no sort, and the tree grows by the block. No head is signed: the caller ends with
    ``seal_pending(..., in_transaction=True)``, which signs one head for everything it sealed.
    Returns the new tree size.
    """
    if kind not in store.EVENT_TABLES:
        raise ValueError(f"unknown event kind {kind!r}")
    con = store.ensure(ws)
    start = _size(con)
    _check_encoding(con, start)
    tree = _frontier(con, start)
    ids, hashes = store.event_leaves(con, kind, first, last)
    if len(ids) != last - first + 1 or not np.array_equal(ids, np.arange(first, last + 1)):
        raise KansaError(f"cannot seal {kind} events {first}..{last}: not all of them exist")
    _insert_leaves(con, start, kind, ids, hashes)
    tree.extend(hashes)
    store.save_frontier(con, tree.size, tree.stack)
    return tree.size


def seal_pending(ws: Workspace, *, since_event: int | None = None, in_transaction: bool = False) -> dict[str, Any]:
    """Append every access and endpoint event not yet sealed, by event_id, and sign a new head.

    Returns {"sealed": int, "tree_size": int, "root": str}. Sealing twice seals nothing new.
    ``since_event``: only events from this id on are looked at (ingest seals the ids it just
    handed out without scanning the whole ledger). ``in_transaction``: the caller has a
    transaction open and commits the leaves together with whatever else it wrote.
    """
    con = store.ensure(ws)
    if in_transaction:
        return _seal(ws, con, since_event)
    con.execute("BEGIN TRANSACTION")
    try:
        result = _seal(ws, con, since_event)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def journal(ws: Workspace, kind: str, payload: dict[str, Any], actor: str) -> int:
    """Seal a non-event record (a triage decision, an incident change); returns its leaf index."""
    if not kind or not actor:
        raise KansaError("a journal entry needs a kind and an actor")
    try:
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise KansaError(f"journal payload is not plain JSON: {exc}") from exc
    con = store.ensure(ws)
    con.execute("BEGIN TRANSACTION")
    try:
        row = store.one(con, "SELECT coalesce(max(journal_id) + 1, 0) FROM ledger_journal")
        assert row is not None
        jid = int(row[0])
        ts = datetime.now(UTC)
        con.execute("INSERT INTO ledger_journal VALUES (?, ?, ?, ?, ?)", [jid, ts, kind, actor, text])
        cur = con.execute("SELECT * FROM ledger_journal WHERE journal_id = ?", [jid])
        names = [d[0] for d in cur.description or []]
        stored = cur.fetchall()[0]
        leaf = merkle.leaf_hash(
            canonical_row("journal", store.journal_row(dict(zip(names, stored, strict=True))))
        )
        start = _size(con)
        tree = _frontier(con, start)
        con.execute(
            "INSERT INTO ledger_leaves VALUES (?, 'journal', ?, ?, ?)", [start, jid, leaf, datetime.now(UTC)]
        )
        tree.extend([leaf])
        result = _sign(ws, con, start, tree)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(result["tree_size"]) - 1
