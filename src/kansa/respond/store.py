"""The respond component's own tables: incidents, every change to them, obligations done.

Why an append-only change table next to the current facts: an officer (or a regulator) later asks
"who said 1,200 persons, and when?" — the current facts alone cannot answer. Each change row also
keeps the ledger leaf it was sealed as, so the history is tamper-evident (kansa.ledger.journal).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import duckdb

from kansa.model.migrations import Migration
from kansa.model.workspace import Workspace

RESPOND_MIGRATIONS = [
    Migration(
        1,
        "incidents, their change history and obligations marked done",
        [
            """
            CREATE TABLE respond_incidents (
                incident_id VARCHAR PRIMARY KEY,
                opened_at   TIMESTAMPTZ NOT NULL,
                opened_by   VARCHAR NOT NULL,
                updated_at  TIMESTAMPTZ NOT NULL,
                version     INTEGER NOT NULL,
                facts       VARCHAR NOT NULL
            )
            """,
            """
            CREATE TABLE respond_incident_changes (
                incident_id VARCHAR NOT NULL,
                version     INTEGER NOT NULL,
                changed_at  TIMESTAMPTZ NOT NULL,
                actor       VARCHAR NOT NULL,
                action      VARCHAR NOT NULL,
                changes     VARCHAR NOT NULL,
                ledger_leaf BIGINT,
                PRIMARY KEY (incident_id, version)
            )
            """,
            """
            CREATE TABLE respond_obligations_done (
                incident_id   VARCHAR NOT NULL,
                obligation_id VARCHAR NOT NULL,
                done_on       DATE NOT NULL,
                marked_at     TIMESTAMPTZ NOT NULL,
                actor         VARCHAR NOT NULL,
                note          VARCHAR NOT NULL,
                PRIMARY KEY (incident_id, obligation_id)
            )
            """,
        ],
    ),
]


def ensure(ws: Workspace) -> duckdb.DuckDBPyConnection:
    """The workspace connection with the respond tables in place."""
    ws.ensure_component("respond", RESPOND_MIGRATIONS)
    return ws.con


def plain(value: Any) -> Any:
    """A YAML/trace value as plain JSON: dates become ISO strings, tuples lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.cursor()
    cur.execute(sql, params or [])
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
