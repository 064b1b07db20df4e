"""Run the detectors over the workspace, store their findings, and read them back.

A run is causal, incremental and repeatable: ``until`` names the last local day audited, every
detector sees only events before the following midnight, and each detector remembers the last
day it has computed (table ``audit_state``), so a daily run computes only the new days and a
second run over the same days is a no-op (``since`` recomputes from a day, e.g. after late
logs arrived). Finding ids are derived from (rule, actor, day, key), so the same data always
yields the same findings and triage notes stay attached.
"""

from __future__ import annotations

import inspect
import json
import time as clock
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd

from kansa.audit import behaviour
from kansa.audit.finding import Finding
from kansa.audit.memory import audit_memory
from kansa.audit.rules import ALL_RULES
from kansa.audit.rules.common import shared_task_cover
from kansa.audit.store import ensure_tables, finding_id
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace

_SEVERITY_ORDER = "CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"

Detector = Callable[[Workspace, date, date], list[Finding]]


def _adapt(fn: Callable[..., list[Finding]]) -> Detector:
    """Call a rule with what it asks for by name: ws or con, cutoff (datetime) or day/until, since.

    A rule that takes ``since`` may skip work for days before it (its findings for those days are
    dropped anyway); other parameters (e.g. ``cfg``) keep their defaults.
    """
    names = list(inspect.signature(fn).parameters)

    def run(ws: Workspace, since: date, until: date) -> list[Finding]:
        cutoff = datetime.combine(until + timedelta(days=1), time(), tzinfo=ws.timezone)
        given: dict[str, Any] = {"ws": ws, "con": ws.con, "cutoff": cutoff, "day": until, "until": until,
                                 "since": since}
        return fn(**{n: given[n] for n in names if n in given})

    return run


def detectors() -> dict[str, Detector]:
    """Every detector by name: the rules, then the behaviour model."""
    out = {name: _adapt(fn) for name, fn in ALL_RULES.items()}
    out["behaviour"] = behaviour.detect
    return out


def _data_days(ws: Workspace) -> tuple[date | None, date | None]:
    # the earliest and latest instants, then their local days: the same days as the least and
    # greatest local day of every event (the day only grows with the instant), without converting
    # every event's time to a date, a cost that grew with the log on every daily run
    row = ws.con.execute(
        "SELECT CAST(min(lo) AS DATE), CAST(max(hi) AS DATE) FROM (SELECT min(ts) AS lo, max(ts) AS hi "
        "FROM access_events UNION ALL SELECT min(ts), max(ts) FROM endpoint_events)"
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def _suppression(ws: Workspace, f: Finding) -> str | None:
    row = ws.con.execute(
        "SELECT suppression_id FROM suppressions WHERE actor_id = ? AND (rule IS NULL OR rule = ?) "
        "AND (key IS NULL OR key = ?) AND ? <= expires ORDER BY created_at LIMIT 1",
        [f.actor_id, f.rule, f.key, f.day],
    ).fetchone()
    return str(row[0]) if row else None


_FINDING_COLS = ("finding_id", "rule", "actor_id", "day", "score", "severity", "reason_ja", "reason_en", "detail",
                 "key", "suppressed_by")


def _insert_frame(con: Any, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    frame = pd.DataFrame.from_records(rows, columns=list(cols))
    for col in cols:
        if col != "day" and frame[col].dtype == object:
            frame[col] = frame[col].astype("string")  # an all-None column stays text, not NULL-typed
    name = f"_kansa_new_{table}"
    con.register(name, frame)
    try:
        listed = ", ".join(cols)
        con.execute(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {name}")
    finally:
        con.unregister(name)


def _store(ws: Workspace, rule: str, since: date, until: date, found: list[Finding]) -> int:
    con = ws.con
    has_supp = bool((con.execute("SELECT count(*) FROM suppressions").fetchone() or [0])[0])
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "DELETE FROM finding_evidence WHERE finding_id IN "
            "(SELECT finding_id FROM findings WHERE rule = ? AND day BETWEEN ? AND ?)",
            [rule, since, until],
        )
        con.execute("DELETE FROM findings WHERE rule = ? AND day BETWEEN ? AND ?", [rule, since, until])
        seen: set[str] = set()
        frows: list[tuple[Any, ...]] = []
        erows: list[tuple[str, int, str]] = []
        for f in found:
            fid = finding_id(f.rule, f.actor_id, f.day.isoformat(), f.key)
            if fid in seen:
                continue
            seen.add(fid)
            supp = _suppression(ws, f) if has_supp and f.actor_id else None
            frows.append((fid, f.rule, f.actor_id, f.day, float(f.score), f.severity, f.reason_ja,
                          f.reason_en, json.dumps(f.detail, ensure_ascii=False, default=str), f.key, supp))
            erows.extend((fid, int(e), "access") for e in f.access_events)
            erows.extend((fid, int(e), "endpoint") for e in f.endpoint_events)
        # as frames, one INSERT each: executemany costs about a millisecond per row, which was
        # seconds of a full run for a rule with thousands of findings
        if frows:
            _insert_frame(con, "findings", _FINDING_COLS, frows)
        if erows:
            _insert_frame(con, "finding_evidence", ("finding_id", "event_id", "kind"), erows)
        con.execute(
            "INSERT OR REPLACE INTO audit_state VALUES (?, greatest(?, coalesce((SELECT last_day FROM audit_state "
            "WHERE rule = ?), ?)), now())",
            [rule, until, rule, until],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(frows)


def audit_state(ws: Workspace) -> dict[str, date]:
    """The last day each detector has computed."""
    ensure_tables(ws)
    return {str(r): d for r, d in ws.con.execute("SELECT rule, last_day FROM audit_state").fetchall()}


def run_audit(
    ws: Workspace, until: date | None = None, rules: list[str] | None = None, since: date | None = None,
    memory_limit: str | None = None,
) -> dict[str, Any]:
    """Audit the days not yet computed (or from ``since``) up to ``until`` (default: the last day with data).

    ``memory_limit`` caps DuckDB for the run (``kansa.audit.memory``: default from the RAM, capped).

    Returns ``{"findings": new findings, "by_rule": {rule: n}, "until": day, "computed": {rule: [from, to] or
    None when there was nothing new}, "seconds": {rule: wall seconds}, "cpu_seconds": {rule: CPU seconds}}``.
    """
    ensure_tables(ws)
    registry = detectors()
    chosen = rules or list(registry)
    unknown = [r for r in chosen if r not in registry]
    if unknown:
        raise KansaError(f"unknown audit rule(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    first, last = _data_days(ws)
    if until is None:
        until = last
    if since is not None and until is not None and since > until:
        raise KansaError(f"--since {since} is after --until {until}")
    by_rule: dict[str, int] = {name: 0 for name in chosen}
    computed: dict[str, list[str] | None] = {name: None for name in chosen}
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}  # CPU of the whole process (DuckDB's threads included): load-independent
    if until is None or first is None:
        return {"findings": 0, "by_rule": by_rule, "until": None, "computed": computed, "seconds": seconds}
    state = audit_state(ws)
    starts: dict[str, date] = {}
    for name in chosen:
        if since is not None:
            starts[name] = since
        elif name in state:
            starts[name] = state[name] + timedelta(days=1)
        else:
            starts[name] = first
    todo = [name for name in chosen if starts[name] <= until]
    if not todo:
        return {"findings": 0, "by_rule": by_rule, "until": until.isoformat(), "computed": computed,
                "seconds": seconds, "cpu_seconds": cpu}
    cutoff = datetime.combine(until + timedelta(days=1), time(), tzinfo=ws.timezone)
    earliest = min(starts[name] for name in todo)
    cover_from = None if earliest <= first else datetime.combine(earliest, time(), tzinfo=ws.timezone)
    with audit_memory(ws, memory_limit), shared_task_cover(ws.con, cutoff, cover_from):
        for name in todo:
            start = starts[name]
            t0, c0 = clock.perf_counter(), clock.process_time()
            found = [f for f in registry[name](ws, start, until) if start <= f.day <= until]
            by_rule[name] = _store(ws, name, start, until, found)
            seconds[name] = round(clock.perf_counter() - t0, 3)
            cpu[name] = round(clock.process_time() - c0, 3)
            computed[name] = [start.isoformat(), until.isoformat()]
    return {"findings": sum(by_rule.values()), "by_rule": by_rule, "until": until.isoformat(), "computed": computed,
            "seconds": seconds, "cpu_seconds": cpu}


def list_findings(
    ws: Workspace,
    rule: str | None = None,
    actor: str | None = None,
    severity: str | None = None,
    include_suppressed: bool = False,
) -> list[dict[str, Any]]:
    """Stored findings, most severe and highest scoring first (suppressed ones only when asked)."""
    ensure_tables(ws)
    where: list[str] = [] if include_suppressed else ["f.suppressed_by IS NULL"]
    params: list[Any] = []
    for col, val in (("rule", rule), ("actor_id", actor), ("severity", severity)):
        if val is not None:
            where.append(f"f.{col} = ?")
            params.append(val)
    sql = (
        "SELECT f.finding_id, f.rule, f.actor_id, f.day, f.score, f.severity, f.reason_ja, f.reason_en, "
        "(SELECT count(*) FROM finding_evidence v WHERE v.finding_id = f.finding_id) AS evidence, "
        "coalesce((SELECT arg_max(t.verdict, t.ts) FROM triage t WHERE t.finding_id = f.finding_id), 'open') "
        "AS verdict, f.key, f.suppressed_by "
        "FROM findings f" + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {_SEVERITY_ORDER}, f.score DESC, f.day, f.finding_id"
    )
    cols = ["finding_id", "rule", "actor_id", "day", "score", "severity", "reason_ja", "reason_en", "evidence",
            "verdict", "key", "suppressed_by"]
    return [dict(zip(cols, row, strict=True)) for row in ws.con.execute(sql, params).fetchall()]


def explain(ws: Workspace, finding_id_: str) -> dict[str, Any]:
    """One finding with its rule's numbers and the evidence rows themselves."""
    ensure_tables(ws)
    row = ws.con.execute(
        "SELECT finding_id, rule, actor_id, day, score, severity, reason_ja, reason_en, detail, key, suppressed_by "
        "FROM findings WHERE finding_id = ?",
        [finding_id_],
    ).fetchone()
    if row is None:
        raise KansaError(f"no finding {finding_id_!r} (run `kansa audit findings` to list them)")
    cols = ["finding_id", "rule", "actor_id", "day", "score", "severity", "reason_ja", "reason_en", "detail", "key",
            "suppressed_by"]
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


VERDICTS = ("open", "benign", "confirmed", "escalated", "dismissed")


def triage(ws: Workspace, finding_id_: str, verdict: str, note: str | None = None, by: str | None = None) -> dict[str, Any]:
    """Record an analyst's verdict on a finding (appended: the history of verdicts is kept)."""
    ensure_tables(ws)
    if verdict not in VERDICTS:
        raise KansaError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    if ws.con.execute("SELECT 1 FROM findings WHERE finding_id = ?", [finding_id_]).fetchone() is None:
        raise KansaError(f"no finding {finding_id_!r} (run `kansa audit findings` to list them)")
    ws.con.execute("INSERT INTO triage VALUES (?, now(), ?, ?, ?)", [finding_id_, verdict, note, by])
    return {"finding_id": finding_id_, "verdict": verdict, "note": note}
