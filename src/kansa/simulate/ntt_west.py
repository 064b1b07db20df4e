"""Scenario "ntt-west": a call-centre contractor and a maintenance temp who sells lists.

Facts it models (seed case): a contractor runs call campaigns for several owners (prefectures,
cities, companies); operators look up the records of the campaign they are assigned to through the
call-centre app (which queries PostgreSQL as a service role). A system-maintenance temp placed by
an agency uses the shared DB admin role from his own terminal to COPY bulk rows out of several
owners' schemas after hours, sometimes switching auditing off first (`SET pgaudit.log = 'none'`),
then copies the files to a USB stick. Honest maintainers run small checks and VACUUMs, and a
backup service COPYs everything nightly from the backup server: the noise a detector must not flag.
Some of the stolen rows later surface as broker lists (leaks/).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from kansa.simulate.people import make_people
from kansa.simulate.timeline import DbLog, at, workdays
from kansa.simulate.world import Leak, OwnerData, World

CONTRACTOR = "cc_kansai"
AGENCY = "temp_staff"
APP_ADDR = "10.20.0.10"
BACKUP_ADDR = "10.20.0.20"

# owner_id, name, name_en, kind of body, prefecture, city prefix, id prefix, table, dataset, id column, categories
OWNERS: tuple[tuple[str, str, str, str, str, str, str, str, str, str, list[str]], ...] = (
    ("pref_osaka", "大阪府", "Osaka Prefecture", "public_body", "大阪府", "", "OSK", "taxpayer", "car-tax",
     "納税者番号", ["basic", "tax"]),
    ("city_kobe", "神戸市", "Kobe City", "public_body", "兵庫県", "神戸市", "KOB", "checkup", "health-check",
     "受診者番号", ["basic", "health"]),
    ("city_sakai", "堺市", "Sakai City", "public_body", "大阪府", "堺市", "SKI", "resident", "vaccination",
     "宛名番号", ["basic", "health"]),
    ("pref_kyoto", "京都府", "Kyoto Prefecture", "public_body", "京都府", "", "KYT", "applicant", "subsidy",
     "申請番号", ["basic", "financial"]),
    ("co_kansai_gas", "関西ガス株式会社", "Kansai Gas Co.", "business", "兵庫県", "", "KGS", "customer",
     "customers", "お客様番号", ["basic", "customer"]),
    ("co_nishi_life", "西日本生命保険株式会社", "Nishi-Nihon Life", "business", "大阪府", "", "NSL", "policyholder",
     "policyholders", "証券番号", ["basic", "financial"]),
)


def by_id(w: World, owner_id: str) -> OwnerData:
    return next(o for o in w.owners if o.owner_id == owner_id)


def build(seed: int, days: int, scale: float, start: date = date(2024, 1, 1)) -> tuple[World, random.Random]:
    rng = random.Random(seed)
    end = start + timedelta(days - 1)
    w = World("ntt-west", seed, "Asia/Tokyo", start, end)
    reg = w.registry
    n_records = max(200, int(2500 * scale))
    reg["organisations"] = [(CONTRACTOR, "関西コールサービス株式会社", "Kansai Call Service", "entrustee", "business", "JP"),
                            (AGENCY, "テンプスタッフ西日本", "Temp Staff West", "staffing_agency", "business", "JP")]
    for (oid, name, en, sector, pref, city, prefix, table, ds, idcol, cats) in OWNERS:
        reg["organisations"].append((oid, name, en, "owner", sector, "JP"))
        w.owners.append(OwnerData(oid, name, f"{oid}.{table}", ds, idcol, cats,
                                  make_people(rng, prefix, n_records, pref, city, start)))
        reg.setdefault("contracts", []).append(
            (f"C-{oid}", oid, CONTRACTOR, [oid], cats, ["call"], [], start, None,
             ["no_removable_media", "onsite_only"]))

    actors: list[tuple[Any, ...]] = []
    accounts: list[tuple[Any, ...]] = []
    terminals: list[tuple[Any, ...]] = []
    ldap: list[tuple[str, ...]] = []
    n_ops = max(6, int(30 * scale))
    ops: list[tuple[str, str, str, OwnerData]] = []   # actor, terminal, addr, owner
    for i in range(1, n_ops + 1):
        aid, owner = f"op{i:03d}", w.owners[(i - 1) % len(w.owners)]
        term, addr = f"CC-PC-{i:03d}", f"10.20.4.{i + 10}"
        ops.append((aid, term, addr, owner))
        actors.append((aid, f"オペレーター{i:03d}", "operator", CONTRACTOR, None, f"team-{owner.owner_id}",
                       False, start - timedelta(400), None))
        accounts += [("app", aid, aid, False), ("endpoint", aid, aid, False)]
        terminals.append((term, addr, aid, "大阪センター"))
        ldap.append((f"オペレーター{i:03d}", aid, f"{aid}@cc-kansai.example", "operator", owner.owner_id,
                     "コールセンター", "運用", "オペレーション", f"team-{owner.owner_id}", "sv001"))
    # Which maintainer is the insider, and who else came through the agency, varies by seed, so
    # that nothing downstream can key on a name, a terminal or "temp" alone.
    n_maint = rng.randint(3, 5)
    insider_no = rng.randint(1, n_maint)
    agency_nos = {insider_no, rng.randint(1, n_maint)}
    maint = [(f"mt{i:03d}", i in agency_nos) for i in range(1, n_maint + 1)]   # (actor, placed by agency)
    insider = f"mt{insider_no:03d}"
    for i, (aid, temp) in enumerate(maint, 1):
        term, addr = f"MNT-PC-{i:02d}", f"10.20.9.{i + 10}"
        actors.append((aid, f"保守担当{i:02d}", "maintainer", AGENCY if temp else CONTRACTOR,
                       CONTRACTOR if temp else None, "maint", True, start - timedelta(3000 if temp else 900), None))
        accounts.append(("endpoint", aid, aid, False))
        terminals.append((term, addr, aid, "大阪センター サーバ室"))
        ldap.append((f"保守担当{i:02d}", aid, f"{aid}@cc-kansai.example", "maintainer", "",
                     "システム", "保守", "基盤", "maint", "sv001"))
    actors.append(("sv001", "スーパーバイザー01", "supervisor", CONTRACTOR, None, "supervisors", False,
                   start - timedelta(1200), None))
    accounts += [("app", "sv001", "sv001", False), ("endpoint", "sv001", "sv001", False)]
    terminals.append(("CC-SV-001", "10.20.5.11", "sv001", "大阪センター"))
    ldap.append(("スーパーバイザー01", "sv001", "sv001@cc-kansai.example", "supervisor", "",
                 "コールセンター", "運用", "オペレーション", "supervisors", ""))
    actors += [("svc-callcenter", "コールセンターアプリ", "service", CONTRACTOR, None, "system", False, None, None),
               ("svc-backup", "バックアップ", "service", CONTRACTOR, None, "system", True, None, None)]
    accounts += [("db", "cc_app", "svc-callcenter", False), ("db", "backup", "svc-backup", False),
                 ("db", "maint_admin", None, True)]
    terminals += [("APP-01", APP_ADDR, "svc-callcenter", "データセンター"),
                  ("BKP-01", BACKUP_ADDR, "svc-backup", "データセンター")]
    reg.update(actors=actors, accounts=accounts, terminals=terminals)
    w.ldap = ldap

    # Campaigns: one per owner per month, with a call list the team works through.
    assignments: list[tuple[Any, ...]] = []
    subjects: list[tuple[Any, ...]] = []
    call_lists: dict[tuple[str, str], list[str]] = {}
    sv_days: set[date] = set()
    for o in w.owners:
        d = start
        while d <= end:
            month_end = min(end, (d.replace(day=28) + timedelta(4)).replace(day=1) - timedelta(1))
            aid = f"CAMP-{o.owner_id}-{d:%Y-%m}"
            assignments.append((aid, None, f"team-{o.owner_id}", o.owner_id, o.dataset_name, "campaign", "call",
                                d, month_end))
            lst = sorted(p.record_id for p in rng.sample(o.people, min(len(o.people), 400)))
            call_lists[(o.owner_id, f"{d:%Y-%m}")] = lst
            subjects += [(aid, o.owner_id, s) for s in lst]
            # The supervisor exports each campaign's call list on its first working day (legitimate bulk export).
            first = next((x for x in workdays(d, (month_end - d).days + 1)), None)
            if first is not None:
                t = at(first, 8.7 + rng.random() * 0.2)
                if first not in sv_days:
                    sv_days.add(first)
                    w.logon += [(t - timedelta(minutes=5), "sv001", "CC-SV-001", "Logon"),
                                (t + timedelta(hours=9), "sv001", "CC-SV-001", "Logoff")]
                w.app.append({"time": t, "actor": "sv001", "action": "export", "resource": o.schema_table.replace(".", "/"),
                              "owner": o.owner_id, "subjects": lst, "rows": len(lst), "purpose": "call",
                              "ticket": aid, "terminal": "CC-SV-001", "source_ip": "10.20.5.11",
                              "outcome": "success", "bytes": 300 * len(lst), "system": "callcenter"})
            d = month_end + timedelta(1)
    assignments.append(("SV-DUTY", "sv001", "supervisors", None, None, "duty", "call", start, None))
    assignments.append(("MAINT-DUTY", None, "maint", None, None, "maintenance", "maintenance", start, None))
    reg.update(assignments=assignments, assignment_subjects=subjects)

    db = DbLog(w, rng)
    days_worked = workdays(start, days)
    for day in days_worked:
        app_session = db.session("cc_app", APP_ADDR, "callcenter-app", at(day, 8.5))
        for aid, term, addr, o in ops:
            if rng.random() < 0.08:
                continue  # day off
            t0 = at(day, 9 + rng.random() * 0.4)
            t1 = at(day, 17.5 + rng.random())
            w.logon += [(t0 - timedelta(minutes=3), aid, term, "Logon"), (t1, aid, term, "Logoff")]
            lst = call_lists[(o.owner_id, f"{day:%Y-%m}")]
            campaign = f"CAMP-{o.owner_id}-{day:%Y-%m}"
            schema, table = o.schema_table.split(".")
            idcol = "id"
            t = t0
            for _ in range(rng.randint(10, 22)):
                t += timedelta(seconds=rng.randint(60, 1500))
                if t >= t1:
                    break
                if rng.random() < 0.8:
                    subj = [rng.choice(lst) if rng.random() < 0.97 else rng.choice(o.people).record_id]
                    action = "view"
                    sql = f"SELECT * FROM {o.schema_table} WHERE {idcol} = $1"
                else:
                    subj = sorted(rng.sample(lst, rng.randint(2, 8)))
                    action = "search"
                    sql = f"SELECT * FROM {o.schema_table} WHERE kana LIKE $1"
                w.app.append({"time": t, "actor": aid, "action": action, "resource": f"{schema}/{table}",
                              "owner": o.owner_id, "subjects": subj, "rows": len(subj), "purpose": "call",
                              "ticket": campaign, "terminal": term, "source_ip": addr, "outcome": "success",
                              "bytes": 2048 * len(subj), "system": "callcenter"})
                db.audit(app_session, t + timedelta(milliseconds=rng.randint(5, 80)), "READ", "SELECT",
                         o.schema_table, sql, ",".join(subj) if action == "view" else "カ%")
        # Nightly backup: COPY of every owner's table from the backup server (legitimate bulk export).
        bs = db.session("backup", BACKUP_ADDR, "pg_dump", at(day, 2.0))
        for k, o in enumerate(w.owners):
            db.audit(bs, at(day, 2.0 + 0.01 * (k + 1)), "READ", "SELECT", o.schema_table,
                     f"COPY {o.schema_table} TO stdout;")
        # Honest maintainers: small checks and vacuum during the day, from their own terminals.
        for mi, (maid, _temp) in enumerate(maint, 1):
            term, addr = f"MNT-PC-{mi:02d}", f"10.20.9.{mi + 10}"
            w.logon += [(at(day, 8.8 + rng.random() * 0.5), maid, term, "Logon"),
                        (at(day, 18 + rng.random()), maid, term, "Logoff")]
            if rng.random() < 0.5:
                o = rng.choice(w.owners)
                t = at(day, 10 + rng.random() * 6)
                ms = db.session("maint_admin", addr, "psql", t)
                db.audit(ms, t + timedelta(seconds=20), "READ", "SELECT", o.schema_table,
                         f"SELECT count(*) FROM {o.schema_table}")
                if rng.random() < 0.3:
                    db.audit(ms, t + timedelta(seconds=60), "MISC", "VACUUM", o.schema_table,
                             f"VACUUM ANALYZE {o.schema_table}")
            if maid != insider and rng.random() < 0.03:  # night incident work: small reads, after hours
                o = rng.choice(w.owners)
                t = at(day, 20 + rng.random() * 2)
                ns = db.session("maint_admin", addr, "psql", t)
                db.audit(ns, t + timedelta(seconds=40), "READ", "SELECT", o.schema_table,
                         f"SELECT * FROM {o.schema_table} WHERE updated_at > now() - interval '1 day' LIMIT 100")
            if maid != insider and rng.random() < 0.03:
                t = at(day, 11 + rng.random() * 4)
                w.device += [(t, maid, term, "Connect", "E:\\;E:\\patches"),
                             (t + timedelta(minutes=5), maid, term, "Disconnect", "")]
                w.files.append((t + timedelta(minutes=1), maid, term, "E:\\patches\\hotfix.msi", "File Open",
                                False, True, "MSI installer"))

    # Re-entrustment without approval: the contractor passes pref_kyoto's data entry to a firm
    # abroad. Its own side contract exists, but the owner's contract allows no subcontractors.
    sub, sub_owner = "de_dalian", by_id(w, "pref_kyoto")
    reg["organisations"].append((sub, "大連数据録入有限公司", "Dalian Data Entry", "subcontractor", "business", "CN"))
    sub_start = days_worked[min(len(days_worked) - 1, rng.randint(len(days_worked) // 4, len(days_worked) // 2))]
    reg["contracts"].append((f"C-{CONTRACTOR}-{sub}", CONTRACTOR, sub, [sub_owner.owner_id], ["basic"],
                             ["data_entry"], [], sub_start, None, []))
    entry_ids = iter(p.record_id for p in sub_owner.people)
    sub_actors = []
    for i in range(1, 4):
        aid, term, addr = f"de{i:02d}", f"DL-PC-{i:02d}", f"192.168.50.{i + 10}"
        sub_actors.append((aid, term, addr))
        reg["actors"].append((aid, f"入力担当{i:02d}", "data_entry", sub, None, "data-entry", False, sub_start, None))
        reg["accounts"].append(("app", aid, aid, False))
        reg["terminals"].append((term, addr, aid, "大連"))
    for day in days_worked:
        if day < sub_start:
            continue
        for aid, term, addr in sub_actors:
            t = at(day, 10 + rng.random())
            for _ in range(rng.randint(15, 30)):
                t += timedelta(seconds=rng.randint(60, 600))
                rid = next(entry_ids, None)
                if rid is None:
                    break
                w.app.append({"time": t, "actor": aid, "action": "update", "resource": "pref_kyoto/applicant",
                              "owner": sub_owner.owner_id, "subjects": [rid], "rows": 1, "purpose": "data_entry",
                              "terminal": term, "source_ip": addr, "outcome": "success", "bytes": 900,
                              "system": "callcenter"})
    violations = [{"kind": "unapproved_subcontractor", "org": sub, "owner": sub_owner.owner_id,
                   "country": "CN", "first": sub_start.isoformat(), "actors": [a for a, _, _ in sub_actors]}]

    # The insider pulls owners' tables in slices after hours, every week or so.
    iterm, iaddr = f"MNT-PC-{insider_no:02d}", f"10.20.9.{insider_no + 10}"
    first_day = days_worked[min(len(days_worked) - 1, rng.randint(3, 8))]
    pulls: list[dict[str, Any]] = []
    stolen: dict[str, list[str]] = {}
    offsets = {o.owner_id: 0 for o in w.owners}
    targets = rng.sample(w.owners, 4)
    for day in days_worked:
        if day < first_day or (pulls and (day - date.fromisoformat(pulls[-1]["date"])).days < rng.randint(5, 10)):
            continue
        o = rng.choice(targets)
        size = rng.randint(150, 400)
        lo = offsets[o.owner_id]
        ids = [p.record_id for p in o.people[lo:lo + size]]
        if not ids:
            continue
        offsets[o.owner_id] = lo + size
        t = at(day, 19.5 + rng.random() * 2)
        logged = rng.random() >= 0.35
        ms = db.session("maint_admin", iaddr, "psql", t)
        if not logged:
            db.audit(ms, t + timedelta(seconds=10), "MISC", "SET", "", "SET pgaudit.log = 'none'")
        else:
            db.audit(ms, t + timedelta(seconds=30), "READ", "SELECT", o.schema_table,
                     f"COPY (SELECT * FROM {o.schema_table} WHERE id BETWEEN $1 AND $2) TO STDOUT WITH CSV HEADER",
                     f"{ids[0]},{ids[-1]}")
        fname = f"C:\\Users\\{insider}\\work\\{o.owner_id}_{day:%Y%m%d}.csv"
        w.logon += [(t - timedelta(minutes=2), insider, iterm, "Logon")]
        w.files.append((t + timedelta(minutes=1), insider, iterm, fname, "File Write", False, False, "csv export"))
        tu = t + timedelta(minutes=rng.randint(5, 40))
        w.device += [(tu, insider, iterm, "Connect", "F:\\"),
                     (tu + timedelta(minutes=3), insider, iterm, "Disconnect", "")]
        w.files.append((tu + timedelta(minutes=1), insider, iterm, f"F:\\{o.owner_id}_{day:%Y%m%d}.csv",
                        "File Copy", True, False, "csv export"))
        w.logon.append((tu + timedelta(minutes=10), insider, iterm, "Logoff"))
        stolen.setdefault(o.owner_id, []).extend(ids)
        pulls.append({"date": day.isoformat(), "time": t.isoformat(), "owner": o.owner_id, "rows": len(ids),
                      "first_id": ids[0], "last_id": ids[-1], "logged": logged, "usb": True})

    # Brokers resell some of it: two lists, mixing owners.
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

    w.truth = {
        "bad_actors": [{"actor": insider, "kind": "bulk_exfiltration_usb", "first_bad_act": first_day.isoformat(),
                        "terminal": iterm, "address": iaddr, "db_role": "maint_admin"}],
        "pulls": pulls,
        "violations": violations,
        "stolen_records": sum(len(v) for v in stolen.values()),
    }
    return w, rng
