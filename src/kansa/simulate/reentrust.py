"""Scenario "reentrust": a data-entry contractor passes an owner's work to a firm no contract allows.

Facts it models (seed case): data entry entrusted by public bodies and companies was re-entrusted
without the owner's approval to other firms, one of them abroad. Here a BPO firm keys in paper
forms (applications, claims) for four owners. Its own typists, agency temps placed with it, and
two approved subcontractors (one domestic, one offshore, each allowed by some owners' contracts;
one approval only starts at a contract renewal) all work legitimately — so "not our employee" or
"abroad" alone cries wolf. From some day on, staff of an unapproved firm abroad (a side contract
with the BPO exists, the owner's contract does not allow it) get batches of one owner's forms
through the same system, with assignments, in their own time zone and on Japanese holidays. Only
the contract chain says they should not be there; truth.json lists each of them as a bad actor.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from kansa.simulate.people import make_people
from kansa.simulate.timeline import AppDb, DbLog, at, workdays
from kansa.simulate.world import OwnerData, World

BPO = "bpo_keihan"
AGENCY = "haken_kinki"
APPROVED_JP = "sub_okayama"
APPROVED_ABROAD = "sub_manila"
APP_ADDR = "10.40.0.10"
BACKUP_ADDR = "10.40.0.20"
RECORD_SCALE_CAP = 2.5

# owner_id, name, name_en, sector, prefecture, city prefix, table, dataset, id column, categories, form
OWNERS: tuple[tuple[str, str, str, str, str, str, str, str, str, tuple[str, ...], str], ...] = (
    ("city_takatsuki", "高槻市", "Takatsuki City", "public_body", "大阪府", "高槻市", "kokuho", "kokuho-shinsei",
     "被保険者番号", ("basic", "health"), "国民健康保険 異動届"),
    ("pref_nara", "奈良県", "Nara Prefecture", "public_body", "奈良県", "", "subsidy", "subsidy-applications",
     "申請番号", ("basic", "financial"), "補助金申請書"),
    ("co_midori_life", "みどり生命保険株式会社", "Midori Life", "business", "兵庫県", "", "claims", "claims",
     "証券番号", ("basic", "financial", "health"), "保険金請求書"),
    ("co_kinki_credit", "近畿クレジット株式会社", "Kinki Credit", "business", "京都府", "", "applications",
     "card-applications", "申込番号", ("basic", "financial"), "カード入会申込書"),
)

# Unapproved firms abroad: id, name, name_en, country, hours ahead of their clock in Japan, own closed days.
ROGUES: tuple[tuple[str, str, str, str, int, tuple[tuple[date, date], ...]], ...] = (
    ("sub_dalian", "大連数据録入有限公司", "Dalian Data Entry Co.", "CN", 1,
     ((date(2024, 2, 10), date(2024, 2, 17)), (date(2024, 4, 4), date(2024, 4, 6)), (date(2024, 5, 1), date(2024, 5, 5)))),
    ("sub_hanoi", "ハノイ・データ・ソリューションズ", "Hanoi Data Solutions", "VN", 2,
     ((date(2024, 2, 8), date(2024, 2, 14)), (date(2024, 4, 18), date(2024, 4, 18)), (date(2024, 4, 30), date(2024, 5, 1)))),
)


@dataclass
class Staff:
    aid: str
    org: str
    terminal: str
    addr: str
    owners: list[str]      # whose forms this person keys in
    start: date            # first day of work on them
    offset_h: int = 0      # their clock is this many hours behind Japan's
    abroad: bool = False
    rogue: bool = False


def _closed_abroad(d: date, holidays: tuple[tuple[date, date], ...]) -> bool:
    return d.weekday() >= 5 or any(a <= d <= b for a, b in holidays)


def build(seed: int, days: int, scale: float, out: Path, start: date = date(2024, 1, 1)) -> tuple[World, random.Random]:
    rng = random.Random(seed)
    end = start + timedelta(days - 1)
    w = World("reentrust", seed, "Asia/Tokyo", start, end, out)
    reg = w.registry
    days_worked = workdays(start, days)
    worked = set(days_worked)
    rogue_id, rogue_name, rogue_en, rogue_country, rogue_offset, rogue_holidays = rng.choice(ROGUES)
    reg["organisations"] = [
        (BPO, "京阪ビジネスプロセス株式会社", "Keihan Business Process", "entrustee", "business", "JP"),
        (AGENCY, "近畿人材派遣株式会社", "Kinki Staffing", "staffing_agency", "business", "JP"),
        (APPROVED_JP, "岡山データセンター株式会社", "Okayama Data Center", "subcontractor", "business", "JP"),
        (APPROVED_ABROAD, "マニラ・エンコーディング社", "Manila Encoding Inc.", "subcontractor", "business", "PH"),
        (rogue_id, rogue_name, rogue_en, "subcontractor", "business", rogue_country),
    ]
    record_scale = min(scale, RECORD_SCALE_CAP)
    for k, (oid, name, en, sector, pref, city, table, ds, idcol, cats, _form) in enumerate(OWNERS):
        n = max(150, int(3000 * record_scale * rng.uniform(0.7, 1.3)))
        w.owners.append(OwnerData(oid, name, f"{oid}.{table}", ds, idcol, list(cats),
                                  make_people(rng, f"R{k + 1:02d}", n, pref, city, start), pref, city,
                                  halfwidth_kana=k == 3, previous_version=k == 0,
                                  file_format=("cp932", "xlsx", "utf-8", "cp932")[k]))
        reg["organisations"].append((oid, name, en, "owner", sector, "JP"))
    by_id = {o.owner_id: o for o in w.owners}

    # Contracts. Midori Life allows the domestic subcontractor, Kinki Credit the offshore one; Nara's
    # contract is renewed mid-period and only the renewal allows the domestic subcontractor.
    renewal = days_worked[min(len(days_worked) - 1, rng.randint(len(days_worked) // 3, 2 * len(days_worked) // 3))]
    terms = ["no_removable_media", "onsite_only", "subcontracting_needs_written_approval"]
    reg["contracts"] = [
        ("C-city_takatsuki", "city_takatsuki", BPO, ["city_takatsuki"], ["basic", "health"], ["data_entry"], [],
         start - timedelta(400), None, terms),
        ("C-pref_nara-1", "pref_nara", BPO, ["pref_nara"], ["basic", "financial"], ["data_entry"], [],
         start - timedelta(700), renewal - timedelta(1), terms),
        ("C-pref_nara-2", "pref_nara", BPO, ["pref_nara"], ["basic", "financial"], ["data_entry"], [APPROVED_JP],
         renewal, None, terms),
        ("C-co_midori_life", "co_midori_life", BPO, ["co_midori_life"], ["basic", "financial", "health"],
         ["data_entry"], [APPROVED_JP], start - timedelta(300), None, terms),
        ("C-co_kinki_credit", "co_kinki_credit", BPO, ["co_kinki_credit"], ["basic", "financial"], ["data_entry"],
         [APPROVED_ABROAD], start - timedelta(500), None, terms),
        (f"C-{BPO}-{APPROVED_JP}", BPO, APPROVED_JP, ["co_midori_life", "pref_nara"], ["basic"], ["data_entry"], [],
         start - timedelta(300), None, terms),
        (f"C-{BPO}-{APPROVED_ABROAD}", BPO, APPROVED_ABROAD, ["co_kinki_credit"], ["basic"], ["data_entry"], [],
         start - timedelta(500), None, terms),
    ]
    # The rogue: one owner none of whose contracts allows it; a side contract with the BPO only.
    victim = rng.choice(["city_takatsuki", "pref_nara", "co_midori_life"])
    rogue_day = days_worked[min(len(days_worked) - 1, rng.randint(len(days_worked) // 4, len(days_worked) // 2))]
    reg["contracts"].append((f"C-{BPO}-{rogue_id}", BPO, rogue_id, [victim], ["basic"], ["data_entry"], [],
                             rogue_day - timedelta(rng.randint(3, 20)), None, []))

    staff: list[Staff] = []
    owner_ids = [o.owner_id for o in w.owners]
    n_own = max(4, int(10 * scale))
    for i in range(1, n_own + 1):
        staff.append(Staff(f"kp{i:03d}", BPO, f"BPO-PC-{i:03d}", f"10.40.{2 + i // 240}.{i % 240 + 10}",
                           [owner_ids[(i - 1) % len(owner_ids)]], start))
    for i in range(1, max(2, int(4 * scale)) + 1):
        staff.append(Staff(f"hk{i:03d}", AGENCY, f"BPO-PC-H{i:02d}", f"10.40.3.{i + 10}",
                           [owner_ids[(i - 1) % len(owner_ids)]], start))
    for i in range(1, max(2, int(3 * scale)) + 1):
        nara_from = renewal + timedelta(rng.randint(0, 5))
        staff.append(Staff(f"ok{i:02d}", APPROVED_JP, f"OKY-PC-{i:02d}", f"172.20.1.{i + 10}", ["co_midori_life"],
                           start))
        if i == 1:   # after the renewal one of them also keys in Nara's forms
            staff.append(Staff(f"ok{i:02d}", APPROVED_JP, f"OKY-PC-{i:02d}", f"172.20.1.{i + 10}", ["pref_nara"],
                               nara_from))
    for i in range(1, max(2, int(3 * scale)) + 1):
        staff.append(Staff(f"mn{i:02d}", APPROVED_ABROAD, f"MNL-VPN-{i:02d}", f"10.88.1.{i + 10}",
                           ["co_kinki_credit"], start, offset_h=1, abroad=True))
    n_rogue = rng.randint(3, 5)
    rogue_prefix = rogue_id.split("_")[1][:2]
    for i in range(1, n_rogue + 1):
        first = rogue_day if i == 1 else rogue_day + timedelta(rng.randint(0, 12))
        staff.append(Staff(f"{rogue_prefix}{i:02d}", rogue_id, f"VPN-{rogue_prefix.upper()}-{i:02d}",
                           f"10.88.7.{i + 10}", [victim], first, offset_h=rogue_offset, abroad=True, rogue=True))

    people = {s.aid: s for s in staff}
    actors: list[tuple[Any, ...]] = []
    accounts: list[tuple[Any, ...]] = []
    terminals: list[tuple[Any, ...]] = []
    for aid in sorted(people):
        s = people[aid]
        placed = BPO if s.org == AGENCY else None
        valid_from = min(x.start for x in staff if x.aid == aid) - timedelta(rng.randint(2, 400 if not s.rogue else 10))
        actors.append((aid, f"入力担当{aid}", "data_entry", s.org, placed, f"entry-{s.owners[0]}", False, valid_from, None))
        accounts.append(("app", aid, aid, False))
        if s.org in (BPO, AGENCY):
            accounts.append(("endpoint", aid, aid, False))
        terminals.append((s.terminal, s.addr, aid, "大阪本社" if s.org in (BPO, AGENCY) else s.org))
        if s.org in (BPO, AGENCY):
            w.ldap.append((f"入力担当{aid}", aid, f"{aid}@keihan-bpo.example", "data_entry", "", "BPO", "入力",
                           "データ入力", f"entry-{s.owners[0]}", "sv01"))
    for k in (1, 2):
        qa = f"qa{k:02d}"
        actors.append((qa, f"品質管理{k:02d}", "checker", BPO, None, "qa", False, start - timedelta(900), None))
        accounts += [("app", qa, qa, False), ("endpoint", qa, qa, False)]
        terminals.append((f"BPO-QA-{k:02d}", f"10.40.5.{k + 10}", qa, "大阪本社"))
    actors.append(("sv01", "入力センター長", "supervisor", BPO, None, "supervisors", False, start - timedelta(2000), None))
    accounts += [("app", "sv01", "sv01", False), ("endpoint", "sv01", "sv01", False)]
    terminals.append(("BPO-SV-01", "10.40.5.30", "sv01", "大阪本社"))
    actors += [("svc-entry", "入力システム", "service", BPO, None, "system", False, None, None),
               ("svc-backup", "バックアップ", "service", BPO, None, "system", True, None, None)]
    accounts += [("db", "entry_app", "svc-entry", False), ("db", "backup", "svc-backup", False)]
    terminals += [("ENTRY-APP-01", APP_ADDR, "svc-entry", "データセンター"),
                  ("BKP-01", BACKUP_ADDR, "svc-backup", "データセンター")]
    assignments: list[tuple[Any, ...]] = [
        (f"QA-{o}", f"qa{k % 2 + 1:02d}", "qa", o, by_id[o].dataset_name, "duty", "quality_check", start, None)
        for k, o in enumerate(owner_ids)]
    assignments.append(("SV-DUTY", "sv01", "supervisors", None, None, "duty", "data_entry", start - timedelta(400), None))
    subjects: list[tuple[Any, ...]] = []

    db = DbLog(w, rng, database="entry")
    appdb = AppDb(w, db, rng, "entry_app", APP_ADDR, "entry-app", {o.owner_id: o.schema_table for o in w.owners})
    batch_no = 0
    first_touch: dict[str, date] = {}
    to_deliver: dict[str, set[str]] = {}    # entered since the last delivery to the owner
    for day in (start + timedelta(k) for k in range(days)):
        japan_open = day in worked
        rush = 1.4 if (day + timedelta(7)).month != day.month else 1.0   # month-end deadlines
        if day.month == 3:
            rush *= 1.2                                                  # fiscal year end
        appdb.open_day(day, hour=7.5)   # the app's pool connects every day, worked or not
        for s in staff:
            w.spill_if_large()
            if day < s.start or rng.random() < 0.07:
                continue
            if s.abroad and _closed_abroad(day, rogue_holidays if s.rogue else ()):
                continue
            if not s.abroad and not japan_open:
                continue
            owner = by_id[s.owners[0]]
            # A batch of forms, assigned to this typist for today.
            batch_no += 1
            size = max(3, int(rng.randint(12, 25) * rush * (0.7 if s.abroad else 1.0)))
            forms = sorted(p.record_id for p in rng.sample(owner.people, min(size, len(owner.people))))
            bid = f"BATCH-{owner.owner_id}-{day:%Y%m%d}-{batch_no:05d}"
            assignments.append((bid, s.aid, f"entry-{owner.owner_id}", owner.owner_id, owner.dataset_name, "batch",
                                "data_entry", day, day))
            subjects += [(bid, owner.owner_id, r) for r in forms]
            late = rush > 1.0 and not s.abroad and rng.random() < 0.3
            t = at(day, 9.0 + s.offset_h + rng.random() * 0.3)
            t_end = at(day, (20.5 if late else 17.5) + s.offset_h + rng.random() * 0.5)
            if s.org in (BPO, AGENCY):
                w.logon += [(t - timedelta(minutes=4), s.aid, s.terminal, "Logon"), (t_end, s.aid, s.terminal, "Logoff")]
            base = {"actor": s.aid, "resource": owner.schema_table.replace(".", "/"), "owner": owner.owner_id,
                    "purpose": "data_entry", "ticket": bid, "terminal": s.terminal, "source_ip": s.addr,
                    "outcome": "success", "system": "entry"}
            for rid in forms:
                t += timedelta(seconds=rng.randint(40, 300))
                if t >= t_end:
                    break
                if s.rogue:
                    first_touch.setdefault(s.aid, day)
                appdb.event({**base, "time": t, "action": "view", "subjects": [rid], "rows": 1, "bytes": 4096},
                            f"SELECT * FROM {owner.schema_table} WHERE id = $1", rid)
                t += timedelta(seconds=rng.randint(60, 420))
                appdb.event({**base, "time": t, "action": "update", "subjects": [rid], "rows": 1, "bytes": 1200},
                            f"UPDATE {owner.schema_table} SET form_data = $1, entered_by = $2 WHERE id = $3",
                            ["<form>", s.aid, rid], "WRITE", "UPDATE")
                to_deliver.setdefault(owner.owner_id, set()).add(rid)
                if rng.random() < 0.05:   # a duplicate application? search by kana
                    t += timedelta(seconds=rng.randint(20, 90))
                    hits = sorted({rid, *(p.record_id for p in rng.sample(owner.people, 2))})
                    appdb.event({**base, "time": t, "action": "search", "subjects": hits, "rows": len(hits),
                                 "bytes": 2048 * len(hits)},
                                f"SELECT * FROM {owner.schema_table} WHERE kana LIKE $1", "%")
        if japan_open:
            # Quality checkers re-open a sample of yesterday's entries; the supervisor sends each
            # owner the day's completed forms (a legitimate bulk export).
            for k, o in enumerate(owner_ids):
                qa = f"qa{k % 2 + 1:02d}"
                for _ in range(rng.randint(3, 8)):
                    rid = rng.choice(by_id[o].people).record_id
                    appdb.event({"time": at(day, 10 + rng.random() * 6), "actor": qa, "action": "view",
                                 "resource": by_id[o].schema_table.replace(".", "/"), "owner": o, "subjects": [rid],
                                 "rows": 1, "purpose": "quality_check", "ticket": f"QA-{o}",
                                 "terminal": f"BPO-QA-{k % 2 + 1:02d}", "source_ip": f"10.40.5.{k % 2 + 11}",
                                 "outcome": "success", "bytes": 4096, "system": "entry"},
                                f"SELECT * FROM {by_id[o].schema_table} WHERE id = $1", rid)
            for qa_k in (1, 2):
                w.logon += [(at(day, 9.4), f"qa{qa_k:02d}", f"BPO-QA-{qa_k:02d}", "Logon"),
                            (at(day, 17.8), f"qa{qa_k:02d}", f"BPO-QA-{qa_k:02d}", "Logoff")]
            w.logon += [(at(day, 8.9), "sv01", "BPO-SV-01", "Logon"), (at(day, 18.6), "sv01", "BPO-SV-01", "Logoff")]
            if day.weekday() == 4 or (day + timedelta(3)).month != day.month:
                for o in owner_ids:
                    done = sorted(to_deliver.pop(o, set()))
                    if done:
                        appdb.event({"time": at(day, 17.0 + rng.random() * 0.5), "actor": "sv01", "action": "export",
                                     "resource": by_id[o].schema_table.replace(".", "/"), "owner": o,
                                     "subjects": done, "rows": len(done), "purpose": "delivery",
                                     "ticket": "SV-DUTY", "terminal": "BPO-SV-01", "source_ip": "10.40.5.30",
                                     "outcome": "success", "bytes": 1500 * len(done), "system": "entry"},
                                    f"SELECT * FROM {by_id[o].schema_table} WHERE id = ANY($1)", "{...}")
        appdb.close_day(day, hour=21.8)
        bs = db.session("backup", BACKUP_ADDR, "pg_dump", at(day, 2.0))
        tb = at(day, 2.0)
        for od in w.owners:
            tb += timedelta(seconds=rng.randint(5, 40))
            db.audit(bs, tb, "READ", "SELECT", od.schema_table, f"COPY {od.schema_table} TO stdout;")
        db.close(bs, tb + timedelta(seconds=10))
        w.flush(at(day + timedelta(1), 0))

    reg.update(actors=actors, accounts=accounts, terminals=terminals, assignments=assignments,
               assignment_subjects=subjects)
    rogues = sorted({s.aid for s in staff if s.rogue})
    w.truth = {
        "bad_actors": [{"actor": a, "kind": "unapproved_subcontractor", "first_bad_act": first_touch[a].isoformat(),
                        "org": rogue_id, "owner": victim, "country": rogue_country}
                       for a in rogues if a in first_touch],
        "violations": [],
        "subcontracting": [
            {"org": rogue_id, "owner": victim, "country": rogue_country, "approved": False,
             "from": rogue_day.isoformat()},
            {"org": APPROVED_JP, "owner": "co_midori_life", "country": "JP", "approved": True,
             "from": start.isoformat()},
            {"org": APPROVED_JP, "owner": "pref_nara", "country": "JP", "approved": True,
             "from": renewal.isoformat()},
            {"org": APPROVED_ABROAD, "owner": "co_kinki_credit", "country": "PH", "approved": True,
             "from": start.isoformat()},
        ],
    }
    return w, rng
