"""Scenario "suginami": a ward clerk who looks up residents unrelated to his work.

Facts it models (seed case): clerks at a ward office's counter handle applications (tickets), each
about one household; to serve a ticket they search the resident registry and view or print the
residents it names. One clerk, from some day on, also searches and views residents no ticket of
his names (acquaintances, people in the news), again and again, during ordinary hours. Honest
clerks sometimes look someone up without a ticket too (phone enquiries), so a detector must judge
rates and patterns, not single lines. No data leaves the building; the harm is the looking.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from kansa.simulate.people import make_people
from kansa.simulate.timeline import DbLog, at, workdays
from kansa.simulate.world import OwnerData, World

OWNER = "ward_suginami"
APP_ADDR = "10.30.0.10"


def build(seed: int, days: int, scale: float, out: Path, start: date = date(2024, 1, 1)) -> tuple[World, random.Random]:
    rng = random.Random(seed)
    end = start + timedelta(days - 1)
    w = World("suginami", seed, "Asia/Tokyo", start, end, out)
    reg = w.registry
    people = make_people(rng, "SGN", max(300, int(4000 * scale)), "東京都", "杉並区", start)
    owner = OwnerData(OWNER, "杉並区", f"{OWNER}.resident", "resident-registry", "住民番号",
                      ["basic", "resident_registry"], people, "東京都", "杉並区", previous_version=True)
    w.owners.append(owner)
    reg["organisations"] = [(OWNER, "杉並区", "Suginami City", "owner", "public_body", "JP")]
    reg["contracts"] = []

    n_clerks = max(6, int(16 * scale))
    clerks = [f"clerk{i:02d}" for i in range(1, n_clerks + 1)]
    actors: list[tuple[Any, ...]] = []
    accounts: list[tuple[Any, ...]] = []
    terminals: list[tuple[Any, ...]] = []
    for i, cid in enumerate(clerks, 1):
        actors.append((cid, f"区民課職員{i:02d}", "clerk", OWNER, None, "kumin-ka", False, start - timedelta(700), None))
        accounts += [("app", cid, cid, False), ("endpoint", cid, cid, False)]
        terminals.append((f"SGN-PC-{i:02d}", f"10.30.2.{i + 10}", cid, "区役所 区民課"))
        w.ldap.append((f"区民課職員{i:02d}", cid, f"{cid}@city.suginami.example", "clerk", "",
                       "杉並区", "区民生活部", "区民課", "kumin-ka", "clerk01"))
    actors.append(("svc-juki", "住記システム", "service", OWNER, None, "system", False, None, None))
    accounts.append(("db", "juki_app", "svc-juki", False))
    terminals.append(("JUKI-APP-01", APP_ADDR, "svc-juki", "庁舎サーバ室"))
    reg.update(actors=actors, accounts=accounts, terminals=terminals)

    bad = rng.choice(clerks)
    days_worked = workdays(start, days)
    first_bad = days_worked[rng.randint(len(days_worked) // 5, max(len(days_worked) // 5, len(days_worked) // 3))]
    interests = rng.sample(people, 12)

    assignments: list[tuple[Any, ...]] = []
    subjects: list[tuple[Any, ...]] = []
    lookups: list[dict[str, Any]] = []
    db = DbLog(w, rng, database="juki")
    table = owner.schema_table
    resource = table.replace(".", "/")

    def access(t: Any, cid: str, action: str, subj: list[str], ticket: str | None, term: str, addr: str,
               session: dict[str, Any]) -> None:
        w.app.append({"time": t, "actor": cid, "action": action, "resource": resource, "owner": OWNER,
                      "subjects": subj, "rows": len(subj), "purpose": "counter" if ticket else None,
                      "ticket": ticket, "terminal": term, "source_ip": addr, "outcome": "success",
                      "bytes": 1800 * len(subj), "system": "juki"})
        sql = (f"SELECT * FROM {table} WHERE id = $1" if action in ("view", "print")
               else f"SELECT * FROM {table} WHERE kana LIKE $1")
        param = subj[0] if action in ("view", "print") else "%"
        db.audit(session, t + timedelta(milliseconds=rng.randint(5, 90)), "READ", "SELECT", table, sql, param)

    for day in days_worked:
        session = db.session("juki_app", APP_ADDR, "juki-app", at(day, 8.25))
        for i, cid in enumerate(clerks, 1):
            w.spill_if_large()
            if rng.random() < 0.07:
                continue
            term, addr = f"SGN-PC-{i:02d}", f"10.30.2.{i + 10}"
            t0, t1 = at(day, 8.5 + rng.random() * 0.3), at(day, 17.25 + rng.random())
            w.logon += [(t0, cid, term, "Logon"), (t1, cid, term, "Logoff")]
            t = t0
            todays: list[str] = []
            for k in range(rng.randint(6, 14)):
                t += timedelta(seconds=rng.randint(600, 2400))
                if t >= t1:
                    break
                ticket = f"TKT-{day:%Y%m%d}-{i:02d}{k:02d}"
                todays.append(ticket)
                household = rng.sample(people, rng.randint(1, 3))
                hids = sorted(p.record_id for p in household)
                assignments.append((ticket, cid, "kumin-ka", OWNER, owner.dataset_name, "ticket",
                                    rng.choice(["住民票の写し", "転入届", "転出届", "印鑑登録"]), day, day))
                subjects += [(ticket, OWNER, s) for s in hids]
                candidates = sorted({*hids, *(p.record_id for p in rng.sample(people, rng.randint(1, 5)))})
                access(t, cid, "search", candidates, ticket, term, addr, session)
                for s in hids:
                    t += timedelta(seconds=rng.randint(20, 120))
                    access(t, cid, "view", [s], ticket, term, addr, session)
                if rng.random() < 0.5:
                    t += timedelta(seconds=rng.randint(30, 200))
                    access(t, cid, "print", [hids[0]], ticket, term, addr, session)
            if rng.random() < 0.04:  # honest phone enquiry: a look-up without a ticket
                tp = at(day, 10 + rng.random() * 6)
                access(tp, cid, "view", [rng.choice(people).record_id], None, term, addr, session)
            if cid == bad and day >= first_bad and (day == first_bad or rng.random() < 0.45):
                for _ in range(rng.randint(1, 3)):
                    target = rng.choice(interests) if rng.random() < 0.7 else rng.choice(people)
                    tb = at(day, rng.choice([12.1, 12.5, 16.8, 17.0]) + rng.random() * 0.2)
                    # Sometimes he files the look-up under one of his own tickets of the day as cover.
                    cover = rng.choice(todays) if todays and rng.random() < 0.3 else None
                    access(tb, cid, "search", [target.record_id], cover, term, addr, session)
                    access(tb + timedelta(seconds=rng.randint(10, 60)), cid, "view", [target.record_id], cover,
                           term, addr, session)
                    lookups.append({"time": tb.isoformat(timespec="milliseconds"), "subject": target.record_id,
                                    "ticket": cover})
        db.close(session, at(day, 19.5 + rng.random()))
        w.flush(at(day + timedelta(1), 0))
    reg.update(assignments=assignments, assignment_subjects=subjects)
    w.truth = {
        "bad_actors": [{"actor": bad, "kind": "unrelated_lookup", "first_bad_act": first_bad.isoformat(),
                        "terminal": f"SGN-PC-{clerks.index(bad) + 1:02d}"}],
        "lookups": sorted(lookups, key=lambda x: x["time"]),
    }
    return w, rng
