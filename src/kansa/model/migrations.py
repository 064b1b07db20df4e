"""Schema versions per component, applied in order when a workspace opens.

The shared model is one component ("model"); each capability registers its own tables as its own
component, so that capabilities evolve their storage without touching each other's. A workspace
written by a newer kansa (a version we do not know) is refused rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from kansa.model.errors import KansaError


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    statements: list[str] = field(default_factory=list)


def ensure_versions_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_versions (
            component VARCHAR PRIMARY KEY,
            version   INTEGER NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """
    )


def current_version(con: duckdb.DuckDBPyConnection, component: str) -> int:
    row = con.execute(
        "SELECT version FROM schema_versions WHERE component = ?", [component]
    ).fetchone()
    return int(row[0]) if row else 0


def apply(con: duckdb.DuckDBPyConnection, component: str, migrations: list[Migration]) -> list[int]:
    """Bring ``component`` up to the last migration; returns the versions applied.

    Each migration runs in its own transaction, so an interrupted upgrade leaves the workspace
    at the last complete version and the next open finishes the job.
    """
    ensure_versions_table(con)
    have = current_version(con, component)
    known = max((m.version for m in migrations), default=0)
    if have > known:
        raise KansaError(
            f"workspace component '{component}' is at schema version {have}, newer than this "
            f"kansa knows ({known}); upgrade kansa"
        )
    applied: list[int] = []
    for m in sorted(migrations, key=lambda m: m.version):
        if m.version <= have:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for stmt in m.statements:
                con.execute(stmt)
            con.execute(
                "INSERT OR REPLACE INTO schema_versions (component, version, applied_at) "
                "VALUES (?, ?, now())",
                [component, m.version],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(m.version)
    return applied
