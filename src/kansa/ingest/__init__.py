"""Ingest: turning source logs and registry exports into the access model, atomically per file,
idempotently, with every bad line quarantined by file and line.

Public API (other capabilities and the CLI call only these).
"""

from __future__ import annotations

from kansa.ingest.dataset import ingest_dataset
from kansa.ingest.pipeline import ingest_chunks, ingest_line_blocks
from kansa.ingest.registry import ingest_registry
from kansa.ingest.sources import (
    ingest_access_file,
    ingest_cert_dir,
    ingest_ocsf_file,
    ingest_pgaudit_file,
    ingest_status,
    record_dataset,
)
from kansa.ingest.world import ingest_world

__all__ = [
    "ingest_access_file",
    "ingest_cert_dir",
    "ingest_chunks",
    "ingest_dataset",
    "ingest_line_blocks",
    "ingest_ocsf_file",
    "ingest_pgaudit_file",
    "ingest_registry",
    "ingest_status",
    "ingest_world",
    "record_dataset",
]
