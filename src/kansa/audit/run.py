"""Run the detectors over the workspace, store their findings, and read them back.

A run is causal and repeatable: ``until`` names the last local day audited, every detector sees
only events before the following midnight, and finding ids are derived from (rule, actor, day,
key), so the same data always yields the same findings and triage notes stay attached.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from kansa.audit.finding import Finding
from kansa.audit.rules import ALL_RULES
from kansa.audit.store import ensure_tables, finding_id
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace

_SEVERITY_ORDER = "CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"


def _cutoff(ws: Workspace, until: date | None) -> tuple[datetime, date | None]:
    if until is None:
        row = ws.con.execute(
            "SELECT max(d) FROM (SELECT max(CAST(ts AS DATE)) AS d FROM access_events "
            "UNION ALL SELECT max(CAST(ts AS DATE)) FROM endpoint_events)"
        ).fetchone()
        last = row[0] if row else None
        if last is None:
            return datetime.combine(date(1, 1, 2), time(), tzinfo=ws.timezone), None
        until = last
    return datetime.combine(until + timedelta(days=1), time(), tzinfo=ws.timezone), until


def run_audit(ws: Workspace, until: date | None = None, rules: list[str] | None = None) -> dict[str, Any]:
    """Audit every day up to ``until`` (default: the last day with data); replace stored findings."""
    ensure_tables(ws)
    chosen = rules or list(ALL_RULES)
    unknown = [r for r in chosen if r not in ALL_RULES]
    if unknown:
        raise KansaError(f"unknown audit rule(s): {', '.join(unknown)}; known: {', '.join(ALL_RULES)}")
    cutoff, last_day = _cutoff(ws, until)
    found: list[Finding] = []
    for name in chosen:
        found.extend(ALL_RULES[name](ws.con, cutoff))
    con = ws.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM finding_evidence")
        con.execute("DELETE FROM findings")
        seen: set[str] = set()
        frows: list[tuple[Any, ...]] = []
        erows: list[tuple[str, int, str]] = []
        for f in found:
            fid = finding_id(f.rule, f.actor_id, f.day.isoformat(), f.key)
            if fid in seen:
                continue
            seen.add(fid)
            frows.append((fid, f.rule, f.actor_id, f.day, float(f.score), f.severity, f.reason_ja,
                          f.reason_en, json.dumps(f.detail, ensure_ascii=False, default=str)))
            erows.extend((fid, int(e), "access") for e in f.access_events)
            erows.extend((fid, int(e), "endpoint") for e in f.endpoint_events)
        if frows:
            con.executemany(
                "INSERT INTO findings (finding_id, rule, actor_id, day, score, severity, reason_ja, reason_en, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                frows,
            )
        if erows:
            con.executemany("INSERT INTO finding_evidence VALUES (?, ?, ?)", erows)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    by_rule: dict[str, int] = {name: 0 for name in chosen}
    for r in frows:
        by_rule[r[1]] += 1
    return {"findings": len(frows), "by_rule": by_rule, "until": last_day.isoformat() if last_day else None}


def list_findings(
    ws: Workspace, rule: str | None = None, actor: str | None = None, severity: str | None = None
) -> list[dict[str, Any]]:
    """Stored findings, most severe and highest scoring first."""
    ensure_tables(ws)
    where, params = [], []
    for col, val in (("rule", rule), ("actor_id", actor), ("severity", severity)):
        if val is not None:
            where.append(f"f.{col} = ?")
            params.append(val)
    sql = (
        "SELECT f.finding_id, f.rule, f.actor_id, f.day, f.score, f.severity, f.reason_ja, f.reason_en, "
        "(SELECT count(*) FROM finding_evidence v WHERE v.finding_id = f.finding_id) AS evidence, "
        "coalesce((SELECT arg_max(t.verdict, t.ts) FROM triage t WHERE t.finding_id = f.finding_id), 'open') "
        "AS verdict "
        "FROM findings f" + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {_SEVERITY_ORDER}, f.score DESC, f.day, f.finding_id"
    )
    cols = ["finding_id", "rule", "actor_id", "day", "score", "severity", "reason_ja", "reason_en", "evidence",
            "verdict"]
    return [dict(zip(cols, row, strict=True)) for row in ws.con.execute(sql, params).fetchall()]


def explain(ws: Workspace, finding_id_: str) -> dict[str, Any]:
    """One finding with its rule's numbers and the evidence rows themselves."""
    ensure_tables(ws)
    row = ws.con.execute(
        "SELECT finding_id, rule, actor_id, day, score, severity, reason_ja, reason_en, detail "
        "FROM findings WHERE finding_id = ?",
        [finding_id_],
    ).fetchone()
    if row is None:
        raise KansaError(f"no finding {finding_id_!r} (run `kansa audit findings` to list them)")
    cols = ["finding_id", "rule", "actor_id", "day", "score", "severity", "reason_ja", "reason_en", "detail"]
    out: dict[str, Any] = dict(zip(cols, row, strict=True))
    out["detail"] = json.loads(out["detail"]) if out["detail"] else {}
    acc = ws.con.execute(
        "SELECT e.event_id, e.ts, e.actor_id, e.account, e.action, e.resource, e.owner_id, e.ticket, "
        "e.terminal, e.row_count, e.statement, e.source_file, e.source_line "
        "FROM finding_evidence v JOIN access_events e USING (event_id) "
        "WHERE v.finding_id = ? AND v.kind = 'access' ORDER BY e.ts, e.event_id",
        [finding_id_],
    )
    acols = [d[0] for d in acc.description]
    out["access_events"] = [dict(zip(acols, r, strict=True)) for r in acc.fetchall()]
    end = ws.con.execute(
        "SELECT x.event_id, x.ts, x.actor_id, x.account, x.host, x.kind, x.device, x.path, x.bytes, "
        "x.source_file, x.source_line "
        "FROM finding_evidence v JOIN endpoint_events x USING (event_id) "
        "WHERE v.finding_id = ? AND v.kind = 'endpoint' ORDER BY x.ts, x.event_id",
        [finding_id_],
    )
    ecols = [d[0] for d in end.description]
    out["endpoint_events"] = [dict(zip(ecols, r, strict=True)) for r in end.fetchall()]
    tri = ws.con.execute(
        "SELECT ts, verdict, note, by_user FROM triage WHERE finding_id = ? ORDER BY ts", [finding_id_]
    ).fetchall()
    out["triage"] = [dict(zip(("ts", "verdict", "note", "by"), r, strict=True)) for r in tri]
    return out


VERDICTS = ("open", "benign", "confirmed", "escalated")


def triage(ws: Workspace, finding_id_: str, verdict: str, note: str | None = None, by: str | None = None) -> dict[str, Any]:
    """Record an analyst's verdict on a finding (appended: the history of verdicts is kept)."""
    ensure_tables(ws)
    if verdict not in VERDICTS:
        raise KansaError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    if ws.con.execute("SELECT 1 FROM findings WHERE finding_id = ?", [finding_id_]).fetchone() is None:
        raise KansaError(f"no finding {finding_id_!r} (run `kansa audit findings` to list them)")
    ws.con.execute("INSERT INTO triage VALUES (?, now(), ?, ?, ?)", [finding_id_, verdict, note, by])
    return {"finding_id": finding_id_, "verdict": verdict, "note": note}
