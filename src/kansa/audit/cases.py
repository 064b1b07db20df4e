"""Cases: all findings about one actor, read as one story, and the analyst's decisions on them.

Detectors fire per rule and day; an auditor reads people. Forty no-task findings and a USB copy
by the same maintainer are one case to open, with one severity, one risk score, the day it was
first knowable, and every detector's figures side by side. Decisions are taken on cases (or on
single findings): a confirmation or a dismissal is appended to the triage history and sealed in
the ledger (``kansa.ledger.journal``), so nobody can quietly make an alert disappear; a dismissal
must give its reason and creates a suppression that expires, so a benign pattern stops alerting
for a while but not for ever.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from kansa.audit.store import ensure_tables
from kansa.ledger import journal
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace

SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
SUPPRESSION_DAYS = 90  # a quarter: the period internal audit reviews run on; then it must be re-decided
EVIDENCE_LIMIT = 200
SERIES_MARGIN_DAYS = 14  # activity shown before the first finding, for the timeline


def case_id(actor: str) -> str:
    return "C-" + hashlib.sha256(actor.encode("utf-8")).hexdigest()[:10]


def _who(actor: str | None, key: str) -> str:
    return actor if actor else f"?{key}"


def _findings(ws: Workspace, include_suppressed: bool) -> list[dict[str, Any]]:
    cur = ws.con.execute(
        "SELECT f.finding_id, f.rule, f.actor_id, f.day, f.score, f.severity, f.reason_ja, f.reason_en, f.detail, "
        "coalesce(f.key, '') AS key, f.suppressed_by, "
        "coalesce((SELECT arg_max(t.verdict, t.ts) FROM triage t WHERE t.finding_id = f.finding_id), 'open') "
        "AS verdict FROM findings f"
        + ("" if include_suppressed else " WHERE f.suppressed_by IS NULL")
        + " ORDER BY f.day, f.rule, f.finding_id"
    )
    cols = [d[0] for d in cur.description or []]
    out = []
    for row in cur.fetchall():
        item = dict(zip(cols, row, strict=True))
        item["detail"] = json.loads(item["detail"]) if item["detail"] else {}
        out.append(item)
    return out


def _case_verdict(ws: Workspace, cid: str, items: list[dict[str, Any]]) -> str:
    row = ws.con.execute("SELECT arg_max(verdict, ts) FROM triage WHERE finding_id = ?", [cid]).fetchone()
    if row and row[0]:
        return str(row[0])
    verdicts = {str(f["verdict"]) for f in items}
    return verdicts.pop() if len(verdicts) == 1 else "open"


def _build(ws: Workspace, who: str, items: list[dict[str, Any]], full: bool) -> dict[str, Any]:
    actor = items[0]["actor_id"]
    cid = case_id(who)
    info = ws.con.execute("SELECT role, org_id, team FROM actors WHERE actor_id = ?", [actor]).fetchone()
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in items:
        by_rule[str(f["rule"])].append(f)
    detectors = []
    for rule, fs in by_rule.items():
        top = max(fs, key=lambda f: float(f["score"]))
        detectors.append({
            "rule": rule,
            "findings": len(fs),
            "first_day": min(f["day"] for f in fs),
            "last_day": max(f["day"] for f in fs),
            "max_score": float(top["score"]),
            "severity": min((str(f["severity"]) for f in fs), key=lambda s: SEVERITY_RANK.get(s, 3)),
            "figures": top["detail"],
            "reason_ja": top["reason_ja"],
            "reason_en": top["reason_en"],
        })
    detectors.sort(key=lambda d: (SEVERITY_RANK.get(d["severity"], 3), str(d["first_day"])))
    severity = detectors[0]["severity"]
    # agreeing detectors add up: each contributes its strongest figure once
    risk = round(sum(d["max_score"] for d in detectors), 2)
    first, last = min(f["day"] for f in items), max(f["day"] for f in items)
    rules_s = ", ".join(d["rule"] for d in detectors)
    name = actor or who
    case: dict[str, Any] = {
        "case_id": cid,
        "actor_id": actor,
        "who": who,
        "role": info[0] if info else None,
        "org_id": info[1] if info else None,
        "team": info[2] if info else None,
        "severity": severity,
        "risk_score": risk,
        "detected_at": first,
        "last_day": last,
        "findings": len(items),
        "detectors": detectors,
        "verdict": _case_verdict(ws, cid, items),
        "explanation_ja": (
            f"{name}: {first} から {last} までに {len(detectors)} 種の検知({rules_s})で所見 {len(items)} 件。"
            f"最も重い根拠: {detectors[0]['reason_ja']}"
        ),
        "explanation_en": (
            f"{name}: {len(items)} finding(s) from {len(detectors)} detector(s) ({rules_s}) between {first} "
            f"and {last}. Strongest: {detectors[0]['reason_en']}"
        ),
        "finding_ids": [f["finding_id"] for f in items],
    }
    ids = [str(f["finding_id"]) for f in items]
    ev = ws.con.execute(
        "SELECT kind, list(DISTINCT event_id ORDER BY event_id) FROM finding_evidence "
        "WHERE list_contains(?, finding_id) GROUP BY kind",
        [ids],
    ).fetchall()
    evidence = {str(k): [int(e) for e in v] for k, v in ev}
    acc = evidence.get("access", [])
    row = ws.con.execute(
        "SELECT count(DISTINCT (coalesce(x.owner_id, e.owner_id), x.subject_id)) FROM access_events e "
        "JOIN access_subjects x USING (event_id) WHERE list_contains(?, e.event_id)",
        [acc],
    ).fetchone()
    owners = {
        str(o) for (o,) in ws.con.execute(
            "SELECT DISTINCT owner_id FROM access_events WHERE owner_id IS NOT NULL AND list_contains(?, event_id)",
            [acc],
        ).fetchall()
    }
    for f in items:
        for k in ("owner", "owners"):
            v = f["detail"].get(k)
            owners.update([str(v)] if isinstance(v, str) else [str(x) for x in v or []] if isinstance(v, list) else [])
    case["subjects"] = int(row[0]) if row else 0
    case["owners"] = sorted(owners)
    case["evidence"] = {k: v[:EVIDENCE_LIMIT] for k, v in evidence.items()}
    case["evidence_counts"] = {k: len(v) for k, v in evidence.items()}
    if full:
        case["series"] = _series(ws, actor, items, first, last)
        case["finding_list"] = [
            {k: f[k] for k in ("finding_id", "rule", "day", "score", "severity", "reason_ja", "reason_en", "verdict")}
            for f in items
        ]
    return case


def _series(ws: Workspace, actor: str | None, items: list[dict[str, Any]], first: date, last: date) -> list[dict[str, Any]]:
    """Per day from two weeks before the first finding to the last: activity and findings."""
    lo = first - timedelta(days=SERIES_MARGIN_DAYS)
    days: dict[date, dict[str, Any]] = {}
    d = lo
    while d <= last:
        days[d] = {"day": d, "events": 0, "rows": 0, "removable_writes": 0, "findings": 0, "rules": []}
        d += timedelta(days=1)
    if actor is not None:
        for day, n, rows in ws.con.execute(
            "SELECT CAST(ts AS DATE), count(*), sum(coalesce(row_count, 1)) FROM access_events "
            "WHERE actor_id = ? AND CAST(ts AS DATE) BETWEEN ? AND ? GROUP BY ALL",
            [actor, lo, last],
        ).fetchall():
            days[day]["events"], days[day]["rows"] = int(n), int(rows or 0)
        for day, n in ws.con.execute(
            "SELECT CAST(x.ts AS DATE), count(*) FROM endpoint_events x "
            "LEFT JOIN accounts a ON a.system = 'endpoint' AND a.account = x.account "
            "WHERE coalesce(x.actor_id, a.actor_id) = ? AND coalesce(x.to_removable, FALSE) "
            "AND CAST(x.ts AS DATE) BETWEEN ? AND ? GROUP BY ALL",
            [actor, lo, last],
        ).fetchall():
            days[day]["removable_writes"] = int(n)
    for f in items:
        slot = days[f["day"]]
        slot["findings"] += 1
        if f["rule"] not in slot["rules"]:
            slot["rules"].append(f["rule"])
    return list(days.values())


def _grouped(ws: Workspace, include_suppressed: bool) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in _findings(ws, include_suppressed):
        groups[_who(f["actor_id"], str(f["key"]))].append(f)
    return groups


def list_cases(
    ws: Workspace, include_closed: bool = False, actor: str | None = None, full: bool = False
) -> list[dict[str, Any]]:
    """One case per actor, most severe and riskiest first.

    Closed cases (dismissed or benign) and suppressed findings are left out unless ``include_closed``.
    """
    ensure_tables(ws)
    out = []
    for who, items in _grouped(ws, include_closed).items():
        if actor is not None and who != actor:
            continue
        case = _build(ws, who, items, full)
        if not include_closed and case["verdict"] in ("dismissed", "benign"):
            continue
        out.append(case)
    out.sort(key=lambda c: (SEVERITY_RANK.get(c["severity"], 3), -c["risk_score"], str(c["detected_at"]), c["who"]))
    return out


def show_case(ws: Workspace, target: str) -> dict[str, Any]:
    """A case (by case id, actor id or one of its finding ids) with its series, findings and decisions."""
    ensure_tables(ws)
    groups = _grouped(ws, include_suppressed=True)
    for who, items in groups.items():
        if target in (case_id(who), who) or any(f["finding_id"] == target for f in items):
            case = _build(ws, who, items, full=True)
            rows = ws.con.execute(
                "SELECT finding_id, ts, verdict, note, by_user FROM triage "
                "WHERE finding_id = ? OR list_contains(?, finding_id) ORDER BY ts",
                [case["case_id"], case["finding_ids"]],
            ).fetchall()
            case["decisions"] = [dict(zip(("target", "ts", "verdict", "note", "by"), r, strict=True)) for r in rows]
            sup = ws.con.execute(
                "SELECT suppression_id, rule, key, expires, note, by_user, ledger_leaf FROM suppressions "
                "WHERE actor_id = ? ORDER BY created_at",
                [case["actor_id"] or who],
            ).fetchall()
            case["suppressions"] = [
                dict(zip(("suppression_id", "rule", "key", "expires", "note", "by", "ledger_leaf"), r, strict=True))
                for r in sup
            ]
            return case
    raise KansaError(f"no case or finding {target!r} (run `kansa findings list` to see them)")


def _resolve(ws: Workspace, target: str) -> tuple[str, str | None, list[dict[str, Any]]]:
    """(case id or finding id, actor, findings concerned) for a decision on ``target``."""
    groups = _grouped(ws, include_suppressed=True)
    for who, items in groups.items():
        if target in (case_id(who), who):
            return case_id(who), items[0]["actor_id"], items
        hit = [f for f in items if f["finding_id"] == target]
        if hit:
            return target, hit[0]["actor_id"], hit
    raise KansaError(f"no case or finding {target!r} (run `kansa findings list` to see them)")


def _record(ws: Workspace, ids: list[str], verdict: str, note: str | None, by: str | None) -> None:
    now = datetime.now(ws.timezone)
    ws.con.executemany("INSERT INTO triage VALUES (?, ?, ?, ?, ?)", [(i, now, verdict, note, by) for i in ids])


def confirm(ws: Workspace, target: str, note: str | None = None, by: str | None = None) -> dict[str, Any]:
    """Confirm a case or finding as a real problem; sealed in the ledger."""
    ensure_tables(ws)
    tid, actor, items = _resolve(ws, target)
    ids = [str(f["finding_id"]) for f in items]
    _record(ws, sorted({tid, *ids}), "confirmed", note, by)
    leaf = journal(ws, "audit.confirm", {"target": tid, "actor": actor, "findings": ids, "note": note},
                   actor=by or "unknown")
    return {"target": tid, "verdict": "confirmed", "findings": len(ids), "ledger_leaf": leaf}


def dismiss(
    ws: Workspace, target: str, note: str, by: str | None = None, days: int = SUPPRESSION_DAYS,
    today: date | None = None,
) -> dict[str, Any]:
    """Dismiss a case or finding with a reason: suppress its rules for this actor until an expiry.

    The findings stay stored (marked suppressed, shown with ``--all``); new findings of the same
    actor and rule (and key, for a single finding) about days up to the expiry are stored
    suppressed too. The decision and the suppression are sealed in the ledger.
    """
    ensure_tables(ws)
    if not note or not note.strip():
        raise KansaError("a dismissal needs a reason (--note): it is what a reviewer will read")
    if days < 1:
        raise KansaError(f"--days must be at least 1 (got {days})")
    tid, actor, items = _resolve(ws, target)
    if actor is None:
        raise KansaError(f"{target}: findings without a resolved actor cannot be suppressed; confirm or leave open")
    single = not tid.startswith("C-")
    start = today or datetime.now(ws.timezone).date()
    expires = start + timedelta(days=days)
    scopes = sorted({(str(f["rule"]), str(f["key"]) if single else None) for f in items}, key=str)
    ids = [str(f["finding_id"]) for f in items]
    payload = {"target": tid, "actor": actor, "findings": ids, "note": note, "expires": expires.isoformat(),
               "scopes": [{"rule": r, "key": k} for r, k in scopes]}
    leaf = journal(ws, "audit.dismiss", payload, actor=by or "unknown")
    now = datetime.now(ws.timezone)
    created = []
    con = ws.con
    con.execute("BEGIN TRANSACTION")
    try:
        for rule, key in scopes:
            sid = "S-" + hashlib.sha256(f"{tid}\x1f{rule}\x1f{key}\x1f{now.isoformat()}".encode()).hexdigest()[:12]
            con.execute("INSERT INTO suppressions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [sid, actor, rule, key, now, expires, note, by, leaf])
            con.execute(
                "UPDATE findings SET suppressed_by = ? WHERE actor_id = ? AND rule = ? AND (? IS NULL OR key = ?) "
                "AND day <= ? AND suppressed_by IS NULL",
                [sid, actor, rule, key, key, expires],
            )
            created.append(sid)
        _record(ws, sorted({tid, *ids}), "dismissed", note, by)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return {"target": tid, "verdict": "dismissed", "findings": len(ids), "suppressions": created,
            "expires": expires, "ledger_leaf": leaf}
