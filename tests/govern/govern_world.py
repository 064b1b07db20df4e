"""A small entrustment world built in code: one city, its entrustee, an approved and an unapproved
subcontractor, a vendor with no contract and one whose contract ended, and people in each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kansa.model.workspace import Workspace

TZ = ZoneInfo("Asia/Tokyo")
OWNER = "city_a"
LAST_DAY = date(2024, 5, 2)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def d(month: int, day: int) -> date:
    return date(2024, month, day)


@dataclass
class Events:
    ws: Workspace
    next_id: int = 0

    def read(self, day: date, actor: str | None, n: int = 1, action: str = "view", owner: str = OWNER,
             resource: str = "city_a.residents", hour: int = 10) -> None:
        for k in range(n):
            eid = self.next_id
            self.next_id += 1
            self.ws.con.execute(
                "INSERT INTO access_events (event_id, ts, actor_id, account, action, resource, owner_id, row_count, "
                "source_system, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 'access', 1)",
                [eid, at(day, hour) + timedelta(minutes=k), actor, actor, action, resource, owner])
            self.ws.con.execute("INSERT INTO access_subjects VALUES (?, ?, ?)", [eid, owner, f"R{eid % 7}"])

    def copy(self, day: date, actor: str, path: str, hour: int = 15) -> None:
        eid = self.next_id
        self.next_id += 1
        self.ws.con.execute(
            "INSERT INTO endpoint_events (event_id, ts, actor_id, account, host, kind, path, to_removable, "
            "source_system, batch_id) VALUES (?, ?, ?, ?, 'PC-1', 'file_copy', ?, TRUE, 'cert', 2)",
            [eid, at(day, hour), actor, actor, path])


def build(ws: Workspace) -> Events:
    con = ws.con
    con.executemany("INSERT INTO organisations VALUES (?, ?, NULL, ?, 'business', ?)", [
        (OWNER, "A市", "owner", "JP"), ("bpo", "BPO株式会社", "entrustee", "JP"),
        ("sub_ok", "承認済み下請", "subcontractor", "JP"), ("sub_paper", "契約書なし下請", "subcontractor", "JP"),
        ("sub_x", "Offshore Ltd", "subcontractor", "VN"), ("agency", "派遣会社", "staffing_agency", "JP"),
        ("vendor", "無契約ベンダー", "entrustee", "JP"), ("old_vendor", "旧ベンダー", "entrustee", "JP"),
    ])
    con.executemany("INSERT INTO contracts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        ("C1", OWNER, "bpo", [OWNER], ["basic", "tax"], ["entry"], ["sub_ok", "sub_paper"], d(1, 1), None,
         ["no_removable_media"]),
        ("C2", "bpo", "sub_ok", [OWNER], ["basic"], ["entry"], [], d(1, 1), None, ["no_removable_media"]),
        ("C3", "bpo", "sub_x", [OWNER], ["basic", "health"], ["entry"], [], d(1, 1), None, []),
        ("C4", OWNER, "old_vendor", [OWNER], ["basic"], ["maintenance"], [], date(2023, 1, 1), d(3, 31), []),
    ])
    # actor, role, employer, placed at, team, employed from, to
    people = [
        ("c1", "clerk", OWNER, None, "city", None, None),
        ("b1", "operator", "bpo", None, "T", None, None),
        ("b2", "operator", "bpo", None, "T", None, None),
        ("b3", "operator", "bpo", None, "T", None, d(4, 10)),
        ("b4", "operator", "bpo", None, "T2", None, None),
        ("t1", "operator", "agency", "bpo", "T", None, None),
        ("s1", "operator", "sub_ok", None, "S", None, None),
        ("p1", "operator", "sub_paper", None, "P", None, None),
        ("x1", "operator", "sub_x", None, "X", None, None),
        ("v1", "maintainer", "vendor", None, "V", None, None),
        ("o1", "maintainer", "old_vendor", None, "O", None, None),
        ("svc", "service", "bpo", None, "system", None, None),
    ]
    con.executemany("INSERT INTO actors (actor_id, role, org_id, placed_at, team, valid_from, valid_to) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", people)
    con.executemany("INSERT INTO accounts VALUES ('app', ?, ?, FALSE)", [(p[0], p[0]) for p in people])
    april = (d(4, 1), d(4, 30))
    con.executemany("INSERT INTO assignments VALUES (?, ?, ?, ?, 'residents', 'duty', 'entry', ?, ?)", [
        ("TEAM-T", None, "T", OWNER, *april), ("B4", "b4", "T2", OWNER, *april), ("C1-DUTY", "c1", "city", OWNER, *april),
        ("S1", "s1", "S", OWNER, *april), ("P1", "p1", "P", OWNER, *april), ("X1", "x1", "X", OWNER, *april),
        ("V1", "v1", "V", OWNER, *april), ("O1", "o1", "O", OWNER, *april),
    ])
    con.execute("INSERT INTO datasets VALUES ('city_a/residents/2024', ?, 'residents', '2024', ['basic', 'tax'], "
                "?, NULL, 500, 'residents.csv', 'ab')", [OWNER, d(1, 1)])
    con.execute("INSERT INTO db_owners VALUES ('main', 'city_a', NULL, ?)", [OWNER])
    ev = Events(ws)
    ev.read(d(4, 2), "c1", 2)
    ev.read(d(4, 3), "b1", 3)
    ev.read(d(4, 3), "b1", 1, action="export", resource="city_a.residents")
    ev.copy(d(4, 3), "b1", "E:/residents.csv")
    ev.copy(d(4, 4), "c1", "E:/memo.docx")          # no export by c1 that day: tied to no owner
    ev.read(d(4, 3), "b2", 2)
    ev.read(LAST_DAY, "b2", 4)                      # after the team's assignment ended
    ev.read(d(4, 15), "b3", 5)                      # after employment ended
    ev.read(d(4, 3), "t1", 2)
    ev.read(d(4, 8), "s1", 2)
    ev.read(d(4, 8), "p1", 1)
    ev.read(d(4, 9), "x1", 6)
    ev.read(d(4, 10), "v1", 3)
    ev.read(d(4, 12), "o1", 2)                      # its contract ended on 3-31
    ev.read(d(4, 1), "svc", 10, hour=2)
    ev.read(d(4, 2), "ghost", 1)                    # an account the registry does not know
    ev.read(d(4, 2), None, 1)                       # an event no person was resolved for
    ev.read(d(4, 2), "b1", 1, action="login")       # not a read
    return ev
