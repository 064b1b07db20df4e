"""Which owners a view speaks of, and the organisations' names and countries.

An owner is anyone whose personal data the workspace mentions — in the registry, a contract, a
dataset, the database mapping or the logs — so that an owner with logs but no contract is shown
(that is itself a finding), not silently left out.
"""

from __future__ import annotations

import duckdb

from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace


def owners_known(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every organisation whose personal data the workspace speaks of: registry owners, the owners
    contracts name, dataset owners and the owners events name."""
    rows = con.execute("""
        SELECT org_id FROM organisations WHERE kind = 'owner'
        UNION SELECT unnest(owners) FROM contracts
        UNION SELECT entrustor_id FROM contracts WHERE owners IS NULL OR len(owners) = 0
        UNION SELECT owner_id FROM datasets
        UNION SELECT DISTINCT owner_id FROM access_events WHERE owner_id IS NOT NULL
        UNION SELECT owner_id FROM db_owners
    """).fetchall()
    return sorted(str(r[0]) for r in rows if r[0] is not None)


def select_owners(ws: Workspace, owner: str | None) -> list[str]:
    """The owners a view covers; an owner the workspace never heard of is a user mistake."""
    known = owners_known(ws.con)
    if owner is None:
        return known
    if owner not in known:
        raise KansaError(f"unknown owner {owner!r}; known: {', '.join(known) or '(none)'}")
    return [owner]


def organisations(ws: Workspace) -> dict[str, tuple[str | None, str | None]]:
    """org id → (name, country)."""
    return {r[0]: (r[1], r[2]) for r in ws.con.execute("SELECT org_id, name, country FROM organisations").fetchall()}
