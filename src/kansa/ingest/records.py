"""What a source reader hands to the ingest pipeline.

Readers only parse; the pipeline owns ids, batching, idempotency, quarantine and sealing. Keeping
that split means a new source is one module that yields chunks, and every source gets the same
guarantees for free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Keys an access record may carry (all but ts/action optional). They are the columns of
# access_events minus the ones the pipeline assigns (event_id, batch_id, source_file).
ACCESS_KEYS = (
    "ts", "actor_id", "account", "action", "resource", "columns", "owner_id", "purpose", "ticket",
    "terminal", "source_ip", "outcome", "row_count", "bytes", "statement", "source_system", "source_line",
)
# Plus "subjects": list of (owner_id, subject_id) tuples the event touched.

ENDPOINT_KEYS = (
    "ts", "actor_id", "account", "host", "kind", "device", "path", "bytes", "to_removable",
    "source_system", "source_line",
)


@dataclass(frozen=True)
class BadLine:
    """A line that could not be read; it goes to quarantine, named by file and line."""

    line: int
    reason: str
    raw: str


@dataclass
class Chunk:
    """A run of consecutive lines of one file, parsed.

    ``end_line`` is the number of the last line consumed (1-based; header lines count), so that a
    resumed read can skip exactly what a committed chunk covered.
    """

    access: list[dict[str, Any]] = field(default_factory=list)
    endpoint: list[dict[str, Any]] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    end_line: int = 0
