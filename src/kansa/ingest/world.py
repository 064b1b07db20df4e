"""Ingesting a whole world folder by its manifest.json, in the order it lists.

One bad file does not stop the rest: a file that cannot be read is rolled back, named in the
quarantine with the reason, counted, and the next file goes on. truth.json is never read.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from kansa.ingest.registry import ingest_registry
from kansa.ingest.sources import (
    ingest_access_file,
    ingest_cert_dir,
    ingest_ocsf_file,
    ingest_pgaudit_file,
    record_dataset,
)
from kansa.model.errors import InputError, KansaError
from kansa.model.workspace import Workspace

log = logging.getLogger(__name__)
_FIRST = {"registry": 0, "cert": 1}


def read_manifest(world_dir: Path) -> dict[str, Any]:
    path = Path(world_dir) / "manifest.json"
    if not path.is_file():
        raise InputError("no manifest.json in world folder", path=str(world_dir))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"manifest is not JSON: {exc}", path=str(path)) from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise InputError("manifest has no 'files' list", path=str(path))
    return manifest


def ingest_world(ws: Workspace, world_dir: Path) -> dict[str, Any]:
    """Ingest every file the manifest lists; returns files/events/endpoint_events/quarantined/skipped."""
    world_dir = Path(world_dir)
    manifest = read_manifest(world_dir)
    totals = {"files": 0, "events": 0, "endpoint_events": 0, "quarantined": 0, "skipped": 0}
    errors: list[str] = []
    entries = manifest["files"]
    for entry in entries:
        if not isinstance(entry, dict) or "path" not in entry or "kind" not in entry:
            raise InputError(f"manifest entry without path/kind: {entry!r}", path=str(world_dir / "manifest.json"))
    # Registry, then endpoint logons, then the rest in manifest order: a shared account is resolved
    # at ingest by who was logged on, and events are sealed as ingested, so logons must come first.
    ordered = sorted(entries, key=lambda e: _FIRST.get(str(e["kind"]), len(_FIRST)))
    for entry in ordered:
        path = world_dir / str(entry["path"])
        kind = str(entry["kind"])
        try:
            results = _ingest_entry(ws, path, kind, entry)
        except KansaError as exc:
            log.warning("%s", exc)
            errors.append(str(exc))
            ws.con.execute(
                "INSERT INTO quarantine VALUES (NULL, ?, ?, ?, ?, NULL)",
                [kind, str(path), getattr(exc, "line", None), f"file not ingested: {exc}"],
            )
            totals["quarantined"] += 1
            continue
        for r in results:
            if r.get("skipped"):
                totals["skipped"] += 1
            elif not r.get("not_ingested"):
                totals["files"] += 1
            totals["events"] += int(r.get("events", 0))
            totals["endpoint_events"] += int(r.get("endpoint_events", 0))
            totals["quarantined"] += int(r.get("quarantined", 0))
    out: dict[str, Any] = dict(totals)
    if errors:
        out["errors"] = errors
    return out


def _ingest_entry(ws: Workspace, path: Path, kind: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
    if kind == "registry":
        return [ingest_registry(ws, path)]
    if kind == "access":
        return [ingest_access_file(ws, path)]
    if kind == "ocsf":
        return [ingest_ocsf_file(ws, path)]
    if kind == "pgaudit":
        return [ingest_pgaudit_file(ws, path)]
    if kind == "cert":
        return list(ingest_cert_dir(ws, path)["files"])
    if kind == "dataset":
        return [record_dataset(ws, path, entry)]
    raise InputError(f"unknown manifest kind {kind!r}", path=str(path))
