"""The watch list: people nobody should open without a reason, kept as ids in the workspace.

A CSV (UTF-8, or CP932 as Japanese offices save it) with a header and the columns
``owner_id, subject_id`` and optionally ``actor_id, label``. A row without an actor names someone
everyone should leave alone unless a task says otherwise (public figures, staff themselves, people
under protection orders — DV 支援措置); a row with an actor names someone related to that actor
(family, same surname, same address), so that the actor's own look-up of them stands out. Only the
owner's record ids are kept, never names: the list must not become a list of who matters to whom
that leaks in its turn.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from kansa.model.errors import KansaError

REQUIRED = ("owner_id", "subject_id")


@dataclass(frozen=True)
class Watched:
    owner_id: str
    subject_id: str
    actor_id: str | None
    label: str
    line: int


def _decode(raw: bytes, path: Path) -> str:
    for enc in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise KansaError("watch list is neither UTF-8 nor CP932", path=str(path))


def read_watchlist(path: Path) -> list[Watched]:
    """Rows of the watch list; a missing file is an empty list, a malformed one a clear error."""
    if not path.is_file():
        return []
    text = _decode(path.read_bytes(), path)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise KansaError(f"watch list needs column(s) {', '.join(missing)} (has: {', '.join(header) or 'none'})",
                         path=str(path), line=1)
    out: list[Watched] = []
    for row in reader:
        clean = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        line = reader.line_num
        if not clean.get("owner_id") or not clean.get("subject_id"):
            if not any(clean.values()):
                continue  # blank line
            raise KansaError("owner_id and subject_id must both be given", path=str(path), line=line)
        out.append(Watched(clean["owner_id"], clean["subject_id"], clean.get("actor_id") or None,
                           clean.get("label") or "", line))
    return out
