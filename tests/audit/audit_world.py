"""A tiny access world built in code: a team of operators with a call list, and one insider."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kansa.model.workspace import Workspace

TZ = ZoneInfo("Asia/Tokyo")
START = date(2024, 4, 1)
OPERATORS = ["op1", "op2", "op3", "op4", "op5"]
CALL_LIST = [f"S{i:03d}" for i in range(40)]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(START + timedelta(days=day), datetime.min.time(), tzinfo=TZ) + timedelta(
        hours=hour, minutes=minute
    )


@dataclass
class Builder:
    ws: Workspace
    next_id: int = 0
    ids: dict[str, list[int]] = field(default_factory=dict)

    def access(self, ts: datetime, actor: str, action: str, owner: str | None, subjects: list[str],
               rows: int | None = None, resource: str = "app/customer", statement: str | None = None,
               tag: str = "") -> int:
        eid = self.next_id
        self.next_id += 1
        self.ws.con.execute(
            "INSERT INTO access_events (event_id, ts, actor_id, account, action, resource, owner_id, row_count, "
            "statement, source_system, batch_id, source_file, source_line) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'access', 1, 'test.jsonl', ?)",
            [eid, ts, actor, actor, action, resource, owner, rows if rows is not None else len(subjects),
             statement, eid + 1],
        )
        for s in subjects:
            self.ws.con.execute("INSERT INTO access_subjects VALUES (?, ?, ?)", [eid, owner, s])
        if tag:
            self.ids.setdefault(tag, []).append(eid)
        return eid

    def usb(self, ts: datetime, account: str, path: str = "E:/list.csv", tag: str = "") -> int:
        eid = self.next_id
        self.next_id += 1
        self.ws.con.execute(
            "INSERT INTO endpoint_events (event_id, ts, account, host, kind, path, to_removable, source_system, "
            "batch_id) VALUES (?, ?, ?, 'PC-1', 'file_copy', ?, TRUE, 'cert', 2)",
            [eid, ts, account, path],
        )
        if tag:
            self.ids.setdefault(tag, []).append(eid)
        return eid


def registry(ws: Workspace, with_assignments: bool = True) -> None:
    con = ws.con
    for a in OPERATORS:
        con.execute("INSERT INTO actors (actor_id, role, team) VALUES (?, 'operator', 'A')", [a])
        con.execute("INSERT INTO accounts VALUES ('endpoint', ?, ?, FALSE)", [f"u-{a}", a])
    con.execute("INSERT INTO actors (actor_id, role, team, privileged) VALUES ('mnt1', 'maintainer', 'SYS', TRUE)")
    if with_assignments:
        con.execute(
            "INSERT INTO assignments VALUES ('CAMP-A', NULL, 'A', 'pref-a', NULL, 'campaign', 'call', ?, ?)",
            [START, START + timedelta(days=60)],
        )
        for s in CALL_LIST:
            con.execute("INSERT INTO assignment_subjects VALUES ('CAMP-A', 'pref-a', ?)", [s])


def normal_days(b: Builder, first: int, last: int) -> None:
    """Every operator views a few people on the call list each working day."""
    for d in range(first, last + 1):
        for k, actor in enumerate(OPERATORS):
            for j in range(4 + (d + k) % 3):
                subj = CALL_LIST[(d * 7 + k * 5 + j) % len(CALL_LIST)]
                b.access(at(d, 9 + j), actor, "view", "pref-a", [subj])
