"""Findings as OCSF Detection Finding (class 2004) records, for SIEMs.

A security team's SIEM already knows how to queue, route and escalate OCSF findings, so kansa
hands its findings over in that schema rather than asking analysts to watch another console.
One record per stored finding; the case it belongs to, the reason in Japanese and the detector's
figures travel in ``unmapped`` and ``finding_info``. Evidence is named by event id, owner and
count only: no subject ids and no personal data leave the workspace this way.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kansa import __version__
from kansa.audit.cases import case_id
from kansa.audit.store import ensure_tables
from kansa.model.workspace import Workspace

OCSF_VERSION = "1.3.0"
CLASS_UID = 2004
CATEGORY_UID = 2
ACTIVITY_CREATE = 1
SEVERITY_ID = {"low": 2, "medium": 3, "high": 4}
# OCSF status_id: 1 New, 2 In Progress, 3 Suppressed, 4 Resolved
STATUS = {"open": (1, "New"), "confirmed": (2, "In Progress"), "escalated": (2, "In Progress"),
          "dismissed": (3, "Suppressed"), "benign": (4, "Resolved")}
# OCSF analytic type_id: 1 Rule, 2 Behavioral, 3 Statistical
ANALYTIC_TYPE = {"behaviour": (2, "Behavioral"), "bulk_pull": (3, "Statistical"), "curiosity": (3, "Statistical"),
                 "slow_leak": (3, "Statistical")}


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def finding_records(ws: Workspace, include_suppressed: bool = True) -> list[dict[str, Any]]:
    """Every stored finding as an OCSF Detection Finding dict."""
    ensure_tables(ws)
    rows = ws.con.execute(
        """
        SELECT f.finding_id, f.rule, f.actor_id, f.day, f.score, f.severity, f.reason_ja, f.reason_en, f.detail,
               coalesce(f.key, ''), f.suppressed_by, f.created_at,
               coalesce((SELECT arg_max(t.verdict, t.ts) FROM triage t WHERE t.finding_id = f.finding_id), 'open'),
               (SELECT min(e.ts) FROM finding_evidence v JOIN access_events e USING (event_id)
                WHERE v.finding_id = f.finding_id AND v.kind = 'access'),
               (SELECT max(e.ts) FROM finding_evidence v JOIN access_events e USING (event_id)
                WHERE v.finding_id = f.finding_id AND v.kind = 'access'),
               (SELECT list(DISTINCT e.owner_id) FROM finding_evidence v JOIN access_events e USING (event_id)
                WHERE v.finding_id = f.finding_id AND v.kind = 'access' AND e.owner_id IS NOT NULL),
               (SELECT list(v.event_id ORDER BY v.event_id) FROM finding_evidence v
                WHERE v.finding_id = f.finding_id AND v.kind = 'access'),
               (SELECT list(v.event_id ORDER BY v.event_id) FROM finding_evidence v
                WHERE v.finding_id = f.finding_id AND v.kind = 'endpoint'),
               a.role, a.org_id
        FROM findings f LEFT JOIN actors a USING (actor_id)
        """
        + ("" if include_suppressed else " WHERE f.suppressed_by IS NULL")
        + " ORDER BY f.day, f.finding_id"
    ).fetchall()
    out = []
    for (fid, rule, actor, day, score, severity, reason_ja, reason_en, detail, key, supp, created, verdict,
         first_ts, last_ts, owners, acc_ids, end_ids, role, org) in rows:
        status_id, status = STATUS.get(str(verdict), (1, "New"))
        if supp and verdict == "open":
            status_id, status = 3, "Suppressed"
        a_type, a_name = ANALYTIC_TYPE.get(str(rule), (1, "Rule"))
        sev = SEVERITY_ID.get(str(severity), 1)
        who = actor or f"?{key}"
        user = {"uid": who, "name": who, "type": role or "unknown"}
        if org:
            user["org"] = {"uid": org}
        evidences: list[dict[str, Any]] = [{"actor": {"user": user}, "data": {"access_event_ids": list(acc_ids or [])}}]
        if end_ids:
            evidences.append({"actor": {"user": user}, "data": {"endpoint_event_ids": list(end_ids)}})
        out.append({
            "class_uid": CLASS_UID,
            "class_name": "Detection Finding",
            "category_uid": CATEGORY_UID,
            "category_name": "Findings",
            "activity_id": ACTIVITY_CREATE,
            "activity_name": "Create",
            "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
            "type_name": "Detection Finding: Create",
            "time": _ms(created) or int(datetime.now(UTC).timestamp() * 1000),
            "severity_id": sev,
            "severity": {1: "Informational", 2: "Low", 3: "Medium", 4: "High"}[sev],
            "status_id": status_id,
            "status": status,
            "message": reason_en,
            "risk_score": round(float(score), 2),
            "metadata": {
                "version": OCSF_VERSION,
                "product": {"name": "kansa", "vendor_name": "kansa", "version": __version__},
                "uid": fid,
            },
            "finding_info": {
                "uid": fid,
                "title": f"{rule}: {who} on {day}",
                "desc": reason_en,
                "types": [str(rule)],
                "created_time": _ms(created),
                "first_seen_time": _ms(first_ts),
                "last_seen_time": _ms(last_ts),
                "analytic": {"uid": str(rule), "name": str(rule), "type_id": a_type, "type": a_name},
            },
            "resources": [{"uid": str(o), "type": "data_owner"} for o in sorted(owners or [])],
            "evidences": evidences,
            "unmapped": {
                "case_id": case_id(who),
                "day": day.isoformat(),
                "reason_ja": reason_ja,
                "figures": json.loads(detail) if detail else {},
                "suppressed_by": supp,
            },
        })
    return out


def export_ocsf(ws: Workspace, path: Path, include_suppressed: bool = True) -> dict[str, Any]:
    """Write the findings as a JSON array of OCSF Detection Findings; returns the path and count."""
    records = finding_records(ws, include_suppressed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(records, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return {"path": str(path), "findings": len(records)}
