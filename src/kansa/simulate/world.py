"""The in-memory world a scenario builds, and how it is laid out on disk (docs/formats.md).

Scenarios only decide what happens; this module owns the layout so every scenario writes the same
contract that ingest reads, in a byte-stable way (sorted, gzip mtime 0).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jaconv

from kansa.simulate.damage import damaged_row, leak_columns, leak_header
from kansa.simulate.people import Person, moved
from kansa.simulate.stream import AppEvent, DbRow, Device, EventFiles, FileOp, Logon, months
from kansa.simulate.writers import write_csv, write_json, write_xlsx

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

# Told (days done, days in all) after each simulated day. A context variable rather than a
# parameter so that scenarios, which only describe behaviour, need not pass it along.
_DAY_DONE: ContextVar[Callable[[int, int], None] | None] = ContextVar("kansa_simulate_day_done", default=None)


@contextmanager
def reporting_days(callback: Callable[[int, int], None] | None) -> Iterator[None]:
    """Call ``callback(done, total)`` as each day of the world is written (a 50 M-event world
    takes most of an hour; the CLI draws a progress bar from it)."""
    token = _DAY_DONE.set(callback)
    try:
        yield
    finally:
        _DAY_DONE.reset(token)


@dataclass
class OwnerData:
    owner_id: str
    name: str
    schema_table: str          # e.g. pref_osaka.taxpayer
    dataset_name: str
    id_column: str
    categories: list[str]
    people: list[Person]
    prefecture: str = ""
    city_prefix: str = ""
    halfwidth_kana: bool = False      # an older system that stores ｶﾅ half-width
    previous_version: bool = False    # last year's list is on file too (people moved since)
    file_format: str = "cp932"        # how the owner sends its list: cp932 | utf-8 (with BOM) | xlsx


@dataclass
class Leak:
    owners: list[str]
    people: list[tuple[str, Person]]   # (owner, person)


@dataclass
class World:
    """What a scenario builds. Events go to ``files`` (streamed to disk day by day); the rest
    (registry, owners' records, leaks, truth) is small and written at the end."""

    scenario: str
    seed: int
    timezone: str
    start: date
    end: date
    out: Path
    registry: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    owners: list[OwnerData] = field(default_factory=list)
    ldap: list[tuple[str, ...]] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)
    stream: EventFiles | None = field(default=None, repr=False)

    @property
    def events(self) -> EventFiles:
        if self.stream is None:
            self.out.mkdir(parents=True, exist_ok=True)
            self.stream = EventFiles(self.out, self.seed)
        return self.stream

    # Pending events, by kind; scenarios append to these and call flush() at each day's end.
    @property
    def app(self) -> list[AppEvent]:
        return self.events.app

    @app.setter
    def app(self, value: list[AppEvent]) -> None:  # `w.app += [...]` rebinds the same list
        self.events.app = value

    @property
    def db(self) -> list[DbRow]:
        return self.events.db

    @db.setter
    def db(self, value: list[DbRow]) -> None:  # `w.db += [...]` rebinds the same list
        self.events.db = value

    @property
    def logon(self) -> list[Logon]:
        return self.events.logon

    @logon.setter
    def logon(self, value: list[Logon]) -> None:  # `w.logon += [...]` rebinds the same list
        self.events.logon = value

    @property
    def device(self) -> list[Device]:
        return self.events.device

    @device.setter
    def device(self, value: list[Device]) -> None:  # `w.device += [...]` rebinds the same list
        self.events.device = value

    @property
    def files(self) -> list[FileOp]:
        return self.events.files

    @files.setter
    def files(self, value: list[FileOp]) -> None:  # `w.files += [...]` rebinds the same list
        self.events.files = value

    def spill_if_large(self) -> None:
        """Call now and then inside a day's loop: keeps memory bounded at large ``--scale``."""
        self.events.spill_if_large()

    def flush(self, before: datetime) -> None:
        """Everything before ``before`` is final: write it out (see stream.py)."""
        self.events.flush(before)
        report = _DAY_DONE.get()
        if report is not None:
            report((before.date() - self.start).days, (self.end - self.start).days + 1)


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return "|".join(str(x) for x in v)
    if isinstance(v, date):
        return v.isoformat()
    return "" if v is None else str(v)


def _dataset_row(rng: random.Random, p: Person, halfwidth_kana: bool) -> tuple[str, ...]:
    """A record as the owner's export holds it: a few fields missing, kana as the system stores it."""
    kana = "" if rng.random() < 0.01 else p.kana
    if halfwidth_kana:
        kana = jaconv.z2h(kana, kana=True, ascii=False, digit=False)
    birth = "" if rng.random() < 0.02 else p.birth.isoformat()
    return (p.record_id, p.name, kana, birth, p.sex, p.zip_code, p.address, p.phone)


def _write_dataset(out: Path, world: World, o: OwnerData, rng: random.Random) -> list[dict[str, Any]]:
    """This year's list and, for some owners, last year's: same ids, some people at old addresses."""
    year = world.start.year
    versions = [(year, o.people)]
    if o.previous_version and o.prefecture:
        movers = set(rng.sample(range(len(o.people)), max(1, len(o.people) // 20)))
        newcomers = set(rng.sample(range(len(o.people)), len(o.people) // 50))
        old = [moved(rng, p, o.prefecture, o.city_prefix) if i in movers else p
               for i, p in enumerate(o.people) if i not in newcomers]
        versions.insert(0, (year - 1, old))
    entries = []
    for y, people in versions:
        rows = [_dataset_row(rng, p, o.halfwidth_kana) for p in people]
        header = (o.id_column, *DATASET_HEADER)
        entry: dict[str, Any] = {"kind": "dataset", "owner": o.owner_id, "name": o.dataset_name,
                                 "version": str(y), "categories": o.categories, "valid_from": f"{y}-01-01",
                                 "valid_to": f"{y}-12-31", "id_column": o.id_column}
        if o.file_format == "xlsx":
            path = f"datasets/{o.owner_id}/{o.dataset_name}-{y}.xlsx"
            write_xlsx(out / path, header, rows, sheet=f"{o.dataset_name}{y}")
        else:
            path = f"datasets/{o.owner_id}/{o.dataset_name}-{y}.csv"
            write_csv(out / path, header, rows, encoding="utf-8-sig" if o.file_format == "utf-8" else "cp932")
            entry["encoding"] = "utf-8-sig" if o.file_format == "utf-8" else "cp932"   # utf-8-sig: with a BOM
        entries.append({"path": path, **entry})
    return entries


def write_world(world: World, out: Path, rng: random.Random) -> dict[str, Any]:
    """Write the world under ``out``; returns the summary dict simulate() hands back."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = [{"path": "registry", "kind": "registry"}]
    for table, cols in REGISTRY_COLUMNS.items():
        rows = sorted(tuple(_cell(v) for v in r) for r in world.registry.get(table, []))
        write_csv(out / "registry" / f"{table}.csv", cols, rows)

    logs = world.events.close(world.start, world.end)
    files += [{"path": path, "kind": "access"} for path in logs["access"]]
    files += [{"path": path, "kind": "pgaudit"} for path in logs["pgaudit"]]
    ep = out / "logs" / "endpoint"
    ldap_header = ("employee_name", "user_id", "email", "role", "projects", "business_unit",
                   "functional_unit", "department", "team", "supervisor")
    for month in months(world.start, world.end):
        write_csv(ep / "LDAP" / f"{month}.csv", ldap_header, sorted(world.ldap))
    files.append({"path": "logs/endpoint", "kind": "cert"})

    for o in world.owners:
        files += _write_dataset(out, world, o, rng)

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
        "app_events": world.events.counts["app"], "db_lines": world.events.counts["db"],
        "endpoint_events": world.events.counts["endpoint"],
        "owners": len(world.owners), "records": sum(len(o.people) for o in world.owners),
        "leaks": len(world.leaks), "bad_actors": len(world.truth.get("bad_actors", [])),
    }
