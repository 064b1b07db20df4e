"""The ledger's own tables and the queries that read rows back as leaves.

Leaves name the row they commit to (kind, ref_id) and keep its hash; signed tree heads keep
(tree_size, root, time, signature). Journal entries (triage decisions, incident changes) live in
the ledger's own table so that they can be sealed like events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from kansa.ledger.canonical import (
    SUBJECTS_FIELD,
    canonical_row,
    framed_sql,
    leaf_hash_sql,
    subjects_sql,
    texts_sql,
)
from kansa.ledger.merkle import leaf_hash, leaf_hashes
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
                leaf_hash   VARCHAR NOT NULL,     -- hex sha256(0x00 || canonical row); BLOB from v4
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
    Migration(
        2,
        "event leaves hashed by the engine (frame-v2); the tree's frontier kept for the next seal",
        [
            """
            CREATE TABLE ledger_encodings (
                from_leaf   BIGINT PRIMARY KEY,   -- event leaves from this index on use this encoding
                encoding    VARCHAR NOT NULL      -- frame-v2 (canonical.framed_row)
            )
            """,
            # leaves sealed before this migration keep the JSON encoding they were sealed with
            "INSERT INTO ledger_encodings SELECT coalesce(max(leaf_index) + 1, 0), 'frame-v2' FROM ledger_leaves",
            # Leaves lose their ART indexes: sealing appends millions of rows at a time and index
            # upkeep cost more than the hashing; order and uniqueness are the sealer's invariants
            # (numbered from the current size; only events not yet sealed), and verify checks them.
            "CREATE TABLE ledger_leaves_v2 AS SELECT * FROM ledger_leaves ORDER BY leaf_index",
            "DROP INDEX ledger_leaves_ref",
            "DROP TABLE ledger_leaves",
            "ALTER TABLE ledger_leaves_v2 RENAME TO ledger_leaves",
            """
            CREATE TABLE ledger_frontier (
                tree_size    BIGINT NOT NULL,     -- the tree these perfect subtrees make up
                subtree_size BIGINT NOT NULL,     -- a power of two
                hash         VARCHAR NOT NULL     -- hex
            )
            """,
        ],
    ),
    Migration(
        3,
        "access leaves cover the event's subjects (frame-v2s) from the current tree size on",
        [
            # keyed by encoding (each starts once); a fresh ledger has both starting at leaf 0
            """
            CREATE TABLE ledger_encodings_v3 (
                from_leaf   BIGINT NOT NULL,      -- event leaves from this index on use this encoding
                encoding    VARCHAR PRIMARY KEY   -- frame-v2 | frame-v2s (canonical.py)
            )
            """,
            "INSERT INTO ledger_encodings_v3 SELECT min(from_leaf), encoding FROM ledger_encodings GROUP BY encoding",
            # leaves sealed before this migration stay as they were sealed, without their subjects
            "INSERT INTO ledger_encodings_v3 SELECT coalesce(max(leaf_index) + 1, 0), 'frame-v2s' FROM ledger_leaves",
            "DROP TABLE ledger_encodings",
            "ALTER TABLE ledger_encodings_v3 RENAME TO ledger_encodings",
        ],
    ),
    Migration(
        4,
        "leaf hashes kept as their 32 bytes (BLOB), not as 64 hex characters",
        [
            # No hex formatting when leaves are inserted and no hex round trip when they are
            # read back (the database does not shrink: DuckDB's string compression already stored
            # the hex in about 32 bytes). A stored value that is not a hash as kansa wrote it
            # (edited by hand) keeps its text's bytes, so verify still reports that leaf rather
            # than the migration failing on it. The table is copied, not altered in place: an
            # ALTER ... USING is written to the WAL as an expression, and DuckDB 2.0 could not
            # replay it after a crash without downloading an extension.
            """
            CREATE TABLE ledger_leaves_v4 (
                leaf_index  BIGINT NOT NULL,
                kind        VARCHAR NOT NULL,
                ref_id      BIGINT NOT NULL,
                leaf_hash   BLOB NOT NULL,        -- sha256(0x00 || leaf data), 32 bytes
                sealed_at   TIMESTAMPTZ NOT NULL
            )
            """,
            """
            INSERT INTO ledger_leaves_v4 SELECT leaf_index, kind, ref_id,
                CASE WHEN regexp_full_match(leaf_hash, '[0-9a-f]{64}') THEN unhex(leaf_hash)
                     ELSE encode(leaf_hash) END, sealed_at
            FROM ledger_leaves ORDER BY leaf_index
            """,
            "DROP TABLE ledger_leaves",
            "ALTER TABLE ledger_leaves_v4 RENAME TO ledger_leaves",
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


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of a table's columns: what a frame-v2 leaf of its rows covers.

    Only the workspace database's own table: a same-named table in an attached database would
    otherwise add its columns to every frame, and the leaves would depend on what is attached.
    """
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database()"
        " AND schema_name = 'main' AND table_name = ? ORDER BY column_index",
        [table],
    ).fetchall()
    return [(str(n), str(t)) for n, t in rows]


@dataclass(frozen=True)
class Encodings:
    """Where each leaf encoding starts, from ledger_encodings.

    Event leaves below ``v2`` are canonical JSON; from ``v2`` on frame-v2; access leaves from
    ``v2s`` on also carry their subjects (``None``: no leaf does). The markers are not trusted:
    a moved or deleted marker only makes verify rebuild leaves in a form their stored hashes
    were not made from, and that shows as changed rows.
    """

    v2: int
    v2s: int | None

    def covers_subjects(self, kind: str, leaf_index: int) -> bool:
        return kind == "access" and self.v2s is not None and leaf_index >= self.v2s

    def name(self, kind: str, leaf_index: int) -> str:
        """The encoding of one leaf, as named in docs/ledger.md."""
        if kind == "journal" or leaf_index < self.v2:
            return "json"
        return "frame-v2s" if self.covers_subjects(kind, leaf_index) else "frame-v2"


def encodings(con: duckdb.DuckDBPyConnection) -> Encodings:
    """The markers as stored (read on every seal and verify: an edit takes effect at once)."""
    rows = dict(con.execute("SELECT encoding, min(from_leaf) FROM ledger_encodings GROUP BY encoding").fetchall())
    v2s = rows.get("frame-v2s")
    return Encodings(int(rows.get("frame-v2") or 0), None if v2s is None else int(v2s))


def v2_from(con: duckdb.DuckDBPyConnection) -> int:
    """The first leaf index whose event leaves are frame-v2 (older ones are canonical JSON)."""
    return encodings(con).v2


def _fields(kind: str, subjects: bool) -> tuple[tuple[str, str, str], ...]:
    # sj.items (subjects_join) is the list already framed by subjects_sql: it enters as plain text
    return ((SUBJECTS_FIELD, "VARCHAR", "sj.items"),) if subjects and kind == "access" else ()


def subjects_join(kind: str, on: str, subjects: bool, where: str = "") -> str:
    """LEFT JOIN giving an access event's subject items as ``sj.items`` (empty when the leaf
    form has no subjects); ``on`` is the event id to join on, ``where`` narrows the rows read."""
    if not subjects or kind != "access":
        return ""
    return f" LEFT JOIN ({subjects_sql(where)}) sj ON sj.event_id = {on}"


def event_source(con: duckdb.DuckDBPyConnection, kind: str, where: str = "") -> str:
    """FROM item (alias it ``e``) with an event table's rows, narrowed by ``where`` (on its
    columns qualified by ``e``), and the costly column texts that ``texts=True`` frames read."""
    items = texts_sql(columns_of(con, EVENT_TABLES[kind]), "e")
    cond = f" WHERE {where}" if where else ""
    return f"(SELECT {', '.join(['e.*', *items])} FROM {EVENT_TABLES[kind]} e{cond})"


def event_hash_sql(
    con: duckdb.DuckDBPyConnection, kind: str, *, subjects: bool, alias: str = "e", texts: bool = False
) -> str:
    """Hex leaf hash of an event row ``alias`` (with ``subjects``: and of ``sj`` from subjects_join;
    with ``texts``: ``alias`` comes from event_source)."""
    return leaf_hash_sql(kind, columns_of(con, EVENT_TABLES[kind]), alias, _fields(kind, subjects), texts=texts)


def event_frame_sql(
    con: duckdb.DuckDBPyConnection, kind: str, *, subjects: bool, alias: str = "e", texts: bool = False
) -> str:
    """frame-v2 bytes (BLOB) of an event row, as event_hash_sql hashes them."""
    columns = columns_of(con, EVENT_TABLES[kind])
    return f"encode({framed_sql(kind, columns, alias, _fields(kind, subjects), texts=texts)})"


FRAME_BATCH = 1 << 14  # frames hashed per batch when sealing (a few MB of them)


def event_leaves(
    con: duckdb.DuckDBPyConnection, kind: str, first: int, last: int
) -> tuple[np.ndarray, list[bytes]]:
    """(event ids ascending, their leaf hashes) of the events ``first``..``last`` of one kind, in
    the newest leaf form (frame-v2s: access events with their subjects).

    The engine builds the frame-v2s bytes; Python's hashlib (SHA extensions where the CPU has
    them) hashes them faster than the engine's own sha256. verify recomputes the same hashes from
    the same bytes. The rows come unsorted (a sort of the frames cost more than the hashing) and
    are put in id order afterwards. Frames are hashed as the engine streams them out, so only a
    batch of them is held at a time, not the whole block's.
    """
    rng = f"event_id BETWEEN {int(first)} AND {int(last)}"
    reader = con.sql(
        f"SELECT e.event_id, {event_frame_sql(con, kind, subjects=True, texts=True)} AS frame"
        f" FROM {event_source(con, kind, 'e.' + rng)} e{subjects_join(kind, 'e.event_id', True, rng)}"
    ).to_arrow_reader(FRAME_BATCH)
    parts: list[np.ndarray] = []
    hashes: list[bytes] = []
    for rb in reader:
        parts.append(rb.column(0).to_numpy())
        hashes += leaf_hashes(rb.column(1).to_pylist())
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    if len(ids) > 1 and not bool((ids[1:] > ids[:-1]).all()):
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        hashes = [hashes[i] for i in order.tolist()]
    return ids, hashes


def load_frontier(con: duckdb.DuckDBPyConnection, size: int) -> list[tuple[int, bytes]] | None:
    """The stored frontier of the tree of ``size`` leaves, if it is the one kept (and adds up)."""
    rows = con.execute(
        "SELECT subtree_size, hash FROM ledger_frontier WHERE tree_size = ? ORDER BY subtree_size DESC", [size]
    ).fetchall()
    stack = [(int(n), bytes.fromhex(h)) for n, h in rows]
    if sum(n for n, _ in stack) != size or (size and not stack):
        return None
    return stack


def save_frontier(con: duckdb.DuckDBPyConnection, size: int, stack: list[tuple[int, bytes]]) -> None:
    con.execute("DELETE FROM ledger_frontier")
    if stack:  # one statement: ingest saves the frontier after every block it seals
        con.execute(
            "INSERT INTO ledger_frontier SELECT ?, unnest(?::BIGINT[]), unnest(?::VARCHAR[])",
            [size, [n for n, _ in stack], [h.hex() for _, h in stack]],
        )


def hash_batches(
    con: duckdb.DuckDBPyConnection, start: int = 0, stop: int | None = None, batch: int = 1 << 20
) -> Iterator[list[bytes]]:
    """Stored leaf hashes from ``start`` to ``stop`` (exclusive) in order, as lists of raw bytes."""
    sql = f"SELECT leaf_hash AS h FROM ledger_leaves WHERE leaf_index >= {int(start)}"
    if stop is not None:
        sql += f" AND leaf_index < {int(stop)}"
    reader = con.sql(sql + " ORDER BY leaf_index").to_arrow_reader(batch)
    for rb in reader:
        if rb.num_rows:
            yield rb.column(0).to_pylist()


def _v2_spans(enc: Encodings) -> list[tuple[str, int, int | None, bool]]:
    """(kind, first leaf, end leaf or None, with subjects) of the frame-v2 leaf ranges, so that
    each range is recomputed in one pass with or without the subjects join."""
    spans: list[tuple[str, int, int | None, bool]] = [("endpoint", enc.v2, None, False)]
    if enc.v2s is None:
        return [*spans, ("access", enc.v2, None, False)]
    if enc.v2s > enc.v2:
        spans.append(("access", enc.v2, enc.v2s, False))
    return [*spans, ("access", max(enc.v2, enc.v2s), None, True)]


def _slipped_in(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str | None, int | None, str]]:
    """Unsealed events numbered below the last sealed one, at the leaf position they would take.

    Ingest numbers events in order and seals them in the transaction that writes them, so an
    unsealed event among sealed ones was written some other way: an insertion into the sealed
    history. (Unsealed events after the last sealed one are only counted as pending.)
    """
    found: list[tuple[int, str | None, int | None, str]] = []
    for kind, table in EVENT_TABLES.items():
        rows = con.execute(
            f"WITH sealed AS (SELECT leaf_index, ref_id FROM ledger_leaves WHERE kind IN ('access', 'endpoint'))"
            f" SELECT e.event_id, (SELECT min(s.leaf_index) FROM sealed s WHERE s.ref_id > e.event_id)"
            f" FROM {table} e ANTI JOIN ledger_leaves l ON l.kind = ? AND l.ref_id = e.event_id"
            f" WHERE e.event_id < (SELECT max(ref_id) FROM sealed)",
            [kind],
        ).fetchall()
        found += [(int(pos), kind, int(ref), "row inserted") for ref, pos in rows]
    return found


VERIFY_BATCH = 1 << 16  # frame-v2 leaves framed and hashed per round trip (a few tens of MB)


def _changed_v2(
    con: duckdb.DuckDBPyConnection, kind: str, lo: int, hi: int | None, subjects: bool
) -> list[tuple[int, str | None, int | None, str]]:
    """Leaves ``lo``..``hi`` of one kind whose row (with ``subjects``: and its subjects) is gone or
    frames to other bytes than its stored hash was made from.

    The engine frames the rows exactly as sealing does and hashlib hashes them, as sealing does:
    the engine's own sha256 costs several times more per row than the framing itself.

    Also "row duplicated": a second row under a sealed event's id. The event tables have no key
    (an ART index would not fit the memory budget of a big ingest), so a copy of a sealed row
    could be inserted; it joins its leaf twice, which the row count shows at no extra pass.
    """
    upper = "" if hi is None else f" AND l.leaf_index < {int(hi)}"
    kind_sql = {"access": "'access'", "endpoint": "'endpoint'"}[kind]
    span = f"l.kind = {kind_sql} AND l.leaf_index >= {int(lo)}{upper}"
    reader = con.sql(
        f"SELECT l.leaf_index, l.ref_id, e.event_id IS NULL AS gone, l.leaf_hash AS stored,"
        f" {event_frame_sql(con, kind, subjects=subjects, texts=True)} AS frame FROM ledger_leaves l"
        f" LEFT JOIN {event_source(con, kind)} e ON e.event_id = l.ref_id{subjects_join(kind, 'l.ref_id', subjects)}"
        f" WHERE {span}"
    ).to_arrow_reader(VERIFY_BATCH)
    found: list[tuple[int, str | None, int | None, str]] = []
    joined = 0
    for rb in reader:
        joined += rb.num_rows
        now = leaf_hashes(rb.column(4).to_pylist())
        gone = rb.column(2).to_pylist()
        stored = rb.column(3).to_pylist()
        for pos in range(rb.num_rows):
            if gone[pos] or now[pos] != stored[pos]:
                found.append((
                    int(rb.column(0)[pos].as_py()), kind, int(rb.column(1)[pos].as_py()),
                    "row deleted" if gone[pos] else "row changed",
                ))
    leaves = one(con, f"SELECT count(*) FROM ledger_leaves l WHERE {span}")
    if leaves is not None and joined > int(leaves[0]):
        table = EVENT_TABLES[kind]
        for i, ref in con.execute(
            f"SELECT l.leaf_index, l.ref_id FROM ledger_leaves l JOIN (SELECT event_id FROM {table}"
            f" WHERE event_id IN (SELECT l.ref_id FROM ledger_leaves l WHERE {span})"
            f" GROUP BY event_id HAVING count(*) > 1) d ON d.event_id = l.ref_id WHERE {span}"
        ).fetchall():
            found.append((int(i), kind, int(ref), "row duplicated"))
    return found


def bad_leaves(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every leaf that no longer matches the ledger or its row, by leaf index.

    Problems: "leaf missing" (an index absent from ledger_leaves), "leaf duplicated", "row duplicated"
    (a second event row under a sealed id), "row inserted"
    (an unsealed event numbered among sealed ones, at the position it would take), "row deleted"
    (the event or journal row a leaf names is gone), "row changed" (the row, or for a frame-v2s
    access leaf the subjects it touched, hashes differently now). frame-v2 event leaves are
    framed set-wise by the engine and hashed in batches (_changed_v2); older JSON leaves and
    journal entries are rebuilt one by one in Python.
    """
    enc = encodings(con)
    found: list[tuple[int, str | None, int | None, str]] = []
    for (i,) in con.execute(
        "SELECT i FROM range(0, (SELECT coalesce(max(leaf_index) + 1, 0) FROM ledger_leaves)) r(i)"
        " ANTI JOIN ledger_leaves l ON l.leaf_index = r.i ORDER BY i"
    ).fetchall():
        found.append((int(i), None, None, "leaf missing"))
    for i, kind, ref in con.execute(
        "SELECT leaf_index, any_value(kind), any_value(ref_id) FROM ledger_leaves GROUP BY leaf_index"
        " HAVING count(*) > 1"
    ).fetchall():
        found.append((int(i), str(kind), int(ref), "leaf duplicated"))
    for kind, lo, hi, subjects in _v2_spans(enc):
        found += _changed_v2(con, kind, lo, hi, subjects)
    found += _slipped_in(con)
    for idx, kind, ref_id, stored, now in current_leaves(con, python_only=True):
        if now is None:
            found.append((idx, kind, ref_id, "row deleted"))
        elif now != stored:
            found.append((idx, kind, ref_id, "row changed"))
    found.sort(key=lambda f: f[0])
    return [{"leaf_index": i, "kind": k, "ref_id": r, "problem": p} for i, k, r, p in found]


def current_leaves(
    con: duckdb.DuckDBPyConnection, *, python_only: bool = False
) -> Iterator[tuple[int, str, int, bytes, bytes | None]]:
    """Every leaf in order: (leaf_index, kind, ref_id, stored hash, hash recomputed from the row now).

    The recomputed hash is None when the row the leaf names no longer exists. Event leaves sealed as
    frame-v2 are recomputed by the engine, older ones and journal entries in Python.
    """
    cur = con.cursor()
    enc = encodings(con)
    first_v2 = enc.v2
    # one ordered pass per kind, merged by leaf index, so memory stays at one batch per kind
    streams = {}
    for kind, table in (*EVENT_TABLES.items(), ("journal", "ledger_journal")):
        key = "journal_id" if kind == "journal" else "event_id"
        join = ""
        if kind == "journal":
            v2 = "NULL"
        elif kind == "access" and enc.v2s is not None:
            join = subjects_join(kind, "l.ref_id", True)
            v2 = (f"CASE WHEN l.leaf_index >= {enc.v2s} THEN {event_hash_sql(con, kind, subjects=True)}"
                  f" WHEN l.leaf_index >= {first_v2} THEN {event_hash_sql(con, kind, subjects=False)} END")
        else:
            v2 = f"CASE WHEN l.leaf_index >= {first_v2} THEN {event_hash_sql(con, kind, subjects=False)} END"
        skip = f" AND l.leaf_index < {first_v2}" if python_only and kind != "journal" else ""
        c = con.cursor()
        c.execute(
            f"SELECT l.leaf_index AS _leaf, {v2} AS _v2, e.* FROM ledger_leaves l JOIN {table} e ON e.{key} = l.ref_id"
            f"{join} WHERE l.kind = ?{skip} ORDER BY l.leaf_index",
            [kind],
        )
        streams[kind] = _rows(c)
    heads: dict[str, dict[str, Any] | None] = {k: next(s, None) for k, s in streams.items()}
    only = f" WHERE kind = 'journal' OR leaf_index < {first_v2}" if python_only else ""
    cur.execute(f"SELECT leaf_index, kind, ref_id, leaf_hash FROM ledger_leaves{only} ORDER BY leaf_index")
    while True:
        batch = cur.fetchmany(BATCH)
        if not batch:
            return
        for idx, kind, ref_id, stored in batch:
            found: bytes | None = None
            head = heads.get(kind)
            if head is not None and head["_leaf"] == idx:
                if head["_v2"] is not None:
                    found = bytes.fromhex(head["_v2"])
                else:
                    row = {k: v for k, v in head.items() if k not in ("_leaf", "_v2")}
                    if kind == "journal":
                        row = journal_row(row)
                    found = leaf_hash(canonical_row(kind, row))
                heads[kind] = next(streams[kind], None)
            yield int(idx), str(kind), int(ref_id), bytes(stored), found


def iter_stored_hashes(con: duckdb.DuckDBPyConnection) -> Iterator[bytes]:
    """Every stored leaf hash in order, streamed in batches on ``con`` itself (so that it sees the
    caller's open transaction); run nothing else on ``con`` until the stream is exhausted."""
    cur = con.execute("SELECT leaf_hash FROM ledger_leaves ORDER BY leaf_index")
    while batch := cur.fetchmany(BATCH):
        for (h,) in batch:
            yield bytes(h)


def stored_hashes(con: duckdb.DuckDBPyConnection, upto: int | None = None) -> list[bytes]:
    sql = "SELECT leaf_hash FROM ledger_leaves"
    params: list[Any] = []
    if upto is not None:
        sql += " WHERE leaf_index < ?"
        params.append(upto)
    rows = con.execute(sql + " ORDER BY leaf_index", params).fetchall()
    return [bytes(r[0]) for r in rows]
