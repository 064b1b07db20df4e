"""The tamper-evident ledger: an RFC 6962 Merkle tree over every event, with signed tree heads.

Access logs that nobody can prove unchanged are weak evidence against the admin who could change
them. Each sealed event becomes a leaf; each seal signs a head (size, root, time) with Ed25519.
``verify`` recomputes everything from the rows as they are now and names the first changed leaf.
"""

from __future__ import annotations

from kansa.ledger.check import consistency, export_heads, head, heads, leaf_index_of, prove, verify
from kansa.ledger.seal import journal, seal_pending, seal_range
from kansa.ledger.store import ensure as ensure_ledger

__all__ = [
    "consistency",
    "ensure_ledger",
    "export_heads",
    "head",
    "heads",
    "journal",
    "leaf_index_of",
    "prove",
    "seal_pending",
    "seal_range",
    "verify",
]
