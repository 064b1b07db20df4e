"""`kansa govern map`: where each owner's personal data lies — the data map asked for after a breach.

Three sources, each saying something different: the registry's datasets (what the owner handed
over: categories, versions, validity); the tables and screens the logs show holding the owner's
data, with the db_owners mapping that declares them; and the places data left to — export and
print events, and files copied to removable media by a person on a day they exported that
owner's data. The last link is an inference (same person, same day, after the export) and is
labelled so; copies it cannot tie to an owner are listed apart rather than dropped.
"""

from __future__ import annotations

from typing import Any, Final

from kansa.govern.basis import DATA_ACTIONS_SQL, EXPORT_ACTIONS_SQL
from kansa.govern.owners import organisations, select_owners
from kansa.model.workspace import Workspace

UNLINKED_LIMIT: Final = 50   # copies tied to no owner, most frequent paths first: enough to act on

_DATASETS = """
    SELECT owner_id, dataset_id, name, version, categories, valid_from, valid_to, records
    FROM datasets WHERE list_contains(?, owner_id) ORDER BY owner_id, name, version
"""
_DECLARED = """
    SELECT owner_id, "database", "schema", "table" FROM db_owners WHERE list_contains(?, owner_id) ORDER BY ALL
"""
_RESOURCES = f"""
    WITH e AS (
        SELECT event_id, owner_id, resource, source_system, actor_id, action, ts FROM access_events
        WHERE list_contains(?, owner_id) AND action IN ({DATA_ACTIONS_SQL})
    ),
    subj AS (
        SELECT e.owner_id, e.resource, e.source_system, count(DISTINCT s.subject_id) AS subjects
        FROM e JOIN access_subjects s ON s.event_id = e.event_id GROUP BY ALL
    )
    SELECT e.owner_id, e.resource, e.source_system, count(*), count(DISTINCT e.actor_id),
           list(DISTINCT e.action ORDER BY e.action), min(e.ts), max(e.ts), any_value(coalesce(subj.subjects, 0))
    FROM e LEFT JOIN subj ON subj.owner_id = e.owner_id AND subj.resource IS NOT DISTINCT FROM e.resource
         AND subj.source_system = e.source_system
    GROUP BY e.owner_id, e.resource, e.source_system ORDER BY e.owner_id, count(*) DESC, e.resource
"""
_EXPORTS = f"""
    SELECT owner_id, resource, source_system, action, count(*), sum(row_count), count(DISTINCT actor_id),
           min(ts), max(ts)
    FROM access_events WHERE list_contains(?, owner_id) AND action IN ({EXPORT_ACTIONS_SQL})
    GROUP BY ALL ORDER BY owner_id, count(*) DESC, resource
"""
# A copy is tied to every owner whose data the same person exported earlier that local day.
_COPIES = f"""
    WITH ex AS (
        SELECT actor_id, owner_id, CAST(ts AS DATE) AS day, min(ts) AS first_ts FROM access_events
        WHERE action IN ({EXPORT_ACTIONS_SQL}) AND actor_id IS NOT NULL AND owner_id IS NOT NULL GROUP BY ALL
    ),
    cp AS (
        SELECT event_id, actor_id, path, device, to_removable, bytes, ts FROM endpoint_events
        WHERE kind = 'file_copy' OR to_removable
    ),
    linked AS (
        SELECT ex.owner_id, cp.* FROM cp JOIN ex ON ex.actor_id = cp.actor_id AND ex.day = CAST(cp.ts AS DATE)
             AND cp.ts >= ex.first_ts
    )
    SELECT 'linked' AS kind, owner_id, path, count(*), count(DISTINCT device), sum(bytes), count(DISTINCT actor_id),
           min(ts), max(ts), bool_or(to_removable)
    FROM linked WHERE list_contains(?, owner_id) GROUP BY ALL
    UNION ALL
    SELECT 'unlinked', NULL, path, count(*), count(DISTINCT device), sum(bytes), count(DISTINCT actor_id),
           min(ts), max(ts), bool_or(to_removable)
    FROM cp ANTI JOIN linked USING (event_id) GROUP BY ALL
    ORDER BY 1, 2, 4 DESC, 3
"""


def data_map(ws: Workspace, owner: str | None = None) -> dict[str, Any]:
    """Per owner: datasets, declared tables, tables and screens seen holding its data, exports and
    file copies, each with first and last seen; plus file copies tied to no owner."""
    owners = select_owners(ws, owner)
    con = ws.con
    per: dict[str, dict[str, Any]] = {}
    orgs = organisations(ws)
    for o in owners:
        name, country = orgs.get(o, (None, None))
        per[o] = {"owner_id": o, "name": name, "country": country, "datasets": [], "declared_tables": [],
                  "seen_in": [], "exports": [], "file_copies": []}
    for o, dsid, name, version, cats, vf, vt, records in con.execute(_DATASETS, [owners]).fetchall():
        per[o]["datasets"].append({"dataset_id": dsid, "name": name, "version": version, "categories": cats or [],
                                   "valid_from": vf, "valid_to": vt, "records": records})
    for o, db, schema, table in con.execute(_DECLARED, [owners]).fetchall():
        per[o]["declared_tables"].append({"database": db, "schema": schema, "table": table})
    for o, res, src, n, actors, actions, first, last, subjects in con.execute(_RESOURCES, [owners]).fetchall():
        per[o]["seen_in"].append({"resource": res, "source_system": src, "events": n, "actors": actors,
                                  "actions": actions, "subjects": subjects, "first_seen": first, "last_seen": last})
    for o, res, src, action, n, rows, actors, first, last in con.execute(_EXPORTS, [owners]).fetchall():
        per[o]["exports"].append({"resource": res, "source_system": src, "action": action, "events": n,
                                  "rows": rows, "actors": actors, "first_seen": first, "last_seen": last})
    unlinked: list[dict[str, Any]] = []
    for kind, o, path, n, devices, size, actors, first, last, removable in con.execute(_COPIES, [owners]).fetchall():
        item = {"path": path, "copies": n, "devices": devices, "bytes": size, "actors": actors,
                "to_removable": bool(removable), "first_seen": first, "last_seen": last}
        if kind == "linked":
            per[o]["file_copies"].append({**item, "linked_by": "same person, same day, after an export"})
        elif len(unlinked) < UNLINKED_LIMIT:
            unlinked.append(item)
    return {"owners": list(per.values()), "unlinked_file_copies": unlinked}
