"""The in-memory world a scenario builds, and how it is laid out on disk (docs/formats.md).

Scenarios only decide what happens; this module owns the layout so every scenario writes the same
contract that ingest reads, in a byte-stable way (sorted, gzip mtime 0).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kansa.model.formats import CSVLOG_COLUMNS
from kansa.simulate.damage import damaged_row, leak_columns, leak_header
from kansa.simulate.people import Person
from kansa.simulate.writers import (
    cert_time,
    iso_ms,
    pg_time,
    write_csv,
    write_json,
    write_jsonl,
)

REGISTRY_COLUMNS: dict[str, tuple[str, ...]] = {
    "organisations": ("org_id", "name", "name_en", "kind", "sector", "country"),
    "contracts": ("contract_id", "entrustor_id", "entrustee_id", "owners", "categories", "purposes",
                  "allowed_subcontractors", "valid_from", "valid_to", "security_terms"),
    "actors": ("actor_id", "display_name", "role", "org_id", "placed_at", "team", "privileged",
               "valid_from", "valid_to"),
    "accounts": ("system", "account", "actor_id", "shared"),
    "terminals": ("terminal_id", "address", "actor_id", "location"),
    "assignments": ("assignment_id", "actor_id", "team", "owner_id", "dataset", "kind", "purpose",
                    "valid_from", "valid_to"),
    "assignment_subjects": ("assignment_id", "owner_id", "subject_id"),
}

DATASET_HEADER = ("氏名", "フリガナ", "生年月日", "性別", "郵便番号", "住所", "電話番号")


@dataclass
class OwnerData:
    owner_id: str
    name: str
    schema_table: str          # e.g. pref_osaka.taxpayer
    dataset_name: str
    id_column: str
    categories: list[str]
    people: list[Person]


@dataclass
class Leak:
    owners: list[str]
    people: list[tuple[str, Person]]   # (owner, person)


@dataclass
class World:
    scenario: str
    seed: int
    timezone: str
    start: date
    end: date
    registry: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    owners: list[OwnerData] = field(default_factory=list)
    app: list[dict[str, Any]] = field(default_factory=list)           # "time" is a datetime
    db: list[tuple[datetime, list[Any]]] = field(default_factory=list)  # csvlog rows minus log_time
    logon: list[tuple[datetime, str, str, str]] = field(default_factory=list)
    device: list[tuple[datetime, str, str, str, str]] = field(default_factory=list)
    files: list[tuple[datetime, str, str, str, str, bool, bool, str]] = field(default_factory=list)
    ldap: list[tuple[str, ...]] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return "|".join(str(x) for x in v)
    if isinstance(v, date):
        return v.isoformat()
    return "" if v is None else str(v)


def _months(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _cert_id(rng: random.Random) -> str:
    h = f"{rng.getrandbits(64):016X}"
    return "{" + f"{h[:4]}-{h[4:8]}{h[8:12]}-{h[12:]}" + "}"


def write_world(world: World, out: Path, rng: random.Random) -> dict[str, Any]:
    """Write the world under ``out``; returns the summary dict simulate() hands back."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = [{"path": "registry", "kind": "registry"}]
    for table, cols in REGISTRY_COLUMNS.items():
        rows = sorted(tuple(_cell(v) for v in r) for r in world.registry.get(table, []))
        write_csv(out / "registry" / f"{table}.csv", cols, rows)

    months = _months(world.start, world.end)
    app = sorted(world.app, key=lambda e: (e["time"], e["actor"]))
    db = sorted(world.db, key=lambda r: (r[0], r[1][4], r[1][5]))
    for month in months:
        recs = [{**{k: v for k, v in e.items() if v is not None}, "time": iso_ms(e["time"])}
                for e in app if e["time"].strftime("%Y-%m") == month]
        path = f"logs/app/access-{month}.jsonl.gz"
        write_jsonl(out / path, recs)
        files.append({"path": path, "kind": "access"})
    for month in months:
        log_rows = [[pg_time(t), *r] for t, r in db if t.strftime("%Y-%m") == month]
        assert all(len(r) == len(CSVLOG_COLUMNS) for r in log_rows)
        path = f"logs/db/postgresql-{month}.csv.gz"
        write_csv(out / path, None, log_rows, compress=True)
        files.append({"path": path, "kind": "pgaudit"})

    ep = out / "logs" / "endpoint"
    write_csv(ep / "logon.csv", ("id", "date", "user", "pc", "activity"),
              [(_cert_id(rng), cert_time(t), u, pc, a) for t, u, pc, a in sorted(world.logon)])
    write_csv(ep / "device.csv", ("id", "date", "user", "pc", "activity", "file_tree"),
              [(_cert_id(rng), cert_time(t), u, pc, a, tree) for t, u, pc, a, tree in sorted(world.device)])
    write_csv(ep / "file.csv", ("id", "date", "user", "pc", "filename", "activity", "to_removable_media",
                                "from_removable_media", "content"),
              [(_cert_id(rng), cert_time(t), u, pc, fn, act, str(to).upper(), str(frm).upper(), content)
               for t, u, pc, fn, act, to, frm, content in sorted(world.files)])
    ldap_header = ("employee_name", "user_id", "email", "role", "projects", "business_unit",
                   "functional_unit", "department", "team", "supervisor")
    for month in months:
        write_csv(ep / "LDAP" / f"{month}.csv", ldap_header, sorted(world.ldap))
    files.append({"path": "logs/endpoint", "kind": "cert"})

    for o in world.owners:
        path = f"datasets/{o.owner_id}/{o.dataset_name}-{world.start.year}.csv"
        ds_rows = [(p.record_id, p.name, p.kana, p.birth.isoformat(), p.sex, p.zip_code, p.address, p.phone)
                for p in o.people]
        write_csv(out / path, (o.id_column, *DATASET_HEADER), ds_rows, encoding="cp932")
        files.append({"path": path, "kind": "dataset", "owner": o.owner_id, "name": o.dataset_name,
                      "version": str(world.start.year), "categories": o.categories,
                      "valid_from": world.start.isoformat(), "valid_to": f"{world.start.year}-12-31",
                      "id_column": o.id_column, "encoding": "cp932"})

    leak_truth = []
    for i, leak in enumerate(world.leaks, 1):
        leak_cols = leak_columns(rng)
        entries = list(leak.people)
        entries += rng.sample(entries, len(entries) // 50)   # resold lists carry duplicates
        rng.shuffle(entries)
        encoding = "cp932" if i % 2 else "utf-8"
        leak_rows = [damaged_row(rng, p, leak_cols) for _, p in entries]
        if encoding == "cp932":
            leak_rows = [[c.encode("cp932", "replace").decode("cp932") for c in r] for r in leak_rows]
        write_csv(out / "leaks" / f"leak-{i}.csv", leak_header(rng, leak_cols), leak_rows, encoding=encoding)
        write_csv(out / "leaks" / f"leak-{i}.truth.csv", ("row", "owner", "record_id"),
                  [(n, o, p.record_id if o else "") for n, (o, p) in enumerate(entries, 1)])
        leak_truth.append({"file": f"leaks/leak-{i}.csv", "owners": sorted(leak.owners), "n": len(entries),
                           "unattributable": sum(1 for o, _ in entries if not o), "encoding": encoding})

    write_json(out / "manifest.json", {
        "format": "kansa-world/1", "scenario": world.scenario, "seed": world.seed,
        "timezone": world.timezone, "start": world.start.isoformat(), "end": world.end.isoformat(),
        "files": files,
    })
    truth = {"scenario": world.scenario, "seed": world.seed, **world.truth, "leaks": leak_truth}
    write_json(out / "truth.json", truth)
    return {
        "scenario": world.scenario, "seed": world.seed, "out": str(out),
        "start": world.start.isoformat(), "end": world.end.isoformat(),
        "app_events": len(app), "db_lines": len(db),
        "endpoint_events": len(world.logon) + len(world.device) + len(world.files),
        "owners": len(world.owners), "records": sum(len(o.people) for o in world.owners),
        "leaks": len(world.leaks), "bad_actors": len(world.truth.get("bad_actors", [])),
    }
