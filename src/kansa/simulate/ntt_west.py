"""Scenario "ntt-west": a call-centre contractor for ~60 owners and a maintenance temp who sells lists.

Facts it models (seed case): a contractor runs call campaigns for prefectures (car-tax desks),
cities (health-check reminders) and companies (sales); campaigns start and end, teams of operators
work each campaign's call list through the call-centre app (which queries PostgreSQL as a service
role), staff join and leave, month-end and tax-season peaks, late shifts, Japanese holidays.
Maintainers share the DB admin role; honest ones run checks, VACUUMs and ticketed data-return
exports, and a backup service COPYs every table nightly — the noise a detector must not flag. A
maintenance temp placed by an agency, from some day on, COPYs slices of owners' tables after hours,
sometimes switching auditing off first (`SET pgaudit.log = 'none'`, which the server does not log),
and copies the files to USB. Some of the stolen rows later surface as broker lists (leaks/). The
contractor also passes one prefecture's data entry to a firm abroad that no contract allows.

Generation runs day by day and flushes each finished day to disk (stream.py), so memory stays
bounded at any ``--scale``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from kansa.simulate.catalog import KINDS, OWNERS
from kansa.simulate.people import make_people
from kansa.simulate.timeline import AppDb, DbLog, at, workdays
from kansa.simulate.world import Leak, OwnerData, World

CONTRACTOR = "cc_kansai"
AGENCY = "temp_staff"
APP_ADDR = "10.20.0.10"
BACKUP_ADDR = "10.20.0.20"
RECORD_SCALE_CAP = 2.5   # records stop growing here: --scale beyond it adds staff and events only


@dataclass
class Campaign:
    cid: str
    owner: OwnerData
    kind: str
    start: date
    end: date
    team: str = ""
    supervisor: str = ""
    call_list: list[str] = field(default_factory=list)


@dataclass
class Operator:
    aid: str
    terminal: str
    addr: str
    team: str
    late_shift: bool
    valid_from: date
    valid_to: date | None


def _month_end_rush(day: date, days_worked: set[date]) -> bool:
    """One of the last three working days of the month."""
    later = [day + timedelta(k) for k in range(1, 8)]
    left = sum(1 for d in later if d.month == day.month and d in days_worked)
    return left < 3


def _tax_season(day: date) -> bool:
    """確定申告 (16 Feb – 15 Mar) and the car-tax month after the May due date."""
    return (day.month == 2 and day.day >= 16) or (day.month == 3 and day.day <= 15) or day.month == 6


def _owners(w: World, rng: random.Random, scale: float, start: date) -> None:
    record_scale = min(scale, RECORD_SCALE_CAP)
    counters = {"prefecture": 0, "city": 0, "company": 0}
    for spec in OWNERS:
        k = KINDS[spec.kind]
        counters[spec.kind] += 1
        prefix = f"{spec.kind[0].upper()}{counters[spec.kind]:02d}"
        n = max(60, int(k.records * record_scale * rng.uniform(0.6, 1.4)))
        w.owners.append(OwnerData(spec.owner_id, spec.name, f"{spec.owner_id}.{k.table}", k.dataset, k.id_column,
                                  list(k.categories), make_people(rng, prefix, n, spec.prefecture,
                                                                  spec.city_prefix, start),
                                  spec.prefecture, spec.city_prefix, halfwidth_kana=rng.random() < 0.15,
                                  previous_version=rng.random() < 0.25,
                                  file_format=rng.choices(("cp932", "utf-8", "xlsx"), (70, 15, 15))[0]))
        w.registry["organisations"].append((spec.owner_id, spec.name, spec.name_en, "owner", k.sector, "JP"))
        w.registry["contracts"].append((f"C-{spec.owner_id}", spec.owner_id, CONTRACTOR, [spec.owner_id],
                                        list(k.categories), ["call"], [], start - timedelta(rng.randint(30, 900)),
                                        None, ["no_removable_media", "onsite_only"]))


def _campaigns(w: World, rng: random.Random, start: date, end: date, scale: float) -> list[Campaign]:
    """Each owner's campaigns over the period: 2–6 weeks each, with gaps, some begun before it."""
    kinds = {s.owner_id: s.kind for s in OWNERS}
    out: list[Campaign] = []
    for o in w.owners:
        d = start - timedelta(rng.randint(0, 45))
        n = 0
        while d <= end:
            length = rng.randint(14, 42)
            c_end = d + timedelta(length - 1)
            if c_end >= start:
                n += 1
                # A call list is a slice of the owner's records (those due a reminder, a target segment).
                size = max(10, int(len(o.people) * rng.uniform(0.08, 0.25)))
                lst = sorted(p.record_id for p in rng.sample(o.people, size))
                out.append(Campaign(f"CAMP-{o.owner_id}-{d:%Y%m%d}", o, kinds[o.owner_id], d, c_end,
                                    call_list=lst))
            d = c_end + timedelta(1 + rng.randint(0, 40))
    return sorted(out, key=lambda c: (c.start, c.cid))


def _staff_teams(campaigns: list[Campaign], teams: list[str], supervisors: list[str], rng: random.Random) -> None:
    """Give each campaign to the team with the fewest campaigns overlapping it."""
    taken: dict[str, list[Campaign]] = {t: [] for t in teams}
    for c in campaigns:
        def load(team: str, c: Campaign = c) -> tuple[int, float]:
            return (sum(1 for x in taken[team] if x.start <= c.end and c.start <= x.end), rng.random())
        team = min(teams, key=load)
        taken[team].append(c)
        c.team = team
        c.supervisor = supervisors[teams.index(team) % len(supervisors)]


def build(seed: int, days: int, scale: float, out: Path, start: date = date(2024, 1, 1)) -> tuple[World, random.Random]:
    rng = random.Random(seed)
    end = start + timedelta(days - 1)
    w = World("ntt-west", seed, "Asia/Tokyo", start, end, out)
    reg = w.registry
    reg["organisations"] = [(CONTRACTOR, "関西コールサービス株式会社", "Kansai Call Service", "entrustee", "business", "JP"),
                            (AGENCY, "テンプスタッフ西日本", "Temp Staff West", "staffing_agency", "business", "JP")]
    reg["contracts"] = []
    _owners(w, rng, scale, start)
    by_id = {o.owner_id: o for o in w.owners}
    actors: list[tuple[Any, ...]] = []
    accounts: list[tuple[Any, ...]] = []
    terminals: list[tuple[Any, ...]] = []
    ldap: list[tuple[str, ...]] = []

    # Operators in teams; some join or leave during the period, a fifth work the late shift.
    n_ops = max(8, int(40 * scale))
    # About a dozen teams at most; a larger centre has larger teams, not more of them.
    teams = [f"team-{k:02d}" for k in range(1, max(3, min(12, n_ops // 4)) + 1)]
    n_sv = max(2, min(8, len(teams) // 3 + 1))
    supervisors = [f"sv{k:03d}" for k in range(1, n_sv + 1)]
    ops: list[Operator] = []
    for i in range(1, n_ops + 1):
        aid, term, addr = f"op{i:03d}", f"CC-PC-{i:03d}", f"10.20.{4 + i // 240}.{i % 240 + 10}"
        joins = rng.random() < 0.1
        leaves = rng.random() < 0.08
        vf = start + timedelta(rng.randint(1, max(1, days - 7))) if joins else start - timedelta(rng.randint(30, 2000))
        vt = vf + timedelta(rng.randint(14, max(15, days))) if leaves else None
        team = teams[(i - 1) % len(teams)]
        ops.append(Operator(aid, term, addr, team, rng.random() < 0.2, vf, vt))
        actors.append((aid, f"オペレーター{i:03d}", "operator", CONTRACTOR, None, team, False, vf, vt))
        accounts += [("app", aid, aid, False), ("endpoint", aid, aid, False)]
        terminals.append((term, addr, aid, "大阪センター"))
        sv = supervisors[teams.index(team) % len(supervisors)]
        ldap.append((f"オペレーター{i:03d}", aid, f"{aid}@cc-kansai.example", "operator", team,
                     "コールセンター", "運用", "オペレーション", team, sv))
    for k, sv in enumerate(supervisors, 1):
        actors.append((sv, f"スーパーバイザー{k:02d}", "supervisor", CONTRACTOR, None, "supervisors", False,
                       start - timedelta(rng.randint(400, 3000)), None))
        accounts += [("app", sv, sv, False), ("endpoint", sv, sv, False)]
        terminals.append((f"CC-SV-{k:03d}", f"10.20.5.{k + 10}", sv, "大阪センター"))
        ldap.append((f"スーパーバイザー{k:02d}", sv, f"{sv}@cc-kansai.example", "supervisor", "",
                     "コールセンター", "運用", "オペレーション", "supervisors", ""))

    # Which maintainer is the insider, and who else came through the agency, varies by seed, so
    # that nothing downstream can key on a name, a terminal or "temp" alone.
    n_maint = rng.randint(3, 5)
    insider_no = rng.randint(1, n_maint)
    agency_nos = {insider_no, rng.randint(1, n_maint)}
    maint = [(f"mt{i:03d}", f"MNT-PC-{i:02d}", f"10.20.9.{i + 10}") for i in range(1, n_maint + 1)]
    insider, iterm, iaddr = maint[insider_no - 1]
    for i, (aid, term, addr) in enumerate(maint, 1):
        temp = i in agency_nos
        actors.append((aid, f"保守担当{i:02d}", "maintainer", AGENCY if temp else CONTRACTOR,
                       CONTRACTOR if temp else None, "maint", True, start - timedelta(3000 if temp else 900), None))
        accounts.append(("endpoint", aid, aid, False))
        terminals.append((term, addr, aid, "大阪センター サーバ室"))
        ldap.append((f"保守担当{i:02d}", aid, f"{aid}@cc-kansai.example", "maintainer", "",
                     "システム", "保守", "基盤", "maint", supervisors[0]))
    actors += [("svc-callcenter", "コールセンターアプリ", "service", CONTRACTOR, None, "system", False, None, None),
               ("svc-backup", "バックアップ", "service", CONTRACTOR, None, "system", True, None, None)]
    accounts += [("db", "cc_app", "svc-callcenter", False), ("db", "backup", "svc-backup", False),
                 ("db", "maint_admin", None, True)]
    terminals += [("APP-01", APP_ADDR, "svc-callcenter", "データセンター"),
                  ("BKP-01", BACKUP_ADDR, "svc-backup", "データセンター")]

    campaigns = _campaigns(w, rng, start, end, scale)
    _staff_teams(campaigns, teams, supervisors, rng)
    assignments: list[tuple[Any, ...]] = []
    subjects: list[tuple[Any, ...]] = []
    for c in campaigns:
        assignments.append((c.cid, None, c.team, c.owner.owner_id, c.owner.dataset_name, "campaign",
                            KINDS[c.kind].purpose, c.start, c.end))
        subjects += [(c.cid, c.owner.owner_id, s) for s in c.call_list]
    for sv in supervisors:
        assignments.append((f"SV-DUTY-{sv}", sv, "supervisors", None, None, "duty", "call", start - timedelta(400), None))
    assignments.append(("MAINT-DUTY", None, "maint", None, None, "maintenance", "maintenance", start, None))

    # Re-entrustment without approval: pref_kyoto's data entry goes to a firm abroad. Its own side
    # contract with the contractor exists, but the owner's contract allows no subcontractors.
    days_worked = workdays(start, days)
    worked = set(days_worked)
    sub, sub_owner = "de_dalian", by_id["pref_kyoto"]
    reg["organisations"].append((sub, "大連数据録入有限公司", "Dalian Data Entry", "subcontractor", "business", "CN"))
    sub_start = days_worked[min(len(days_worked) - 1, rng.randint(len(days_worked) // 4, len(days_worked) // 2))]
    reg["contracts"].append((f"C-{CONTRACTOR}-{sub}", CONTRACTOR, sub, [sub_owner.owner_id], ["basic"],
                             ["data_entry"], [], sub_start, None, []))
    sub_actors = [(f"de{i:02d}", f"DL-PC-{i:02d}", f"192.168.50.{i + 10}") for i in range(1, 4)]
    for aid, term, addr in sub_actors:
        actors.append((aid, f"入力担当{aid[2:]}", "data_entry", sub, None, "data-entry", False, sub_start, None))
        accounts.append(("app", aid, aid, False))
        terminals.append((term, addr, aid, "大連"))
    entry_ids = iter([p.record_id for p in sub_owner.people])

    first_day = days_worked[min(len(days_worked) - 1, rng.randint(3, 8))]
    targets = rng.sample(w.owners, rng.randint(6, 12))
    pulls: list[dict[str, Any]] = []
    stolen: dict[str, list[str]] = {}
    offsets = {o.owner_id: 0 for o in w.owners}
    tickets = 0
    db = DbLog(w, rng)
    appdb = AppDb(w, db, rng, "cc_app", APP_ADDR, "callcenter-app", {o.owner_id: o.schema_table for o in w.owners})
    sv_terms = {sv: (f"CC-SV-{k:03d}", f"10.20.5.{k + 10}") for k, sv in enumerate(supervisors, 1)}

    for day in (start + timedelta(k) for k in range(days)):
        if day not in worked:
            # Closed days still see the nightly backup.
            _backup(w, db, rng, day)
            w.flush(at(day + timedelta(1), 0))
            continue
        active = [c for c in campaigns if c.start <= day <= c.end]
        active_by_team: dict[str, list[Campaign]] = {}
        for c in active:
            active_by_team.setdefault(c.team, []).append(c)
        rush = 1.3 if _month_end_rush(day, worked) else 1.0
        appdb.open_day(day)
        app = appdb.event

        # Supervisors: export a campaign's call list on its first working day and its results on
        # its last; both legitimate bulk exports through the app.
        sv_on: set[str] = set()
        for c in active:
            is_first = day == next((d for d in days_worked if d >= c.start), None)
            is_last = day == next((d for d in reversed(days_worked) if d <= c.end), None) and c.end <= days_worked[-1]
            for kind_, hour in (("list", 8.8), ("results", 17.2)):
                if (kind_ == "list" and is_first) or (kind_ == "results" and is_last):
                    term, addr = sv_terms[c.supervisor]
                    t = at(day, hour + rng.random() * 0.3)
                    sv_on.add(c.supervisor)
                    app({"time": t, "actor": c.supervisor, "action": "export",
                         "resource": c.owner.schema_table.replace(".", "/"), "owner": c.owner.owner_id,
                         "subjects": c.call_list, "rows": len(c.call_list), "purpose": "call", "ticket": c.cid,
                         "terminal": term, "source_ip": addr, "outcome": "success", "bytes": 300 * len(c.call_list),
                         "system": "callcenter"},
                        f"SELECT * FROM {c.owner.schema_table} WHERE id = ANY($1)", "{" + ",".join(c.call_list[:3]) + ",...}")
        for sv in sorted(sv_on | set(rng.sample(supervisors, max(1, len(supervisors) // 2)))):
            term, _ = sv_terms[sv]
            w.logon += [(at(day, 8.6 + rng.random() * 0.1), sv, term, "Logon"),
                        (at(day, 18 + rng.random()), sv, term, "Logoff")]

        # Operators work their team's active campaigns.
        for op in ops:
            if day < op.valid_from or (op.valid_to and day > op.valid_to) or rng.random() < 0.08:
                continue
            w.spill_if_large()
            mine = active_by_team.get(op.team, [])
            t0 = at(day, (13.0 if op.late_shift else 9.0) + rng.random() * 0.4)
            t1 = at(day, (21.5 if op.late_shift else 17.5) + rng.random() * 0.5)
            w.logon += [(t0 - timedelta(minutes=3), op.aid, op.terminal, "Logon"),
                        (t1, op.aid, op.terminal, "Logoff")]
            if not mine:
                continue  # training or inbound calls without personal-data look-ups
            n = int(rng.randint(10, 22) * rush)
            # Calls are spread over the whole shift, so the late shift really works into the evening.
            gap = int((t1 - t0).total_seconds() / (n + 1))
            t = t0
            for _ in range(n):
                t += timedelta(seconds=rng.randint(60, max(61, 2 * gap - 60)))
                if t >= t1:
                    break
                c = rng.choice(mine)
                if c.kind == "prefecture" and _tax_season(day) and rng.random() < 0.3:
                    t += timedelta(seconds=rng.randint(20, 90))   # busier desks: more, shorter calls
                base = {"time": t, "actor": op.aid, "resource": c.owner.schema_table.replace(".", "/"),
                        "owner": c.owner.owner_id, "purpose": "call", "ticket": c.cid, "terminal": op.terminal,
                        "source_ip": op.addr, "outcome": "success", "system": "callcenter"}
                if rng.random() < 0.8:
                    subj = rng.choice(c.call_list) if rng.random() < 0.97 else rng.choice(c.owner.people).record_id
                    app({**base, "action": "view", "subjects": [subj], "rows": 1, "bytes": 2048},
                        f"SELECT * FROM {c.owner.schema_table} WHERE id = $1", subj)
                    if rng.random() < 0.35:   # the call's outcome is recorded on the record
                        tu = t + timedelta(seconds=rng.randint(60, 400))
                        app({**base, "time": tu, "action": "update", "subjects": [subj], "rows": 1, "bytes": 300},
                            f"UPDATE {c.owner.schema_table} SET call_result = $1, called_at = now() WHERE id = $2",
                            [rng.choice(['不在', '完了', '折返し', '拒否']), subj], "WRITE", "UPDATE")
                        t = tu
                else:
                    subj_l = sorted(rng.sample(c.call_list, min(len(c.call_list), rng.randint(2, 8))))
                    app({**base, "action": "search", "subjects": subj_l, "rows": len(subj_l),
                         "bytes": 2048 * len(subj_l)},
                        f"SELECT * FROM {c.owner.schema_table} WHERE kana LIKE $1", f"{rng.choice('アイウカキサタナハマヤ')}%")

        # The subcontractor's typists update pref_kyoto records through the app (Dalian is an hour
        # behind: their 9:00–18:00 is 10:00–19:00 here).
        if day >= sub_start:
            for aid, term, addr in sub_actors:
                t = at(day, 10 + rng.random())
                for _ in range(rng.randint(15, 30)):
                    t += timedelta(seconds=rng.randint(60, 600))
                    rid = next(entry_ids, None)
                    if rid is None:
                        break
                    app({"time": t, "actor": aid, "action": "update", "resource": "pref_kyoto/taxpayer",
                         "owner": sub_owner.owner_id, "subjects": [rid], "rows": 1, "purpose": "data_entry",
                         "terminal": term, "source_ip": addr, "outcome": "success", "bytes": 900,
                         "system": "callcenter"},
                        f"UPDATE {sub_owner.schema_table} SET form_data = $1 WHERE id = $2", ["<form>", rid],
                        "WRITE", "UPDATE")
        appdb.close_day(day)

        _backup(w, db, rng, day)
        # Maintainers: small checks and VACUUM by day from their own terminals; now and then a
        # ticketed data-return export, a night incident read, a USB stick with a patch or a log.
        for maid, term, addr in maint:
            w.logon += [(at(day, 8.8 + rng.random() * 0.5), maid, term, "Logon"),
                        (at(day, 18 + rng.random()), maid, term, "Logoff")]
            if rng.random() < 0.5:
                o = rng.choice(w.owners)
                t = at(day, 10 + rng.random() * 6)
                ms = db.session("maint_admin", addr, "psql", t)
                db.audit(ms, t + timedelta(seconds=20), "READ", "SELECT", o.schema_table,
                         f"SELECT count(*) FROM {o.schema_table}")
                te = t + timedelta(seconds=40)
                if rng.random() < 0.3:
                    db.audit(ms, t + timedelta(seconds=60), "MISC", "VACUUM", "", f"VACUUM ANALYZE {o.schema_table}")
                    te = t + timedelta(seconds=rng.randint(120, 900))
                db.close(ms, te)
            if maid != insider and rng.random() < 0.04:
                ended = [c for c in campaigns if c.end < day and c.end >= day - timedelta(10)]
                if ended:
                    c = rng.choice(ended)
                    tickets += 1
                    tid = f"MT-TKT-{tickets:04d}"
                    assignments.append((tid, maid, "maint", c.owner.owner_id, c.owner.dataset_name, "ticket",
                                        "data_return", day, day))
                    t = at(day, 13 + rng.random() * 3)
                    ms = db.session("maint_admin", addr, "psql", t)
                    db.audit(ms, t + timedelta(seconds=30), "READ", "SELECT", c.owner.schema_table,
                             f"COPY (SELECT * FROM {c.owner.schema_table} WHERE campaign_id = '{c.cid}') "
                             f"TO '/srv/return/{c.cid}.csv' WITH CSV HEADER")
                    db.close(ms, t + timedelta(seconds=rng.randint(60, 300)))
            if maid != insider and rng.random() < 0.03:  # night incident work: small reads, after hours
                o = rng.choice(w.owners)
                t = at(day, 20 + rng.random() * 2)
                ns = db.session("maint_admin", addr, "psql", t)
                db.audit(ns, t + timedelta(seconds=40), "READ", "SELECT", o.schema_table,
                         f"SELECT * FROM {o.schema_table} WHERE updated_at > now() - interval '1 day' LIMIT 100")
                db.close(ns, t + timedelta(seconds=rng.randint(120, 1500)))
            if maid != insider and rng.random() < 0.03:
                t = at(day, 11 + rng.random() * 4)
                w.device += [(t, maid, term, "Connect", "E:\\;E:\\patches"),
                             (t + timedelta(minutes=5), maid, term, "Disconnect", "")]
                w.files.append((t + timedelta(minutes=1), maid, term, "E:\\patches\\hotfix.msi", "File Open",
                                False, True, "MSI installer"))
            if maid != insider and rng.random() < 0.015:   # server logs for the vendor: no personal data
                t = at(day, 15 + rng.random() * 2)
                w.device += [(t, maid, term, "Connect", "E:\\"), (t + timedelta(minutes=4), maid, term, "Disconnect", "")]
                w.files.append((t + timedelta(minutes=2), maid, term, f"E:\\pg_log_{day:%Y%m%d}.zip", "File Copy",
                                True, False, "zip archive"))

        # The insider pulls owners' tables in slices after hours, every week or so.
        due = day >= first_day and not (pulls and (day - date.fromisoformat(pulls[-1]["date"])).days
                                        < rng.randint(5, 10))
        if due:
            o = rng.choice(targets)
            size = min(rng.randint(150, 400), max(20, len(o.people) // 3))
            lo = offsets[o.owner_id]
            ids = [p.record_id for p in o.people[lo:lo + size]]
            if ids:
                offsets[o.owner_id] = lo + size
                _pull(w, db, rng, insider, iterm, iaddr, o, ids, day, pulls)
                stolen.setdefault(o.owner_id, []).extend(ids)
        w.flush(at(day + timedelta(1), 0))

    reg.update(actors=actors, accounts=accounts, terminals=terminals, assignments=assignments,
               assignment_subjects=subjects)
    w.ldap = ldap
    _leaks(w, rng, stolen, start)
    violations = [{"kind": "unapproved_subcontractor", "org": sub, "owner": sub_owner.owner_id,
                   "country": "CN", "first": sub_start.isoformat(), "actors": [a for a, _, _ in sub_actors]}]
    w.truth = {
        "bad_actors": [{"actor": insider, "kind": "bulk_exfiltration_usb", "first_bad_act": first_day.isoformat(),
                        "terminal": iterm, "address": iaddr, "db_role": "maint_admin"}],
        "pulls": pulls,
        "violations": violations,
        "stolen_records": sum(len(v) for v in stolen.values()),
    }
    return w, rng


def _backup(w: World, db: DbLog, rng: random.Random, day: date) -> None:
    """Nightly COPY of every owner's table from the backup server (a legitimate bulk export)."""
    bs = db.session("backup", BACKUP_ADDR, "pg_dump", at(day, 2.0))
    t = at(day, 2.0)
    for o in w.owners:
        t += timedelta(seconds=rng.randint(5, 40))
        db.audit(bs, t, "READ", "SELECT", o.schema_table, f"COPY {o.schema_table} TO stdout;")
    db.close(bs, t + timedelta(seconds=rng.randint(5, 30)))


def _pull(w: World, db: DbLog, rng: random.Random, insider: str, iterm: str, iaddr: str, o: OwnerData,
          ids: list[str], day: date, pulls: list[dict[str, Any]]) -> None:
    """One after-hours pull: COPY to his terminal (sometimes with auditing off), then to USB."""
    t = at(day, 19.5 + rng.random() * 2)
    logged = rng.random() >= 0.35
    ms = db.session("maint_admin", iaddr, "psql", t)
    if logged:
        # psql's \\copy sends COPY ... TO STDOUT; COPY takes no bind parameters, so the range is literal.
        db.audit(ms, t + timedelta(seconds=30), "READ", "SELECT", o.schema_table,
                 f"COPY (SELECT * FROM {o.schema_table} WHERE id BETWEEN '{ids[0]}' AND '{ids[-1]}') "
                 "TO STDOUT WITH CSV HEADER")
    # With SET pgaudit.log = 'none' first, the server writes nothing between login and logout.
    db.close(ms, t + timedelta(seconds=rng.randint(90, 600)))
    fname = f"C:\\Users\\{insider}\\work\\{o.owner_id}_{day:%Y%m%d}.csv"
    w.logon.append((t - timedelta(minutes=2), insider, iterm, "Logon"))
    w.files.append((t + timedelta(minutes=1), insider, iterm, fname, "File Write", False, False, "csv export"))
    tu = t + timedelta(minutes=rng.randint(12, 40))
    w.device += [(tu, insider, iterm, "Connect", "F:\\"), (tu + timedelta(minutes=3), insider, iterm, "Disconnect", "")]
    w.files.append((tu + timedelta(minutes=1), insider, iterm, f"F:\\{o.owner_id}_{day:%Y%m%d}.csv",
                    "File Copy", True, False, "csv export"))
    w.logon.append((tu + timedelta(minutes=10), insider, iterm, "Logoff"))
    pulls.append({"date": day.isoformat(), "time": t.isoformat(), "owner": o.owner_id, "rows": len(ids),
                  "first_id": ids[0], "last_id": ids[-1], "logged": logged, "usb": True})


def _leaks(w: World, rng: random.Random, stolen: dict[str, list[str]], start: date) -> None:
    """Brokers resell about 60% of the stolen rows as up to two lists, each mixing owners."""
    by_owner = {o.owner_id: o for o in w.owners}
    stolen_owners = sorted(stolen)
    for k in range(min(2, len(stolen_owners))):
        chosen = stolen_owners[k::2]
        people = []
        for oid in chosen:
            ppl = {p.record_id: p for p in by_owner[oid].people}
            ids = stolen[oid]
            people += [(oid, ppl[i]) for i in sorted(rng.sample(ids, max(1, int(len(ids) * 0.6))))]
        # Brokers merge lists from other sources: rows no owner here holds (never attributable).
        strangers = make_people(rng, f"EXT{k}", max(5, len(people) // 10), "愛知県", "", start)
        people += [("", p) for p in strangers]
        w.leaks.append(Leak(chosen, people))
