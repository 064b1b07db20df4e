"""Score the audit against a simulated world's truth.json: who was caught, who was missed, how fast.

Per actor, not per finding: an auditor's question is "which people should I look at", so an
actor with any finding is a flag. Time to detect is counted in days from the insider's first bad
act to the first finding on or after it (findings before the first bad act do not count as
detection, they would be luck).

Noise is counted per actor-day: a false finding is a day on which an actor whom truth does not
name (neither a bad actor nor an actor of another violation) has at least one finding; two rules
firing on the same person and day are one alert to read. A bad actor's findings before the first
bad act are false too. The rate is per 1,000 actor-days with any activity, up to the last day
audited. Findings an analyst suppressed (a dismissal with a reason) are not counted: they are
not shown either.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kansa.audit.store import ensure_tables
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace


def _as_day(value: Any, ws: Workspace, where: str) -> date:
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            dt = None
        if dt is not None:
            return dt.astimezone(ws.timezone).date() if dt.tzinfo else dt.date()
    raise KansaError(f"first_bad_act is not an ISO date or timestamp: {value!r}", path=where)


def evaluate(ws: Workspace, truth_path: Path, severities: tuple[str, ...] = ("high", "medium", "low")) -> dict[str, Any]:
    """Precision/recall over actors and days to detect, from stored findings vs truth.json."""
    ensure_tables(ws)
    try:
        truth = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KansaError("no such file", path=str(truth_path)) from exc
    except ValueError as exc:
        raise KansaError(f"not JSON: {exc}", path=str(truth_path)) from exc
    bad: dict[str, date] = {}
    for item in truth.get("bad_actors", []) if isinstance(truth, dict) else []:
        if not isinstance(item, dict) or "actor" not in item:
            raise KansaError("bad_actors entries need an 'actor'", path=str(truth_path))
        first = item.get("first_bad_act")
        bad[str(item["actor"])] = _as_day(first, ws, str(truth_path)) if first else date.min
    # Actors truth names in other violations (e.g. an unapproved subcontractor's staff): flagging
    # them is a right answer to a different question, reported separately from precision.
    explained = {
        str(a)
        for v in (truth.get("violations", []) if isinstance(truth, dict) else [])
        if isinstance(v, dict)
        for a in v.get("actors", [])
    }
    kinds = {
        str(item["actor"]): str(item.get("kind", ""))
        for item in (truth.get("bad_actors", []) if isinstance(truth, dict) else [])
        if isinstance(item, dict)
    }
    marks = ",".join("?" for _ in severities)
    rows = ws.con.execute(
        f"SELECT actor_id, rule, day FROM findings WHERE actor_id IS NOT NULL AND suppressed_by IS NULL "
        f"AND severity IN ({marks})",
        list(severities),
    ).fetchall()
    flagged: dict[str, list[tuple[str, date]]] = {}
    for actor, rule, day in rows:
        flagged.setdefault(str(actor), []).append((str(rule), day))
    tp = sorted(a for a in flagged if a in bad)
    fp = sorted(a for a in flagged if a not in bad)
    fn = sorted(a for a in bad if a not in flagged)
    detect: dict[str, Any] = {}
    for actor in sorted(bad):
        after = sorted(d for _r, d in flagged.get(actor, []) if d >= bad[actor])
        rules = sorted({r for r, d in flagged.get(actor, []) if d >= bad[actor]})
        detect[actor] = {
            "first_bad_act": bad[actor].isoformat() if bad[actor] != date.min else None,
            "first_finding": after[0].isoformat() if after else None,
            "days_to_detect": (after[0] - bad[actor]).days if after and bad[actor] != date.min else None,
            "rules": rules,
        }
    precision = len(tp) / len(flagged) if flagged else (1.0 if not bad else 0.0)
    fp_other = [a for a in fp if a in explained]
    precision_v = (len(tp) + len(fp_other)) / len(flagged) if flagged else precision
    recall = len(tp) / len(bad) if bad else 1.0
    by_rule: dict[str, dict[str, int]] = {}
    for actor, items in flagged.items():
        for rule in {r for r, _d in items}:
            slot = by_rule.setdefault(rule, {"actors": 0, "true": 0})
            slot["actors"] += 1
            slot["true"] += int(actor in bad)
    days = [v["days_to_detect"] for v in detect.values() if v["days_to_detect"] is not None]
    last = ws.con.execute("SELECT max(last_day) FROM audit_state").fetchone()
    last_day = last[0] if last and last[0] is not None else date.max
    act = ws.con.execute(
        "SELECT count(*) FROM (SELECT actor_id, CAST(ts AS DATE) AS d FROM access_events WHERE actor_id IS NOT NULL "
        "UNION SELECT actor_id, CAST(ts AS DATE) FROM endpoint_events WHERE actor_id IS NOT NULL) WHERE d <= ?",
        [last_day],
    ).fetchone()
    actor_days = int(act[0]) if act else 0
    false_days = sorted(
        {(a, d) for a, items in flagged.items() for _r, d in items
         if a not in explained and (a not in bad or d < bad[a])}
    )
    per_1000 = 1000.0 * len(false_days) / actor_days if actor_days else 0.0
    judged = [a for a in flagged if a not in explained or a in bad]
    precision_c3 = len(tp) / len(judged) if judged else (1.0 if not bad else 0.0)
    scenario = truth.get("scenario") if isinstance(truth, dict) else None
    actors = [
        {
            "actor": a,
            "scenario": scenario,
            "kind": kinds.get(a, ""),
            "detected": detect[a]["first_finding"] is not None,
            "days_to_detect": detect[a]["days_to_detect"],
            "first_bad_act": detect[a]["first_bad_act"],
            "first_finding": detect[a]["first_finding"],
            "rules": detect[a]["rules"],
        }
        for a in sorted(bad)
    ]
    return {
        "scenario": scenario,
        "actors": actors,
        "false_findings_per_1000_actor_days": round(per_1000, 4),
        "false_findings": len(false_days),
        "false_finding_days": [{"actor": a, "day": d.isoformat()} for a, d in false_days],
        "actor_days": actor_days,
        # actors truth names in other violations are neither targets nor false alarms (contract C2)
        "precision": round(precision_c3, 4),
        "precision_all_flagged": round(precision, 4),
        "recall": round(recall, 4),
        "true_positives": tp,
        "false_positives": fp,
        "flagged_violation_actors": fp_other,
        "precision_with_violations": round(precision_v, 4),
        "missed": fn,
        "flagged_actors": len(flagged),
        "bad_actors": len(bad),
        "median_days_to_detect": sorted(days)[len(days) // 2] if days else None,
        "detection": detect,
        "by_rule": by_rule,
    }
