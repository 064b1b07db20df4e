"""The ledger's own tables and the queries that read rows back as leaves.

Leaves name the row they commit to (kind, ref_id) and keep its hash; signed tree heads keep
(tree_size, root, time, signature). Journal entries (triage decisions, incident changes) live in
the ledger's own table so that they can be sealed like events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb

from kansa.ledger.canonical import canonical_row
from kansa.ledger.merkle import leaf_hash
from kansa.model.migrations import Migration
from kansa.model.workspace import Workspace

LEDGER_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "ledger leaves, signed heads, journal",
        [
            """
            CREATE TABLE ledger_leaves (
                leaf_index  BIGINT PRIMARY KEY,
                kind        VARCHAR NOT NULL,     -- access | endpoint | journal
                ref_id      BIGINT NOT NULL,      -- event_id or journal_id
                leaf_hash   VARCHAR NOT NULL,     -- hex sha256(0x00 || canonical row)
                sealed_at   TIMESTAMPTZ NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX ledger_leaves_ref ON ledger_leaves(kind, ref_id)",
            """
            CREATE TABLE ledger_heads (
                tree_size    BIGINT PRIMARY KEY,
                root         VARCHAR NOT NULL,    -- hex
                timestamp_ms BIGINT NOT NULL,     -- ms since the Unix epoch, as RFC 6962 heads
                key_id       VARCHAR NOT NULL,    -- hex sha256 of the raw Ed25519 public key
                signature    VARCHAR NOT NULL     -- hex Ed25519 signature over head_message()
            )
            """,
            """
            CREATE TABLE ledger_journal (
                journal_id  BIGINT PRIMARY KEY,
                ts          TIMESTAMPTZ NOT NULL,
                kind        VARCHAR NOT NULL,     -- e.g. triage, incident
                actor       VARCHAR NOT NULL,
                payload     VARCHAR NOT NULL      -- canonical JSON
            )
            """,
        ],
    ),
]

EVENT_TABLES = {"access": "access_events", "endpoint": "endpoint_events"}
BATCH = 10_000


def ensure(ws: Workspace) -> duckdb.DuckDBPyConnection:
    ws.ensure_component("ledger", LEDGER_MIGRATIONS)
    return ws.con


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    """The first row of a query, reading the result to its end (DuckDB wants results finished)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def _rows(cur: duckdb.DuckDBPyConnection) -> Iterator[dict[str, Any]]:
    names = [d[0] for d in cur.description or []]
    while True:
        batch = cur.fetchmany(BATCH)
        if not batch:
            return
        for values in batch:
            yield dict(zip(names, values, strict=True))


def journal_row(row: dict[str, Any]) -> dict[str, Any]:
    """A journal row as the leaf sees it: the payload parsed, so key order in storage is irrelevant."""
    out = dict(row)
    out["payload"] = json.loads(row["payload"])
    return out


def pending_events(con: duckdb.DuckDBPyConnection, kind: str) -> Iterator[tuple[int, bytes]]:
    """(event_id, leaf hash) of events of one kind not yet in the ledger, by event_id."""
    table = EVENT_TABLES[kind]
    cur = con.cursor()
    cur.execute(
        f"SELECT e.* FROM {table} e ANTI JOIN ledger_leaves l ON l.kind = ? AND l.ref_id = e.event_id "
        "ORDER BY e.event_id",
        [kind],
    )
    for row in _rows(cur):
        yield int(row["event_id"]), leaf_hash(canonical_row(kind, row))


def current_leaves(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[int, str, int, bytes, bytes | None]]:
    """Every leaf in order: (leaf_index, kind, ref_id, stored hash, hash recomputed from the row now).

    The recomputed hash is None when the row the leaf names no longer exists.
    """
    cur = con.cursor()
    # one ordered pass per kind, merged by leaf index, so memory stays at one batch per kind
    streams = {}
    for kind, table in (*EVENT_TABLES.items(), ("journal", "ledger_journal")):
        key = "journal_id" if kind == "journal" else "event_id"
        c = con.cursor()
        c.execute(
            f"SELECT l.leaf_index AS _leaf, e.* FROM ledger_leaves l JOIN {table} e ON e.{key} = l.ref_id "
            "WHERE l.kind = ? ORDER BY l.leaf_index",
            [kind],
        )
        streams[kind] = _rows(c)
    heads: dict[str, dict[str, Any] | None] = {k: next(s, None) for k, s in streams.items()}
    cur.execute("SELECT leaf_index, kind, ref_id, leaf_hash FROM ledger_leaves ORDER BY leaf_index")
    while True:
        batch = cur.fetchmany(BATCH)
        if not batch:
            return
        for idx, kind, ref_id, stored in batch:
            found: bytes | None = None
            head = heads.get(kind)
            if head is not None and head["_leaf"] == idx:
                row = {k: v for k, v in head.items() if k != "_leaf"}
                if kind == "journal":
                    row = journal_row(row)
                found = leaf_hash(canonical_row(kind, row))
                heads[kind] = next(streams[kind], None)
            yield int(idx), str(kind), int(ref_id), bytes.fromhex(stored), found


def iter_stored_hashes(con: duckdb.DuckDBPyConnection) -> Iterator[bytes]:
    """Every stored leaf hash in order, streamed in batches on ``con`` itself (so that it sees the
    caller's open transaction); run nothing else on ``con`` until the stream is exhausted."""
    cur = con.execute("SELECT leaf_hash FROM ledger_leaves ORDER BY leaf_index")
    while batch := cur.fetchmany(BATCH):
        for (h,) in batch:
            yield bytes.fromhex(h)


def stored_hashes(con: duckdb.DuckDBPyConnection, upto: int | None = None) -> list[bytes]:
    sql = "SELECT leaf_hash FROM ledger_leaves"
    params: list[Any] = []
    if upto is not None:
        sql += " WHERE leaf_index < ?"
        params.append(upto)
    rows = con.execute(sql + " ORDER BY leaf_index", params).fetchall()
    return [bytes.fromhex(r[0]) for r in rows]
