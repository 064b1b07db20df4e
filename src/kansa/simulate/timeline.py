"""Shared clock and database-log helpers for scenarios.

Every scenario needs the same things: working days, local times in the world's zone, and
PostgreSQL csvlog sessions whose pgaudit lines look like the real extension's output. Keeping them
here means a new scenario only describes behaviour.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jpholiday

from kansa.simulate.world import World

TZ = ZoneInfo("Asia/Tokyo")


def pgaudit_csv(value: str) -> str:
    """pgaudit quotes a field only when it holds a quote, comma or line break (append_valid_csv)."""
    if any(c in value for c in '",\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _session_time(seconds: float) -> str:
    """log_disconnections' session time: H:MM:SS.fff."""
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{h}:{m:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


class DbLog:
    """Builds csvlog rows (all 26 columns except log_time) as PostgreSQL 15 + pgaudit write them.

    Checked against a real server (log_connections, log_disconnections, pgaudit.log =
    'read,write,misc', log_relation, log_parameter): every session opens with "connection
    received" and "connection authorized" and ends with "disconnection"; a COPY of a query logs a
    READ/SELECT line for the table and a READ/COPY line; ``SET pgaudit.log = 'none'`` itself is NOT
    logged (it takes effect before pgaudit writes), so a silenced session shows only its login and
    logout. Every session opened must be closed (`close`).
    """

    def __init__(self, world: World, rng: random.Random, database: str = "callcenter") -> None:
        self.world, self.rng, self.pid, self.database = world, rng, 20000, database
        self.backend = 3

    def session(self, user: str, addr: str, app_name: str, start: datetime) -> dict[str, Any]:
        self.pid += self.rng.randint(1, 40)
        port = self.rng.randint(40000, 65000)
        s = {"user": user, "addr": addr, "port": port, "from": f"{addr}:{port}", "pid": self.pid,
             "sid": f"{int(start.timestamp()):x}.{self.pid:x}", "line": 0, "stmt": 0, "vxid": 0, "start": start,
             "app": app_name, "start_text": start.strftime("%Y-%m-%d %H:%M:%S ") + (start.tzname() or "")}
        self._line(s, start, "", f"connection received: host={addr} port={port}", received=True)
        self._line(s, start + timedelta(milliseconds=1), "authentication",
                   f"connection authorized: user={user} database={self.database} application_name={app_name}",
                   vxid=True, app="")
        return s

    def close(self, s: dict[str, Any], t: datetime) -> None:
        took = _session_time((t - s["start"]).total_seconds())
        self._line(s, t, "idle", f"disconnection: session time: {took} user={s['user']} "
                   f"database={self.database} host={s['addr']} port={s['port']}")

    def _line(self, s: dict[str, Any], t: datetime, tag: str, message: str, *, vxid: bool | None = False,
              app: str | None = None, received: bool = False) -> None:
        """vxid: True starts a new virtual transaction, None stays in the current one, False has none."""
        s["line"] += 1
        if vxid:
            s["vxid"] += 1
        start = s["start_text"]
        user, database = ("", "") if received else (s["user"], self.database)
        self.world.db.append((t, [
            user, database, s["pid"], s["from"], s["sid"], s["line"], tag, start,
            f"{self.backend}/{s['vxid']}" if vxid is not False else "", 0, "LOG", "00000", message, "", "", "", "", "", "",
            "", "", s["app"] if app is None else app, "not initialized" if received else "client backend", "", "",
        ]))

    def audit(self, s: dict[str, Any], t: datetime, cls: str, command: str, obj: str, sql: str,
              params: str | list[str] = "") -> None:
        """One pgaudit statement (two lines for COPY of a query, as the extension writes).

        ``params``: the bound values, in $n order. pgaudit writes them as ONE field: each value
        CSV-quoted when it needs it, joined by commas, and that list quoted again.
        """
        s["stmt"] += 1
        quoted = pgaudit_csv(sql)
        is_copy = sql.lstrip().upper().startswith("COPY")
        tag = "COPY" if is_copy else command
        obj_type = "TABLE" if obj else ""
        values = [params] if isinstance(params, str) and params else list(params)
        pars = pgaudit_csv(",".join(pgaudit_csv(v) for v in values)) if values else "<none>"
        self._line(s, t, tag, f"AUDIT: SESSION,{s['stmt']},1,{cls},{command},{obj_type},{obj},{quoted},{pars}",
                   vxid=True)
        if is_copy:
            self._line(s, t, tag, f"AUDIT: SESSION,{s['stmt']},2,{cls},COPY,,,{quoted},{pars}", vxid=None)


def office_closed(d: date) -> bool:
    """Japanese offices close at weekends, on national holidays and over 年末年始 (29 Dec – 3 Jan)."""
    return (d.weekday() >= 5 or jpholiday.is_holiday(d)
            or (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3))


def workdays(start: date, days: int) -> list[date]:
    """The days a Japanese office works in [start, start + days)."""
    return [d for d in (start + timedelta(k) for k in range(days)) if not office_closed(d)]


def at(d: date, hour: float) -> datetime:
    return datetime.combine(d, time(0), TZ) + timedelta(milliseconds=int(hour * 3_600_000))


class AppDb:
    """An application whose every record access is also a pgaudit line on its service role.

    Applications reach PostgreSQL through a small pool of long-lived sessions of one role from the
    app server; `open_day` / `close_day` bracket a day's pool so that every session is closed.
    """

    def __init__(self, w: World, db: DbLog, rng: random.Random, role: str, addr: str, app_name: str,
                 tables: dict[str, str]) -> None:
        self.w, self.db, self.rng = w, db, rng
        self.role, self.addr, self.app_name, self.tables = role, addr, app_name, tables
        self.pool: list[dict[str, Any]] = []

    def open_day(self, day: date, sessions: int = 3, hour: float = 8.5) -> None:
        self.pool = [self.db.session(self.role, self.addr, self.app_name, at(day, hour + k * 0.01))
                     for k in range(sessions)]

    def close_day(self, day: date, hour: float = 22.2) -> None:
        for s in self.pool:
            self.db.close(s, at(day, hour + self.rng.random() * 0.3))
        self.pool = []

    def event(self, ev: dict[str, Any], sql: str, params: str | list[str], cls: str = "READ",
              command: str = "SELECT") -> None:
        """Log ``ev`` in the app log and the statement it ran in the database log."""
        self.w.app.append(ev)
        t = ev["time"] + timedelta(milliseconds=self.rng.randint(5, 80))
        self.db.audit(self.rng.choice(self.pool), t, cls, command, self.tables[ev["owner"]], sql, params)
