"""Event files written as the simulation goes, so a world of any size fits in bounded memory.

A scenario generates one day at a time and only ever adds events at or after the start of the day
it is generating (a night shift may run past midnight, never before it). So once day D is done,
every event before D+1 00:00 is final: `EventFiles.flush` sorts those, appends them to the month's
gzip stream or the endpoint CSV, and forgets them. Memory then holds about two days of events,
whatever ``--scale`` and ``--days`` are. Sorting inside a flush plus time-disjoint flushes gives the
same global order as sorting everything at the end, and every byte stays a function of the seed.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
import json
import pickle
import random
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from kansa.model.formats import CSVLOG_COLUMNS
from kansa.simulate.writers import cert_time, iso_ms, pg_time

LOGON_HEADER = ("id", "date", "user", "pc", "activity")
DEVICE_HEADER = ("id", "date", "user", "pc", "activity", "file_tree")
FILE_HEADER = ("id", "date", "user", "pc", "filename", "activity", "to_removable_media",
               "from_removable_media", "content")

AppEvent = dict[str, Any]
DbRow = tuple[datetime, list[Any]]
Logon = tuple[datetime, str, str, str]
Device = tuple[datetime, str, str, str, str]
FileOp = tuple[datetime, str, str, str, str, bool, bool, str]


SPILL_AT = 400_000   # pending events held in memory before a sorted run goes to disk
_CHUNK = 20_000
_KINDS = ("app", "db", "logon", "device", "files")
_SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "app": lambda e: (e["time"], e["actor"]),
    "db": lambda r: (r[0], r[1][4], r[1][5]),
    "logon": lambda r: r, "device": lambda r: r, "files": lambda r: r,
}


def _month(t: datetime) -> str:
    return f"{t.year:04d}-{t.month:02d}"


def _when(kind: str, item: Any) -> datetime:
    return item["time"] if kind == "app" else item[0]


def _read_run(path: Path) -> Iterator[Any]:
    with path.open("rb") as fh:
        while True:
            try:
                chunk = pickle.load(fh)
            except EOFError:
                return
            yield from chunk


def months(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _csv_text(rows: list[list[Any]] | list[tuple[Any, ...]]) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    for row in rows:
        w.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


class _MonthGzip:
    """One gzip stream per month (mtime 0, no file name), opened when its first line arrives."""

    def __init__(self, root: Path, pattern: str) -> None:
        self.root, self.pattern = root, pattern
        self.month: str | None = None
        self.raw: IO[bytes] | None = None
        self.gz: gzip.GzipFile | None = None
        self.written: set[str] = set()

    def write(self, month: str, text: str) -> None:
        if month != self.month:
            self._close()
            path = self.root / self.pattern.format(month=month)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.raw = path.open("wb")
            # Level 6 (gzip(1)'s default): at 50 M events level 9 costs 2.5× the CPU for 6–9 % smaller files.
            self.gz = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0, compresslevel=6)
            self.month = month
            self.written.add(month)
        assert self.gz is not None
        self.gz.write(text.encode("utf-8"))

    def _close(self) -> None:
        if self.gz is not None and self.raw is not None:
            self.gz.close()
            self.raw.close()
        self.gz = self.raw = None

    def finish(self, all_months: list[str]) -> list[str]:
        """Close the open stream and write empty members for months that had no line."""
        self._close()
        paths = []
        for month in sorted(set(all_months) | self.written):
            rel = self.pattern.format(month=month)
            path = self.root / rel
            if not path.exists():
                self.write(month, "")
                self._close()
            paths.append(rel)
        return paths


class _Counter:
    """Renumbers one session's transactions or statements in time order.

    The lines of one statement (a COPY of a query writes two) carry the same time and consecutive
    generation line numbers, so after sorting they are adjacent: remembering only the last old
    number is enough. A map of every old number would grow with the statements of a day's pooled
    session, which at ``--scale`` 1000 is over a million.
    """

    __slots__ = ("last_new", "last_old")

    def __init__(self) -> None:
        self.last_old: str | None = None
        self.last_new = 0

    def renumber(self, old: str) -> int:
        if old != self.last_old:
            self.last_old, self.last_new = old, self.last_new + 1
        return self.last_new


class _Numbering:
    """Where the server's counters stand in one open session."""

    __slots__ = ("line", "stmt", "vxid")

    def __init__(self) -> None:
        self.line = 0
        self.vxid = _Counter()
        self.stmt = _Counter()


class EventFiles:
    """Pending events of a world and the files they are flushed to (see module docstring)."""

    def __init__(self, out: Path, seed: int) -> None:
        self.out = out
        self.app: list[AppEvent] = []
        self.db: list[DbRow] = []
        self.logon: list[Logon] = []
        self.device: list[Device] = []
        self.files: list[FileOp] = []
        self.counts = {"app": 0, "db": 0, "endpoint": 0}
        self._app = _MonthGzip(out, "logs/app/access-{month}.jsonl.gz")
        self._db = _MonthGzip(out, "logs/db/postgresql-{month}.csv.gz")
        # CERT ids come from their own stream so that they do not shift the scenario's draws.
        self._ids = random.Random(f"cert-ids-{seed}")
        self._flushed: datetime | None = None
        self._sessions: dict[str, _Numbering] = {}
        self._spill_dir = out / ".spill"
        self._runs: dict[str, list[Path]] = {kind: [] for kind in _KINDS}
        ep = out / "logs" / "endpoint"
        ep.mkdir(parents=True, exist_ok=True)
        self._ep = {name: (ep / f"{name}.csv").open("w", encoding="utf-8", newline="")
                    for name in ("logon", "device", "file")}
        for name, header in (("logon", LOGON_HEADER), ("device", DEVICE_HEADER), ("file", FILE_HEADER)):
            self._ep[name].write(_csv_text([header]))

    def _cert_id(self) -> str:
        h = f"{self._ids.getrandbits(64):016X}"
        return "{" + f"{h[:4]}-{h[4:8]}{h[8:12]}-{h[12:]}" + "}"

    def pending(self) -> int:
        return len(self.app) + len(self.db) + len(self.logon) + len(self.device) + len(self.files)

    def spill_if_large(self) -> None:
        """Move pending events to sorted run files once they pass SPILL_AT (bounded memory at any
        scale); `flush` merges the runs back in time order. Ties keep generation order, so the
        bytes do not depend on when spills happened."""
        if self.pending() < SPILL_AT:
            return
        self._spill_dir.mkdir(parents=True, exist_ok=True)
        for kind in _KINDS:
            items = getattr(self, kind)
            if not items:
                continue
            items.sort(key=_SORT_KEYS[kind])
            path = self._spill_dir / f"{kind}-{len(self._runs[kind]):05d}.pickle"
            with path.open("wb") as fh:
                for k in range(0, len(items), _CHUNK):
                    pickle.dump(items[k:k + _CHUNK], fh, protocol=pickle.HIGHEST_PROTOCOL)
            self._runs[kind].append(path)
            items.clear()

    def _merged(self, kind: str) -> Iterator[Any]:
        items = getattr(self, kind)
        items.sort(key=_SORT_KEYS[kind])
        return heapq.merge(*(_read_run(p) for p in self._runs[kind]), list(items), key=_SORT_KEYS[kind])

    def flush(self, before: datetime | None = None) -> None:
        """Write every pending event earlier than ``before`` (all of them when None)."""
        for kind in _KINDS:
            keep: list[Any] = []
            batch: list[Any] = []
            first = True
            for item in self._merged(kind):
                t = _when(kind, item)
                if before is not None and t >= before:
                    keep.append(item)
                    continue
                if first and self._flushed is not None and t < self._flushed:
                    raise AssertionError(f"{kind} event at {t} generated after the world was written up to "
                                         f"{self._flushed}")
                first = False
                batch.append(item)
                if len(batch) >= _CHUNK:
                    self._write(kind, batch)
                    batch = []
            self._write(kind, batch)
            for path in self._runs[kind]:
                path.unlink()
            self._runs[kind] = []
            getattr(self, kind)[:] = keep
        if before is not None:
            self._flushed = before

    def _write(self, kind: str, items: list[Any]) -> None:
        if not items:
            return
        if kind == "app":
            by_month: dict[str, list[str]] = {}
            for e in items:
                rec = {**{k: v for k, v in e.items() if v is not None}, "time": iso_ms(e["time"])}
                by_month.setdefault(_month(e["time"]), []).append(
                    json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
            for month in sorted(by_month):
                self._app.write(month, "".join(by_month[month]))
            self.counts["app"] += len(items)
        elif kind == "db":
            db_by_month: dict[str, list[list[Any]]] = {}
            for t, r in self._renumber(items):
                row = [pg_time(t), *r]
                assert len(row) == len(CSVLOG_COLUMNS)
                db_by_month.setdefault(_month(t), []).append(row)
            for month in sorted(db_by_month):
                self._db.write(month, _csv_text(db_by_month[month]))
            self.counts["db"] += len(items)
        elif kind == "logon":
            self._ep["logon"].write(_csv_text([(self._cert_id(), cert_time(t), u, pc, a) for t, u, pc, a in items]))
        elif kind == "device":
            self._ep["device"].write(_csv_text([(self._cert_id(), cert_time(t), u, pc, a, tree)
                                                for t, u, pc, a, tree in items]))
        else:
            self._ep["file"].write(_csv_text([(self._cert_id(), cert_time(t), u, pc, fn, act, str(to).upper(),
                                               str(frm).upper(), content)
                                              for t, u, pc, fn, act, to, frm, content in items]))
        if kind in ("logon", "device", "files"):
            self.counts["endpoint"] += len(items)

    def _renumber(self, rows: list[DbRow]) -> list[DbRow]:
        """Number session lines, transactions and pgaudit statements in time order, as the server does.

        Scenarios generate a pooled session's statements actor by actor, not in time order; the
        server numbers them as they happen, so numbering is done here, after sorting by time.
        """
        for _, r in rows:
            sid = r[4]
            st = self._sessions.get(sid)
            if st is None:
                st = self._sessions[sid] = _Numbering()
            st.line += 1
            r[5] = st.line
            if r[8]:
                backend, _, old = str(r[8]).partition("/")
                r[8] = f"{backend}/{st.vxid.renumber(old)}"
            msg = str(r[12])
            if msg.startswith("AUDIT: SESSION,"):
                _, old_stmt, rest = msg.split(",", 2)
                r[12] = f"AUDIT: SESSION,{st.stmt.renumber(old_stmt)},{rest}"
            elif msg.startswith("disconnection:"):
                del self._sessions[sid]
        return rows

    def close(self, start: date, end: date) -> dict[str, list[str]]:
        """Flush everything, close every file; returns the log files written, by kind."""
        self.flush()
        for fh in self._ep.values():
            fh.close()
        if self._spill_dir.exists():
            self._spill_dir.rmdir()
        ms = months(start, end)
        return {"access": self._app.finish(ms), "pgaudit": self._db.finish(ms)}
