"""Appending to the ledger: sealing ingested events and journal entries under a signed head.

Sealing is one transaction: the new leaves and the head that covers them appear together or not
at all, so an interrupted seal leaves the ledger as it was and the next seal redoes the work.
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import duckdb
import pandas as pd

from kansa.ledger import merkle, signing, store
from kansa.ledger.canonical import canonical_row
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace

CHUNK = 50_000


def _size(con: duckdb.DuckDBPyConnection) -> int:
    row = store.one(con, "SELECT count(*), coalesce(max(leaf_index) + 1, 0) FROM ledger_leaves")
    assert row is not None
    count, nxt = int(row[0]), int(row[1])
    if count != nxt:
        raise KansaError("ledger leaves are not contiguous (rows were removed); run `kansa ledger verify`")
    return count


def _insert(
    con: duckdb.DuckDBPyConnection, start: int, chunk: list[tuple[str, int, bytes]], now: datetime
) -> None:
    frame = pd.DataFrame(
        {
            "leaf_index": range(start, start + len(chunk)),
            "kind": [k for k, _, _ in chunk],
            "ref_id": [r for _, r, _ in chunk],
            "leaf_hash": [h.hex() for _, _, h in chunk],
            "sealed_at": [now] * len(chunk),
        }
    )
    con.register("_ledger_new", frame)
    try:
        con.execute(
            "INSERT INTO ledger_leaves SELECT leaf_index, kind, ref_id, leaf_hash, sealed_at FROM _ledger_new"
        )
    finally:
        con.unregister("_ledger_new")


def _append(
    ws: Workspace, con: duckdb.DuckDBPyConnection, new: Iterable[tuple[str, int, bytes]]
) -> dict[str, Any]:
    """Inside an open transaction: add leaves after the current end and sign the new head.

    Streams: the existing leaves go through a Merkle frontier (O(log n) memory) and new leaves are
    inserted in chunks, so sealing millions of events does not hold them all in memory.
    """
    start = _size(con)
    tree = merkle.Frontier()
    for h in store.iter_stored_hashes(con):
        tree.push(h)
    now = datetime.now(UTC)
    it = iter(new)
    while chunk := list(islice(it, CHUNK)):
        _insert(con, tree.size, chunk, now)
        for _, _, h in chunk:
            tree.push(h)
    size = tree.size
    root_hex = tree.root().hex()
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


def _tagged(con: duckdb.DuckDBPyConnection, kind: str) -> Iterator[tuple[int, str, bytes]]:
    for eid, h in store.pending_events(con, kind):
        yield eid, kind, h


def seal_pending(ws: Workspace) -> dict[str, Any]:
    """Append every access and endpoint event not yet sealed, by event_id, and sign a new head.

    Returns {"sealed": int, "tree_size": int, "root": str}. Sealing twice seals nothing new.
    """
    con = store.ensure(ws)
    con.execute("BEGIN TRANSACTION")
    try:
        streams = [_tagged(con, kind) for kind in store.EVENT_TABLES]
        new = ((kind, eid, h) for eid, kind, h in heapq.merge(*streams))
        result = _append(ws, con, new)
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
        result = _append(ws, con, [("journal", jid, leaf)])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(result["tree_size"]) - 1
