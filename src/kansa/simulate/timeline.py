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

from kansa.simulate.world import World

TZ = ZoneInfo("Asia/Tokyo")


class DbLog:
    """Builds csvlog rows (all 26 columns except log_time) for pgaudit sessions."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.world, self.rng, self.pid = world, rng, 20000

    def session(self, user: str, addr: str, app_name: str, start: datetime) -> dict[str, Any]:
        self.pid += self.rng.randint(1, 40)
        s = {"user": user, "from": f"{addr}:{self.rng.randint(40000, 65000)}", "pid": self.pid,
             "sid": f"{int(start.timestamp()):x}.{self.pid:x}", "line": 0, "stmt": 0, "start": start,
             "app": app_name}
        self._line(s, start, "authentication", "LOG", f"connection authorized: user={user} database=callcenter")
        return s

    def _line(self, s: dict[str, Any], t: datetime, tag: str, severity: str, message: str,
              detail: str = "") -> None:
        s["line"] += 1
        start = s["start"].strftime("%Y-%m-%d %H:%M:%S ") + (s["start"].tzname() or "")
        self.world.db.append((t, [
            s["user"], "callcenter", s["pid"], s["from"], s["sid"], s["line"], tag, start,
            f"3/{s['line']}", 0, severity, "00000", message, detail, "", "", "", "", "", "", "",
            s["app"], "client backend", "", "",
        ]))

    def audit(self, s: dict[str, Any], t: datetime, cls: str, command: str, obj: str, sql: str,
              params: str = "") -> None:
        s["stmt"] += 1
        quoted = '"' + sql.replace('"', '""') + '"'
        obj_type = "TABLE" if obj else ""
        self._line(s, t, command, "LOG",
                   f"AUDIT: SESSION,{s['stmt']},1,{cls},{command},{obj_type},{obj},{quoted},{params or '<none>'}")


def workdays(start: date, days: int) -> list[date]:
    return [start + timedelta(d) for d in range(days) if (start + timedelta(d)).weekday() < 5]


def at(d: date, hour: float) -> datetime:
    return datetime.combine(d, time(0), TZ) + timedelta(milliseconds=int(hour * 3_600_000))
