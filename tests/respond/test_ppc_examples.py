"""Table tests from the PPC's own examples and guidance, and GDPR Arts. 33/34.

Sources (see docs/respond.md): APPI Art. 26 and Enforcement Rules Arts. 7–10; the PPC guideline
(通則編) 3-5-3 examples and its "about 3–5 days" for 速報; PPC Q&A 6-12 (a card number alone
counts under Rule 7(2)); the 2024 amendment of Rule 7(3) (data being acquired, web skimming);
APPI Art. 68 and Rule 43 for public bodies (> 100 persons, 条例要配慮個人情報); the My Number
breach-report rule Art. 2; GDPR Arts. 33/34 (33(5): every breach is documented).
Each case: facts → reportable or not, on which grounds, which obligations, due dates.
The awareness day is Monday 2026-11-02 and counts as day 1 (guideline 3-5-3-4): 速報 day 5 =
11-06, 確報 day 30 = 12-01, day 60 = 12-31 (a closed day, 12/29–1/3) → 2027-01-04.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from kansa.respond import assess

TODAY = date(2026, 11, 3)
BUSINESS: dict[str, Any] = {
    "learned_at": "2026-11-02", "sector": "business", "role": "controller", "cause": "error",
    "jurisdictions": ["appi"], "encrypted": False, "categories": ["氏名"], "persons": 1,
}
PUBLIC = {**BUSINESS, "sector": "public_body"}
ENTRUSTEE = {**BUSINESS, "role": "entrustee", "entrustors": ["A県", "B市", "C損害保険"]}

PRE, FIN, NOTE = "appi.preliminary_report", "appi.final_report", "appi.notify_persons"
DOC = "gdpr.art33_5_document"  # every GDPR breach, notified or not

CASES: list[tuple[str, dict[str, Any], Any, set[str], dict[str, str]]] = [
    # (name, facts, reportable, grounds, {obligation: due ("" = no fixed day)})
    ("sensitive data of one person (health check results mis-sent)",
     {**BUSINESS, "categories": ["氏名", "健康診断"], "sensitive": True},
     True, {"appi.sensitive"}, {PRE: "2026-11-06", FIN: "2026-12-01", NOTE: ""}),
    ("names of 1,001 persons",
     {**BUSINESS, "persons": 1001},
     True, {"appi.over1000"}, {PRE: "2026-11-06", FIN: "2026-12-01", NOTE: ""}),
    ("names of exactly 1,000 persons: not more than 1,000",
     {**BUSINESS, "persons": 1000}, False, set(), {}),
    ("mis-sent e-mail to 1,000 persons, no sensitive data",
     {**BUSINESS, "persons": 1000, "categories": ["氏名", "メールアドレス"]}, False, set(), {}),
    ("card numbers with security code (property damage)",
     {**BUSINESS, "persons": 3, "categories": ["credit_card", "security_code"]},
     True, {"appi.property"}, {PRE: "2026-11-06", FIN: "2026-12-01", NOTE: ""}),
    ("a card number alone still counts (PPC Q&A 6-12)",
     {**BUSINESS, "categories": ["クレジットカード番号"]},
     True, {"appi.property"}, {PRE: "2026-11-06", FIN: "2026-12-01", NOTE: ""}),
    ("insider sells 10 customer records: wrongful purpose, final report in 60 days",
     {**BUSINESS, "persons": 10, "cause": "insider", "suspected": True},
     True, {"appi.wrongful"}, {PRE: "2026-11-06", FIN: "2027-01-04", NOTE: ""}),
    ("ransomware made 40 customers' records unrecoverable (毀損 by an attack)",
     {**BUSINESS, "persons": 40, "cause": "unauthorised_access"},
     True, {"appi.wrongful"}, {PRE: "2026-11-06", FIN: "2027-01-04", NOTE: ""}),
    ("documents with 10 persons' data stolen (theft)",
     {**BUSINESS, "persons": 10, "cause": "theft"},
     True, {"appi.wrongful"}, {PRE: "2026-11-06", FIN: "2027-01-04", NOTE: ""}),
    ("paper list of 1,500 persons lost on a train (loss, no wrongful act)",
     {**BUSINESS, "persons": 1500, "cause": "紛失"},
     True, {"appi.over1000"}, {PRE: "2026-11-06", FIN: "2026-12-01", NOTE: ""}),
    ("web skimming of data being entered (since April 2024)",
     {**BUSINESS, "persons": 50, "cause": "skimming", "being_acquired": True, "categories": ["credit_card"]},
     True, {"appi.wrongful"}, {PRE: "2026-11-06", FIN: "2027-01-04", NOTE: ""}),
    ("web skimming known before April 2024: data being acquired was not yet covered",
     {**BUSINESS, "learned_at": "2024-03-15", "persons": 50, "cause": "skimming", "being_acquired": True,
      "categories": ["credit_card"]}, False, set(), {}),
    ("data being acquired lost by error: only the wrongful-purpose kind covers it",
     {**BUSINESS, "persons": 5000, "being_acquired": True}, False, set(), {}),
    ("high-level encryption with the key safe: exempt even for sensitive data of many",
     {**BUSINESS, "persons": 5000, "categories": ["病歴"], "encrypted": True}, False, set(), {}),
    ("public body: 101 persons",
     {**PUBLIC, "persons": 101}, True, {"admin.over100"},
     {"admin.preliminary_report": "2026-11-06", "admin.final_report": "2026-12-01", "admin.notify_persons": ""}),
    ("public body: 100 persons is not more than 100",
     {**PUBLIC, "persons": 100}, False, set(), {}),
    ("public body: ordinance-defined sensitive data of one person",
     {**PUBLIC, "categories": ["条例要配慮個人情報"]}, True, {"admin.ordinance_sensitive"},
     {"admin.preliminary_report": "2026-11-06", "admin.final_report": "2026-12-01", "admin.notify_persons": ""}),
    ("public body: clerk browses the resident registry for private reasons (wrongful)",
     {**PUBLIC, "persons": 3, "cause": "insider"}, True, {"admin.wrongful"},
     {"admin.preliminary_report": "2026-11-06", "admin.final_report": "2027-01-04", "admin.notify_persons": ""}),
    ("entrustee (call-centre contractor) sold 9.28 million records: notify every entrustor",
     {**ENTRUSTEE, "persons": 9_280_000, "cause": "insider"}, False, {"appi.wrongful", "appi.over1000"},
     {"appi.notify_entrustor": "2026-11-06"}),
    ("entrustee: 500 names mis-sent, nothing to notify",
     {**ENTRUSTEE, "persons": 500}, False, set(), {}),
    ("My Number of 101 employees mis-sent",
     {**BUSINESS, "persons": 101, "categories": ["氏名", "マイナンバー"], "my_number_system": False,
      "my_number_public": False},
     True, {"mynumber.over100"},
     {"mynumber.preliminary_report": "2026-11-06", "mynumber.final_report": "2026-12-01",
      "mynumber.notify_persons": ""}),
    ("My Number of 100 employees, not in a My Number system, not public",
     {**BUSINESS, "persons": 100, "categories": ["マイナンバー"], "my_number_system": False,
      "my_number_public": False}, False, set(), {}),
    ("My Number of 5 persons put on a public web page by mistake (My Number rule Art. 2(3), PPC FAQ 17-10)",
     {**BUSINESS, "persons": 5, "categories": ["マイナンバー"], "my_number_system": False,
      "my_number_public": True},
     True, {"mynumber.public"},
     {"mynumber.preliminary_report": "2026-11-06", "mynumber.final_report": "2026-12-01",
      "mynumber.notify_persons": ""}),
    ("My Number of 3 employees taken by a clerk (wrongful purpose: My Number rule Art. 2(2) and APPI Rule 7(3))",
     {**BUSINESS, "persons": 3, "cause": "insider", "categories": ["マイナンバー"], "my_number_system": False,
      "my_number_public": False},
     True, {"mynumber.wrongful", "appi.wrongful"},
     {"mynumber.preliminary_report": "2026-11-06", "mynumber.final_report": "2027-01-04",
      "mynumber.notify_persons": "", PRE: "2026-11-06", FIN: "2027-01-04", NOTE: ""}),
    ("My Number file with high-level encryption, key safe, stolen: excluded (rule Art. 2(1) '以下同じ')",
     {**BUSINESS, "persons": 500, "cause": "theft", "categories": ["マイナンバー"], "encrypted": True,
      "my_number_system": False, "my_number_public": True}, False, set(), {}),
    ("entrustee with My Number data of 200 persons: notify the entrustor (Art. 29-4(1) proviso)",
     {**ENTRUSTEE, "persons": 200, "categories": ["マイナンバー"], "my_number_system": False,
      "my_number_public": False},
     False, {"mynumber.over100"}, {"mynumber.notify_entrustor": "2026-11-06"}),
    ("GDPR controller, health data: authority in 72 h and the data subjects",
     {**BUSINESS, "learned_at": "2026-11-02T09:00:00", "jurisdictions": ["gdpr"], "categories": ["health"]},
     True, {"gdpr.breach", "gdpr.risk", "gdpr.high_risk"},
     {"gdpr.art33_authority": "2026-11-05T09:00:00", "gdpr.art34_subjects": "", DOC: ""}),
    ("GDPR processor: tells the controller, not the authority",
     {**ENTRUSTEE, "jurisdictions": ["gdpr"], "gdpr_role": "processor"},
     False, {"gdpr.breach", "gdpr.risk"}, {"gdpr.art33_controller": ""}),
    ("GDPR breach unlikely to result in a risk: no notification, but documented (Art. 33(5))",
     {**BUSINESS, "jurisdictions": ["gdpr"], "gdpr_unlikely_risk": True}, False, {"gdpr.breach"}, {DOC: ""}),
    ("GDPR, encrypted beyond reading: authority yes, data subjects not (Art. 34(3)(a))",
     {**BUSINESS, "jurisdictions": ["gdpr"], "categories": ["health"], "encrypted": True},
     True, {"gdpr.breach", "gdpr.risk"}, {"gdpr.art33_authority": "2026-11-05T00:00:00", DOC: ""}),
]


@pytest.mark.parametrize(("name", "facts", "reportable", "grounds", "dues"), CASES, ids=[c[0] for c in CASES])
def test_ppc_example(name: str, facts: dict[str, Any], reportable: Any, grounds: set[str],
                     dues: dict[str, str]) -> None:
    r = assess(facts, TODAY)
    assert r["reportable"] is reportable, name
    assert {g["trigger"] for g in r["grounds"]} == grounds
    assert r["questions"] == []
    got = {o["id"]: o["due"] or "" for o in r["obligations"] if o["status"] == "required"}
    assert got == dues
    for o in r["obligations"]:
        assert o["how_computed"] and o["basis"]
        assert o["because"], "every required obligation says which ground made it so"


def test_entrustee_obligation_names_every_entrustor() -> None:
    r = assess({**ENTRUSTEE, "persons": 9_280_000, "cause": "insider"}, TODAY)
    ob = next(o for o in r["obligations"] if o["id"] == "appi.notify_entrustor")
    assert ob["recipients"] == ["A県", "B市", "C損害保険"]
    assert r["action_required"] is True
