"""Rules engine: which breach-reporting duties an incident triggers, by when, and why.

Why rules as data (rules.yaml): the law changes (APPI 2022, the 2024 rule amendment) and
organisations add their own duties (contracts, ordinances); editing a reviewed YAML file with a
citation per rule is safer than editing code. Every obligation carries the triggers that fired,
their legal basis and a plain reason, so an officer can check the assessment, not just trust it.

Why three-valued logic: days after a leak, many facts are unknown. A rule over an unknown fact is
"unknown" unless the known facts already decide it (1,001 persons makes the size rule true even
while the categories are unknown). An unknown rule never silently becomes "not reportable": it
yields ``reportable: "unknown"`` and a question naming the fact and who can answer it. Facts
that can only *remove* a duty (high-level encryption) are assumed absent, and the assumption is
listed with its question.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from kansa.model.errors import KansaError
from kansa.respond.calendar import add_business_days, add_calendar_days, is_office_closed, nth_open_day
from kansa.respond.incident import Incident, category_flags
from kansa.respond.logic import Tri, both, either, holds, unknown_facts

# The 2024 amendment of Enforcement Rules Art. 7(3) (personal information being acquired, e.g. web
# skimming) applies from this day.
ACQUISITION_RULE_FROM = date(2024, 4, 1)


@dataclass(frozen=True)
class RuleSet:
    triggers: tuple[dict[str, Any], ...]
    obligations: tuple[dict[str, Any], ...]
    questions: dict[str, dict[str, str]]


@lru_cache(maxsize=1)
def load_rules() -> RuleSet:
    """The packaged rule set (kansa/respond/rules.yaml)."""
    text = resources.files("kansa.respond").joinpath("rules.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return RuleSet(tuple(data["triggers"]), tuple(data["obligations"]), dict(data["questions"]))


def facts_of(incident: Incident) -> dict[str, Any]:
    """The values conditions may read (True, False or None = unknown)."""
    high = incident.gdpr_high_risk
    if high is None:
        high = either([incident.sensitive, incident.property_damage, incident.wrongful_purpose])
    persons: int | None = incident.persons
    if persons is not None or incident.persons_upper is not None:
        # "発生したおそれがある" counts: a possible upper bound decides the thresholds.
        persons = max(persons or 0, incident.persons_upper or 0)
    return {
        "sensitive": incident.sensitive,
        "property_damage": incident.property_damage,
        "ordinance_sensitive": incident.ordinance_sensitive,
        "wrongful_purpose": incident.wrongful_purpose,
        "my_number": incident.my_number,
        "my_number_public": incident.my_number_public,
        "my_number_system": incident.my_number_system,
        "gdpr": incident.gdpr,
        "gdpr_unlikely_risk": incident.gdpr_unlikely_risk,
        "gdpr_high_risk": high,
        # an exemption: unknown → assumed absent (the conservative reading), listed as assumption
        "encrypted": bool(incident.encrypted),
        "being_acquired": incident.being_acquired,
        "acquisition_rule_in_force": incident.discovered_at.date() >= ACQUISITION_RULE_FROM,
        "persons": persons,
    }


def _applies(kinds: list[str], incident: Incident) -> tuple[Tri, list[str]]:
    """Whether a rule for ``kinds`` applies to the incident; unknown while sector/role are unknown."""
    possible = incident.possible_kinds
    if possible <= set(kinds):
        return True, []
    if not possible & set(kinds):
        return False, []
    missing = [f for f, v in (("sector", incident.sector), ("role", incident.role)) if v is None]
    return None, missing


def _deadline(spec: dict[str, Any], incident: Incident, today: date, wrongful: Tri) -> dict[str, Any]:
    """The due day (or time) of one obligation, and how it was computed in English and Japanese."""
    kind = spec["kind"]
    start: datetime = incident.discovered_at
    out: dict[str, Any] = {"kind": kind, "note_ja": spec.get("note_ja", ""), "note_en": spec.get("note_en", "")}
    due: date | None = None
    learned = start.date().isoformat()
    first = incident.first_day_counts
    en: list[str] = []
    ja: list[str] = []
    if kind == "calendar_days":
        days = int(spec["days"])
        if "days_if_wrongful" in spec and wrongful is True:
            days = int(spec["days_if_wrongful"])
        offset = days - 1 if first else days
        plain = start.date() + timedelta(days=offset)
        roll = bool(spec.get("roll_to_open_day"))
        due = add_calendar_days(start.date(), offset, roll_to_open_day=roll)
        out["days"] = days
        # Open days only where the law says "promptly" and the day count is the guideline's reading
        # (about 3-5 days); a period the rules fix in days (確報 30/60) stays in calendar days.
        open_days = incident.business_days and spec.get("note_en", "").startswith("promptly")
        if open_days:
            plain = due = nth_open_day(start.date(), days, start_counts=first)
        if first:
            en.append(f"learned {learned}; the day of learning counts as day 1 (PPC guideline 3-5-3-4)")
            ja.append(f"知った日 {learned}（知った日を1日目として算入・ガイドライン3-5-3-4）")
        else:
            en.append(f"learned {learned}; the day of learning not counted (counting.first_day_counts: false, "
                      "the Civil Code Art. 140 reading)")
            ja.append(f"知った日 {learned}（初日不算入・民法第140条の読み方を選択）")
        if open_days:
            en.append(f"open day {days} = {plain.isoformat()} (counting.business_days: true, the organisation's "
                      "choice for 'promptly'; the guideline's days are read as calendar days by default)")
            ja.append(f"{days}開庁日目 ＝ {plain.isoformat()}（counting.business_days: true。「速やかに」の目安を"
                      "開庁日で数える組織の選択。既定は暦日）")
        elif first:
            en.append(f"calendar day {days} = {plain.isoformat()}")
            ja.append(f"{days}日目（暦日）＝ {plain.isoformat()}")
        else:
            en.append(f"+ {days} calendar days = {plain.isoformat()}")
            ja.append(f"＋{days}日（暦日）＝ {plain.isoformat()}")
        if "days_if_wrongful" in spec and wrongful is True:
            en.append(f"{days} days because the wrongful-purpose kind applies")
            ja.append(f"不正目的のおそれの事態のため{days}日")
        elif "days_if_wrongful" in spec and wrongful is None:
            en.append(f"{days} days assumed (the earlier date) while a wrongful purpose is unknown — "
                      f"{spec['days_if_wrongful']} if it is confirmed")
            ja.append(f"不正目的か未確認のため早い方の{days}日で表示（確認されれば{spec['days_if_wrongful']}日）")
        if roll and due != plain:
            out["rolled_from"] = plain.isoformat()
            en.append(f"{plain.isoformat()} is a closed day (weekend, holiday or 12/29–1/3) → next open day {due.isoformat()}")
            ja.append(f"{plain.isoformat()} は閉庁日（土日・祝日・12/29～1/3）のため翌開庁日 {due.isoformat()}")
        if spec.get("note_en", "").startswith("promptly"):
            en.append("the law says 'promptly': this date is the guideline's outer bound, earlier is expected")
            ja.append("法令上は「速やかに」：この日付はガイドラインの目安の上限で、より早い対応が求められる")
    elif kind == "business_days":
        days = int(spec["days"])
        due = add_business_days(start.date(), days)
        out["days"] = days
        en.append(f"learned {learned}; + {days} open days (weekends, holidays and 12/29–1/3 skipped) = {due.isoformat()}")
        ja.append(f"知った日 {learned}＋{days}開庁日（土日・祝日・12/29～1/3を除く）＝ {due.isoformat()}")
    elif kind == "hours":
        due_at = start + timedelta(hours=int(spec["hours"]))
        out["due_at"] = due_at.isoformat()
        due = due_at.date()
        en.append(f"aware at {start.isoformat()} + {spec['hours']} hours = {due_at.isoformat()}")
        ja.append(f"認識した時点 {start.isoformat()}＋{spec['hours']}時間 ＝ {due_at.isoformat()}")
        if start.time() == datetime.min.time():
            en.append("a date without time is read as 00:00, the earliest reading")
            ja.append("時刻の記載がないため0時（最も早い読み方）とした")
    elif kind == "asap":
        en.append("no fixed day: promptly / without undue delay — do it now")
        ja.append("期日の定めなし：速やかに（直ちに着手）")
    else:
        raise ValueError(f"unknown deadline kind {kind!r}")
    out["due"] = due.isoformat() if due else None
    out["days_left"] = (due - today).days if due else None
    out["overdue"] = bool(due and due < today)
    out["closed_day"] = bool(due and is_office_closed(due))
    out["how_computed"] = "; ".join(en)
    out["how_computed_ja"] = "；".join(ja)
    return out


# Not a statutory duty of the entrustee: kansa advises it when an entrustor likely must report.
ADVISED_NOTICE = {"kind": "calendar_days", "days": 5, "note_ja": "速やかに", "note_en": "promptly"}

# Questions name the key of the incident file that answers them (the engine's fact → the key).
INCIDENT_KEY = {"wrongful_purpose": "cause", "gdpr": "jurisdictions"}

# Facts asked only once the fact before them is known (their obligations stay listed under it).
_FOLLOW_UPS = {"my_number": ("my_number_system", "my_number_public"), "gdpr": ("gdpr_role", "gdpr_high_risk")}

# Facts read from the category list: while no categories are given, ask for the list once.
_CATEGORY_FACTS = frozenset({"sensitive", "property_damage", "ordinance_sensitive", "my_number"})


def _question(rules: RuleSet, fact: str, because: list[str]) -> dict[str, Any]:
    q = rules.questions.get(fact, {"ja": fact, "en": fact, "who": "担当者 / the officer"})
    return {
        "fact": fact, "question_ja": q["ja"], "question_en": q["en"], "who": q["who"], "because": because,
        "text": f"unknown: ask {q['who']} — {q['en']} ({fact})",
    }


def _law_applies(rule: dict[str, Any], incident: Incident) -> bool:
    """Japanese rules (appi., admin., mynumber.) apply unless the jurisdictions leave APPI out."""
    return incident.appi or rule["id"].startswith("gdpr.")


def _reportable(rules: RuleSet, incident: Incident, facts: dict[str, Any]) -> bool | str:
    """True/False when every kind the organisation may be (sector/role unknown) agrees, else "unknown".

    A business and a public body both report 1 person's sensitive data: the answer is then
    known although the sector is not.
    """
    conds = {t["id"]: (set(t["kinds"]), holds(t["when"], facts) if _law_applies(t, incident) else False)
             for t in rules.triggers}
    per_kind: list[Tri] = []
    for kind in sorted(incident.possible_kinds):
        values: list[Tri] = []
        for o in rules.obligations:
            if not o.get("report") or kind not in o["kinds"]:
                continue
            role_ok: Tri = True
            if "gdpr_role" in o:
                role_ok = None if incident.gdpr_role is None else o["gdpr_role"] == incident.gdpr_role
            fired = either([c for tid in o["if_any"] for kinds, c in [conds[tid]] if kind in kinds])
            values.append(both([role_ok, fired]))
        per_kind.append(either(values))
    if all(v is True for v in per_kind):
        return True
    if all(v is False for v in per_kind):
        return False
    return "unknown"


def entrustor_duties(incident: Incident, today: date) -> list[dict[str, Any]]:
    """For an entrustee: each entrustor's own likely duty, assessed as that entrustor (a controller
    of its sector) with the persons matched to its data. Helps the entrustor act fast; it decides.

    Rows whose owner is unknown (persons_upper − persons) are not added to any one entrustor.
    """
    if incident.role != "entrustee":
        return []
    out: list[dict[str, Any]] = []
    for e in incident.entrustor_details:
        own = replace(incident, sector=e["sector"], role="controller", persons=e["persons"], persons_upper=None,
                      entrustors=(), entrustor_details=(), owners=(), gdpr_role="controller")
        if incident.categories_from == "registry" and e.get("categories") is not None:
            # what may have leaked from this entrustor's own datasets, not from everyone's
            cats = tuple(e["categories"])
            f = category_flags(cats)
            own = replace(own, categories=cats, sensitive=f["sensitive"], property_damage=f["property_damage"],
                          ordinance_sensitive=f["ordinance_sensitive"], my_number=f["my_number"])
        r = assess_incident(own, today)
        out.append({
            "name": e["name"], "org_id": e.get("org_id"), "sector": e["sector"], "persons": e["persons"],
            "reportable": r["reportable"], "grounds": [g["trigger"] for g in r["grounds"]],
            "why_ja": [g["why_ja"] for g in r["grounds"]], "why_en": [g["why_en"] for g in r["grounds"]],
            "unknown": [q["fact"] for q in r["questions"]],
        })
    return out


def _evaluate_triggers(rules: RuleSet, incident: Incident, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """Every trigger that may apply, met True/False/None, with the unknown facts it waits for."""
    out: list[dict[str, Any]] = []
    for t in rules.triggers:
        applies, missing = _applies(t["kinds"], incident)
        if applies is False or not _law_applies(t, incident):
            continue
        cond = holds(t["when"], facts)
        met = both([applies, cond])
        unknown = (missing if applies is None else []) + (unknown_facts(t["when"], facts) if cond is None else [])
        out.append({"id": t["id"], "met": met, "basis": t["basis"], "why_ja": t["why_ja"], "why_en": t["why_en"],
                    "unknown": unknown if met is None else []})
    return out


def _ground(t: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": t["id"], "basis": t["basis"], "why_ja": t["why_ja"], "why_en": t["why_en"]}


def _obligations(rules: RuleSet, incident: Incident, today: date, triggers: list[dict[str, Any]],
                 duties: list[dict[str, Any]], asks: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Obligations whose triggers fired (required) or may fire (unknown); records what to ask."""
    met_of: dict[str, Tri] = {t["id"]: t["met"] for t in triggers}
    out: list[dict[str, Any]] = []
    for o in rules.obligations:
        applies, missing = _applies(o["kinds"], incident)
        role_ok: Tri = True
        if "gdpr_role" in o:
            role_ok = None if incident.gdpr_role is None else o["gdpr_role"] == incident.gdpr_role
            if role_ok is None:
                missing = [*missing, "gdpr_role"]
        status = both([applies, role_ok, either([met_of.get(tid, False) for tid in o["if_any"]])])
        if status is False:
            continue
        because = [t for t in triggers if t["met"] is True and t["id"] in o["if_any"]]
        pending = [t for t in triggers if t["met"] is None and t["id"] in o["if_any"]]
        if status is None:
            for f in missing if (applies is None or role_ok is None) else []:
                asks.setdefault(f, []).append(o["id"])
            for t in pending:
                for f in t["unknown"]:
                    asks.setdefault(f, []).append(o["id"])
        wrongful = met_of.get(o["deadline"].get("wrongful_trigger", ""), False)
        if status is True and wrongful is None:
            asks.setdefault("wrongful_purpose", []).append(o["id"])  # decides 30 or 60 days
        deadline = _deadline(o["deadline"], incident, today, wrongful)
        to_entrustor = "notify_entrustor" in o["id"]
        out.append({
            "id": o["id"], "kind": o["id"].split(".", 1)[1], "status": "required" if status else "unknown",
            "report": bool(o.get("report")), "to": o["to"],
            "recipients": list(incident.entrustors) if to_entrustor else [],
            "entrustor_duties": duties if to_entrustor else [],
            "title_ja": o["title_ja"], "title_en": o["title_en"], "basis": o["basis"],
            "due": deadline.get("due_at") or deadline["due"], "how_computed": deadline["how_computed"],
            "how_computed_ja": deadline["how_computed_ja"], "deadline": deadline,
            "because": [_ground(t) for t in because],
            "pending": [{"trigger": t["id"], "basis": t["basis"], "unknown": t["unknown"]} for t in pending],
        })
    return out


def _advised_notice(incident: Incident, today: date, duties: list[dict[str, Any]],
                    obligations: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A notice kansa advises (not a statutory duty of the entrustee) to entrustors that likely must report."""
    likely = [d["name"] for d in duties if d["reportable"] is True]
    if not likely or any(o["kind"] == "notify_entrustor" and o["status"] == "required" for o in obligations):
        return None
    deadline = _deadline(ADVISED_NOTICE, incident, today, False)
    return {
        "id": "advice.notify_entrustor", "kind": "notify_entrustor", "status": "advised", "report": False,
        "to": "委託元 / the entrusting organisation", "recipients": likely, "entrustor_duties": duties,
        "title_ja": "委託元への通知（推奨：委託元自身に報告義務の見込み）",
        "title_en": "Notify the entrustors that likely must report (advised)",
        "basis": "委託契約上の通知条項; 委託元の義務（個人情報保護法 第26条・第68条）は委託元が知った時から進行",
        "due": deadline["due"], "how_computed": deadline["how_computed"],
        "how_computed_ja": deadline["how_computed_ja"], "deadline": deadline,
        "because": [{"trigger": f"entrustor:{n}", "basis": "entrustor_duties", "why_ja": f"{n} は報告対象の見込み",
                     "why_en": f"{n} likely has to report"} for n in likely],
        "pending": [],
    }


def _questions(rules: RuleSet, incident: Incident, asks: dict[str, list[str]],
               obligations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One question per incident-file key whose answer could change a duty or a deadline."""
    if incident.role == "entrustee" and not incident.entrustors \
            and any(o["kind"] == "notify_entrustor" for o in obligations):
        asks.setdefault("entrustors", []).append("appi.notify_entrustor")
    # follow-up questions wait for the question that decides whether they matter at all: "was the
    # My Number data in a My Number system?" means nothing before "does the data include My Number?"
    for gate, follow_ups in _FOLLOW_UPS.items():
        if gate in asks:
            for f in follow_ups:
                asks[gate].extend(asks.pop(f, []))
    if incident.categories is None:  # ask for the list once, not for each kind of item
        for f in _CATEGORY_FACTS & set(asks):
            asks.setdefault("categories", []).extend(asks.pop(f))
    named: dict[str, list[str]] = {}
    for f, ids in asks.items():
        named.setdefault(INCIDENT_KEY.get(f, f), []).extend(ids)
    return [_question(rules, f, sorted(set(ids))) for f, ids in named.items()]


def _assumptions(rules: RuleSet, incident: Incident, obligations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Facts the engine assumes, always in the direction that keeps a duty, each with its question."""
    out: list[dict[str, Any]] = []
    if incident.encrypted is None and obligations:
        out.append({"fact": "encrypted", "assumed": False,
                    "why_en": "high-level encryption only removes duties; until confirmed it is assumed absent",
                    "why_ja": "高度な暗号化は義務を免除する事情のため、確認できるまで「なし」とみなす",
                    "question": _question(rules, "encrypted", [o["id"] for o in obligations])})
    if incident.jurisdictions_given is False:
        out.append({"fact": "jurisdictions", "assumed": ["appi"],
                    "why_en": "APPI is assumed to apply to personal data handled in Japan; GDPR is asked",
                    "why_ja": "日本国内で取り扱う個人情報には個人情報保護法が適用されるものとみなす（GDPRは確認）",
                    "question": _question(rules, "jurisdictions", [])})
    return out


def _notes(incident: Incident, obligations: list[dict[str, Any]], duties: list[dict[str, Any]],
           reportable: bool | str) -> list[str]:
    notes: list[str] = []
    if any(o["kind"] == "notify_entrustor" for o in obligations):
        who = "、".join(incident.entrustors) or "（委託元を特定してください / name the entrustors）"
        notes.append(f"委託先は委託元（{who}）へ通知すれば委員会報告・本人通知の義務を免れる (APPI Art. 26(1) proviso); "
                     "each entrustor must then assess and report itself.")
    for d in duties:
        if d["reportable"] is True:
            persons = "?" if d["persons"] is None else f"{d['persons']:,}"
            notes.append(f"{d['name']} ({d['sector']}, {persons} persons matched to its data) will likely have to "
                         f"report itself ({', '.join(d['grounds'])}): notify it now even where this organisation's own "
                         "duty is not triggered — contracts usually require it, and it cannot meet its deadline unaware.")
    if not obligations:
        notes.append("No statutory report triggered on the facts given; record the incident and keep evidence. "
                     "法定の報告義務は発生していません（記録・証拠保全は継続）。")
    if reportable == "unknown":
        notes.append("Reportability depends on facts not known yet: answer the questions, then assess again. "
                     "判定に必要な事実が未確認です。質問に回答のうえ再判定してください。")
    return notes


def assess_incident(incident: Incident, today: date) -> dict[str, Any]:
    """Evaluate every rule against ``incident`` as of ``today``."""
    if today < incident.discovered_at.date():
        raise KansaError(
            f"--today {today.isoformat()} is before discovered_at {incident.discovered_at.date().isoformat()}"
        )
    rules = load_rules()
    facts = facts_of(incident)
    triggers = _evaluate_triggers(rules, incident, facts)
    duties = entrustor_duties(incident, today)
    asks: dict[str, list[str]] = {}
    obligations = _obligations(rules, incident, today, triggers, duties, asks)
    questions = _questions(rules, incident, asks, obligations)
    assumptions = _assumptions(rules, incident, obligations)
    advised = _advised_notice(incident, today, duties, obligations)
    if advised is not None:
        obligations.append(advised)
    reportable = _reportable(rules, incident, facts)
    return {
        "incident": incident.to_dict(),
        "today": today.isoformat(),
        "reportable": reportable,
        "action_required": True if any(o["status"] in ("required", "advised") for o in obligations)
        else ("unknown" if obligations else False),
        "grounds": [_ground(t) for t in triggers if t["met"] is True],
        "questions": questions,
        "assumptions": assumptions,
        "triggers": triggers,
        "obligations": obligations,
        "entrustor_duties": duties,
        "overdue": [o["id"] for o in obligations if o["deadline"]["overdue"]],
        "notes": _notes(incident, obligations, duties, reportable),
        "disclaimer": "kansa drafts; a person decides. kansaは下書きを作成し、判断は担当者が行います。",
    }
