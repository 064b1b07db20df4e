"""Byte sizes as DuckDB prints them and as users write them ('18.8 GiB', '256MB', '134217728B').

Ingest caps DuckDB's memory and the audit sizes its work blocks by that memory: both read the
setting back as text, so both need the same reading of it.
"""

from __future__ import annotations

import re

_UNITS = {"": 1, "b": 1, "bytes": 1, "kb": 10**3, "kib": 1 << 10, "mb": 10**6, "mib": 1 << 20,
          "gb": 10**9, "gib": 1 << 30, "tb": 10**12, "tib": 1 << 40}


def size_bytes(text: str) -> int | None:
    """'18.8 GiB', '256MB', '134217728B' → bytes; None for anything else."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])
