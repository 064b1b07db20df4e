"""The holdings index: which owner's dataset (and which version) holds which person, without names.

For each record of an owner's dataset we store its record id (the id access logs name as a
subject), keyed hashes of field combinations and per-field Bloom filters (see ``encode``). The
raw list is read, encoded and forgotten; re-indexing the same owner/name/version replaces the
previous index in one transaction, so indexing is idempotent and never half-done.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from kansa.model.errors import InputError
from kansa.model.migrations import Migration
from kansa.model.workspace import Workspace
from kansa.trace.encode import BLOOM_FIELDS, blooms, keyed_hashes
from kansa.trace.normalize import normalise_record
from kansa.trace.reader import read_table

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
    )
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


def encode_table_rows(
    ws: Workspace, rows: list[dict[str, object]]
) -> tuple[list[dict[str, str]], list[list[tuple[str, str]]], list[dict[str, bytes]]]:
    """Normalise and encode raw field dicts: (normalised, keyed hashes, Bloom filters) per row."""
    hkey, bkey = trace_keys(ws)
    norm = [normalise_record(r) for r in rows]
    return norm, [keyed_hashes(hkey, n) for n in norm], [blooms(bkey, n) for n in norm]


def index_dataset(
    ws: Workspace,
    path: Path,
    owner: str,
    name: str,
    version: str | None = None,
    id_column: str | None = None,
    encoding: str | None = None,
) -> dict[str, Any]:
    """Index one owner dataset file; returns {"dataset_id", "records", "keys", "fields", "skipped"}."""
    ensure_trace_tables(ws)
    path = Path(path)
    table = read_table(path, encoding=encoding, id_column=id_column)
    dataset_id = f"{owner}/{name}/{version or ''}"
    raw = [table.fields(r) for r in table.rows]
    _norm, hashes, filters = encode_table_rows(ws, raw)
    id_idx = table.columns.get("id")
    rec_rows: list[tuple[Any, ...]] = []
    key_rows: list[tuple[str, str, str, int]] = []
    skipped = 0
    for i, row in enumerate(table.rows):
        record_no = i + 1
        if not filters[i]:
            skipped += 1  # a row with no usable personal field cannot be traced
            continue
        subject = row[id_idx].strip() if id_idx is not None and id_idx < len(row) else str(record_no)
        if not subject:
            raise InputError("empty record id", path=str(path), line=table.first_data_line + i)
        rec_rows.append((dataset_id, record_no, subject, *(filters[i].get(f) for f in BLOOM_FIELDS)))
        key_rows.extend((kind, digest, dataset_id, record_no) for kind, digest in hashes[i])
    recs_df = pd.DataFrame(
        rec_rows, columns=["dataset_id", "record_no", "subject_id", *(f"bf_{f}" for f in BLOOM_FIELDS)]
    )
    keys_df = pd.DataFrame(key_rows, columns=["kind", "digest", "dataset_id", "record_no"])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    fields = table.canonical_fields
    con = ws.con.cursor()  # own cursor: the shared connection may hold an unfetched result
    con.execute("BEGIN TRANSACTION").fetchall()
    try:
        for t in ("trace_keys", "trace_records", "trace_datasets"):
            con.execute(f"DELETE FROM {t} WHERE dataset_id = ?", [dataset_id]).fetchall()
        con.register("recs_df", recs_df)
        con.register("keys_df", keys_df)
        con.execute("INSERT INTO trace_records SELECT * FROM recs_df").fetchall()
        con.execute("INSERT INTO trace_keys SELECT * FROM keys_df").fetchall()
        con.unregister("recs_df")
        con.unregister("keys_df")
        con.execute(
            "INSERT INTO trace_datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [dataset_id, owner, name, version, str(path), digest, len(rec_rows), fields, datetime.now(UTC)],
        ).fetchall()
        con.execute("COMMIT").fetchall()
    except Exception:
        con.execute("ROLLBACK").fetchall()
        raise
    return {"dataset_id": dataset_id, "records": len(rec_rows), "keys": len(key_rows), "fields": fields,
            "skipped": skipped}


def index_world_datasets(ws: Workspace, world_dir: Path) -> dict[str, Any]:
    """Index every manifest entry of kind ``dataset`` in a world directory."""
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
            )
        )
    return {"datasets": len(done), "records": sum(d["records"] for d in done), "details": done}
