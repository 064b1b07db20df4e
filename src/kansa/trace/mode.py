"""Index mode: keyed (default) or plaintext, opted into per workspace by a small team that asks.

By default the index holds keyed hashes and Bloom filters only, useless to a thief without the
workspace key. Some small teams want to read the index themselves (check a record by eye, export
a cleaned list); issue #5 allows them a plaintext mode. It is opt-in, recorded in the workspace
(who chose it and when, in the tool's trail too), applies to datasets indexed while it is on,
and switching back to keyed erases every clear value already stored: the clear text never
outlives the choice. Linkage does not read the clear columns, so attributions are the same in
both modes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from kansa.model.errors import InputError
from kansa.model.workspace import Workspace
from kansa.trace.encode import HASH_FIELDS

Mode = Literal["keyed", "plaintext"]
MODES: tuple[Mode, ...] = ("keyed", "plaintext")
PLAIN_COLUMNS: list[str] = [f"p_{f}" for f in HASH_FIELDS]
"""Normalised values in clear, stored only in plaintext mode (in ``encode_rows``' order)."""


def index_mode(ws: Workspace) -> Mode:
    """The workspace's index mode; keyed unless plaintext was chosen."""
    row = ws.con.cursor().execute("SELECT value FROM trace_settings WHERE name = 'index_mode'").fetchall()
    return "plaintext" if row and row[0][0] == "plaintext" else "keyed"


def mode_chosen_at(ws: Workspace) -> datetime | None:
    row = ws.con.cursor().execute("SELECT set_at FROM trace_settings WHERE name = 'index_mode'").fetchall()
    return row[0][0] if row else None


def set_index_mode(ws: Workspace, mode: str) -> dict[str, object]:
    """Choose the index mode. Keyed erases the clear values of every dataset indexed before."""
    if mode not in MODES:
        raise InputError(f"index mode must be keyed or plaintext, got {mode!r}")
    con = ws.con.cursor()
    con.execute("BEGIN TRANSACTION").fetchall()
    try:
        con.execute("DELETE FROM trace_settings WHERE name = 'index_mode'").fetchall()
        con.execute("INSERT INTO trace_settings VALUES ('index_mode', ?, ?)", [mode, datetime.now(UTC)]).fetchall()
        erased = 0
        if mode == "keyed":
            erased = int(con.execute("SELECT count(*) FROM trace_records WHERE "
                                     + " OR ".join(f"{c} IS NOT NULL" for c in PLAIN_COLUMNS)).fetchall()[0][0])
            con.execute(f"UPDATE trace_records SET {', '.join(f'{c} = NULL' for c in PLAIN_COLUMNS)}"
                        " WHERE " + " OR ".join(f"{c} IS NOT NULL" for c in PLAIN_COLUMNS)).fetchall()
            con.execute("UPDATE trace_datasets SET plaintext = false").fetchall()
        con.execute("COMMIT").fetchall()
    except Exception:
        con.execute("ROLLBACK").fetchall()
        raise
    if erased:
        # updated rows leave old versions in the file until a checkpoint rewrites it
        ws.con.execute("CHECKPOINT").fetchall()
    ws.record_use("trace index mode", mode)
    return {"mode": mode, "erased_records": erased}
