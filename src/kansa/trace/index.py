"""The holdings index: which owner's dataset (and which version) holds which person, without names.

For each record of an owner's dataset we store its record id (the id access logs name as a
subject), one keyed hash per field and per-field Bloom filters (see ``encode``): what the
Splink linkage (``linkage``) blocks and compares on. The
raw list is read, encoded and forgotten; re-indexing the same owner/name/version replaces the
previous index in one transaction, so indexing is idempotent and never half-done.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from kansa.model.errors import InputError
from kansa.model.migrations import Migration
from kansa.model.workspace import Workspace
from kansa.trace.batch import RECORD_COLUMNS, encode_rows
from kansa.trace.encode import BLOOM_FIELDS, HASH_FIELDS, blooms, field_hashes
from kansa.trace.mode import PLAIN_COLUMNS, index_mode
from kansa.trace.reader import read_table

_FIELDS_V2: tuple[str, ...] = ("name", "kana", "dob", "phone", "address", "postcode")
"""The hashed fields as migrations 2 and 4 added them: a migration must not change once released
(``HASH_FIELDS`` grows; later fields come with a migration of their own)."""

TRACE_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "trace holdings index",
        [
            """
            CREATE TABLE trace_datasets (
                dataset_id  VARCHAR PRIMARY KEY,  -- owner/name/version
                owner_id    VARCHAR NOT NULL,
                name        VARCHAR NOT NULL,
                version     VARCHAR,
                source_file VARCHAR,
                digest      VARCHAR,              -- sha256 of the file indexed
                records     BIGINT,
                fields      VARCHAR[],            -- canonical fields found in the file
                indexed_at  TIMESTAMPTZ
            )
            """,
            """
            CREATE TABLE trace_records (
                dataset_id  VARCHAR NOT NULL,
                record_no   BIGINT NOT NULL,      -- data row number in the file, from 1
                subject_id  VARCHAR NOT NULL,     -- the owner's record id (never a name)
                bf_name     BLOB, bf_kana BLOB, bf_dob BLOB, bf_phone BLOB, bf_address BLOB
            )
            """,
            """
            CREATE TABLE trace_keys (
                kind        VARCHAR NOT NULL,     -- field combination, e.g. name+dob
                digest      VARCHAR NOT NULL,     -- HMAC-SHA256 (truncated to 128 bits), hex
                dataset_id  VARCHAR NOT NULL,
                record_no   BIGINT NOT NULL
            )
            """,
            "CREATE INDEX trace_keys_digest ON trace_keys(digest)",
        ],
    ),
    Migration(
        2,
        "per-field keyed hashes for Splink linkage; dataset validity",
        [
            *(f"ALTER TABLE trace_records ADD COLUMN h_{f} VARCHAR" for f in _FIELDS_V2),
            # records indexed before: their single-field digests were the same HMAC message
            *(
                f"""UPDATE trace_records r SET h_{f} = k.digest FROM trace_keys k
                    WHERE k.kind = '{f}' AND k.dataset_id = r.dataset_id AND k.record_no = r.record_no"""
                for f in _FIELDS_V2
            ),
            "DROP INDEX trace_keys_digest",
            "DROP TABLE trace_keys",
            "ALTER TABLE trace_datasets ADD COLUMN valid_from DATE",
            "ALTER TABLE trace_datasets ADD COLUMN valid_to DATE",
        ],
    ),
    Migration(
        3,
        "linkage model estimated from the index",
        [
            """
            CREATE TABLE trace_model (
                fingerprint VARCHAR NOT NULL,     -- index state it was estimated on
                trained_at  TIMESTAMPTZ,
                u           VARCHAR NOT NULL      -- JSON: field -> u per non-null comparison level
            )
            """,
        ],
    ),
    Migration(
        4,
        "opt-in plaintext index mode",
        [
            *(f"ALTER TABLE trace_records ADD COLUMN p_{f} VARCHAR" for f in _FIELDS_V2),
            "ALTER TABLE trace_datasets ADD COLUMN plaintext BOOLEAN DEFAULT false",
            """
            CREATE TABLE trace_settings (
                name        VARCHAR PRIMARY KEY,  -- index_mode
                value       VARCHAR NOT NULL,
                set_at      TIMESTAMPTZ
            )
            """,
        ],
    ),
    Migration(
        5,
        "family name alone as a blocking key",
        [
            # records indexed before keep NULL: they open no family-name block (re-index to gain it)
            "ALTER TABLE trace_records ADD COLUMN h_family VARCHAR",
            "ALTER TABLE trace_records ADD COLUMN p_family VARCHAR",
        ],
    ),
    Migration(
        6,
        "given name alone, for the name comparison's family/given levels",
        [
            # records indexed before keep NULL: an index without given names is linked with the
            # comparisons it was linked with before (linkage.name_parts_known); re-index to gain them
            "ALTER TABLE trace_records ADD COLUMN h_given VARCHAR",
            "ALTER TABLE trace_records ADD COLUMN p_given VARCHAR",
        ],
    ),
]


def ensure_trace_tables(ws: Workspace) -> None:
    ws.ensure_component("trace", TRACE_MIGRATIONS)


def trace_keys(ws: Workspace) -> tuple[bytes, bytes]:
    """(hash key, Bloom key), both derived from the workspace's ``trace`` secret."""
    secret = ws.secret("trace")
    return (
        hmac.new(secret, b"kansa-trace-hash", hashlib.sha256).digest(),
        hmac.new(secret, b"kansa-trace-bloom", hashlib.sha256).digest(),
    )


PARALLEL_MIN = 50_000
"""Rows from which normalising and encoding may use worker processes (``batch``): it is pure
Python and dominates a large trace; below this size starting the workers costs more than it
saves."""


def encode_table_rows(
    ws: Workspace, rows: list[dict[str, object]], keep_text: bool = False
) -> list[list[Any] | None]:
    """Normalise and encode raw field dicts: per row the ``RECORD_COLUMNS`` values (None where a
    field is missing), or None when the row has no usable personal field at all; with
    ``keep_text`` (plaintext mode) followed by the normalised values (``PLAIN_COLUMNS``). Each
    distinct value is folded once (``batch``); large inputs use one worker process per core."""
    hkey, bkey = trace_keys(ws)
    return encode_rows(hkey, bkey, rows, parallel=len(rows) >= PARALLEL_MIN, keep_text=keep_text)


def encode_records(ws: Workspace, records: list[dict[str, str]]) -> list[list[Any] | None]:
    """Encode already normalised records (canonical field → text), as ``encode_table_rows``."""
    hkey, bkey = trace_keys(ws)
    out: list[list[Any] | None] = []
    for n in records:
        b = blooms(bkey, n)
        if not b:
            out.append(None)
            continue
        h = field_hashes(hkey, n)
        out.append([*(b.get(f) for f in BLOOM_FIELDS), *(h.get(f) for f in HASH_FIELDS)])
    return out


def index_dataset(
    ws: Workspace,
    path: Path,
    owner: str,
    name: str,
    version: str | None = None,
    id_column: str | None = None,
    encoding: str | None = None,
    valid_from: date | str | None = None,
    valid_to: date | str | None = None,
) -> dict[str, Any]:
    """Index one owner dataset file; returns {"dataset_id", "records", "fields", "skipped"}.

    ``valid_from``/``valid_to``: when this version was the current one (the world manifest says);
    a leak that fits this version best was copied inside that window.
    """
    ensure_trace_tables(ws)
    path = Path(path)
    table = read_table(path, encoding=encoding, id_column=id_column)
    dataset_id = f"{owner}/{name}/{version or ''}"
    raw = [table.fields(r) for r in table.rows]
    plaintext = index_mode(ws) == "plaintext"
    encoded = encode_table_rows(ws, raw, keep_text=plaintext)
    id_idx = table.columns.get("id")
    rec_rows: list[tuple[Any, ...]] = []
    skipped = 0
    for i, row in enumerate(table.rows):
        record_no = i + 1
        enc = encoded[i]
        if enc is None:
            skipped += 1  # a row with no usable personal field cannot be traced
            continue
        subject = row[id_idx].strip() if id_idx is not None and id_idx < len(row) else str(record_no)
        if not subject:
            raise InputError("empty record id", path=str(path), line=table.line_of(i))
        rec_rows.append((dataset_id, record_no, subject, *enc))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    store_index(ws, dataset_id, owner, name, version, rec_rows, table.canonical_fields, str(path), digest,
                valid_from, valid_to, plaintext=plaintext)
    return {"dataset_id": dataset_id, "records": len(rec_rows), "fields": table.canonical_fields, "skipped": skipped,
            "mode": "plaintext" if plaintext else "keyed"}


def store_index(
    ws: Workspace,
    dataset_id: str,
    owner: str,
    name: str,
    version: str | None,
    rows: list[tuple[Any, ...]],
    fields: list[str],
    source: str | None = None,
    digest: str | None = None,
    valid_from: date | str | None = None,
    valid_to: date | str | None = None,
    plaintext: bool = False,
) -> None:
    """Replace the index of one dataset version in one transaction. ``rows``: (dataset_id,
    record_no, subject_id, *RECORD_COLUMNS values) as ``encode_records`` gives them, followed by
    the ``PLAIN_COLUMNS`` values when ``plaintext`` (the workspace's opt-in mode)."""
    ensure_trace_tables(ws)
    stored = [*RECORD_COLUMNS, *(PLAIN_COLUMNS if plaintext else [])]
    recs_df = pd.DataFrame(rows, columns=["dataset_id", "record_no", "subject_id", *stored])
    con = ws.con.cursor()  # own cursor: the shared connection may hold an unfetched result
    con.execute("BEGIN TRANSACTION").fetchall()
    try:
        for t in ("trace_records", "trace_datasets"):
            con.execute(f"DELETE FROM {t} WHERE dataset_id = ?", [dataset_id]).fetchall()
        con.register("recs_df", recs_df)
        cols = ", ".join(["dataset_id", "record_no", "subject_id", *stored])
        con.execute(f"INSERT INTO trace_records ({cols}) SELECT {cols} FROM recs_df").fetchall()
        con.unregister("recs_df")
        con.execute(
            "INSERT INTO trace_datasets (dataset_id, owner_id, name, version, source_file, digest, records, fields,"
            " indexed_at, valid_from, valid_to, plaintext) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [dataset_id, owner, name, version, source, digest, len(rows), fields, datetime.now(UTC),
             valid_from, valid_to, plaintext],
        ).fetchall()
        con.execute("COMMIT").fetchall()
    except Exception:
        con.execute("ROLLBACK").fetchall()
        raise


def index_world_datasets(ws: Workspace, world_dir: Path) -> dict[str, Any]:
    """Index every manifest entry of kind ``dataset`` in a world directory."""
    ensure_trace_tables(ws)
    world_dir = Path(world_dir)
    manifest = world_dir / "manifest.json"
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError("no manifest.json in world directory", path=str(world_dir)) from exc
    except ValueError as exc:
        raise InputError(f"manifest is not JSON: {exc}", path=str(manifest)) from exc
    done: list[dict[str, Any]] = []
    for entry in meta.get("files", []):
        if entry.get("kind") != "dataset":
            continue
        for req in ("path", "owner", "name"):
            if not entry.get(req):
                raise InputError(f"dataset entry without {req!r}: {entry}", path=str(manifest))
        done.append(
            index_dataset(
                ws,
                world_dir / entry["path"],
                owner=entry["owner"],
                name=entry["name"],
                version=entry.get("version"),
                id_column=entry.get("id_column"),
                encoding=entry.get("encoding"),
                valid_from=entry.get("valid_from"),
                valid_to=entry.get("valid_to"),
            )
        )
    return {"datasets": len(done), "records": sum(d["records"] for d in done), "details": done,
            "mode": index_mode(ws)}
