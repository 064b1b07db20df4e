"""The main job on the embedded default: simulate a world, then run every capability on it.

Why a separate module: `make demo` must show the whole flow from one command, and the same flow
is what an evaluator (or a new user) wants to call from Python. Each step calls only a
capability's public API. A step whose capability is not built yet is reported as skipped,
never faked; a step that fails is reported with its error and makes the run fail.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from kansa.model.workspace import Workspace


@dataclass
class DemoStep:
    """One step of the demo and what came of it."""

    name: str
    status: str = "pending"  # ok | skipped | failed
    result: Any = None
    error: str = ""
    seconds: float = 0.0
    details: list[str] = field(default_factory=list)


def _api(module: str, name: str) -> Callable[..., Any] | None:
    """A capability's public function, or None when that capability does not offer it yet."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    fn = getattr(mod, name, None)
    return fn if callable(fn) else None


def _run(step: DemoStep, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    try:
        step.result = fn()
        step.status = "ok"
    except Exception as exc:  # a demo step's failure is reported, not hidden
        step.status = "failed"
        step.error = f"{type(exc).__name__}: {exc}"
        step.details.append(traceback.format_exc(limit=3))
    step.seconds = round(time.perf_counter() - start, 2)
    return step.result


def _bind_trace(ws: Workspace, leak: Path) -> Callable[[Callable[..., Any]], Any]:
    return lambda f: f(ws, leak)


def _bind_page(result: dict[str, Any], page: Path) -> Callable[[Callable[..., Any]], Any]:
    return lambda f: _write_page(page, f(result))


def _write_page(out: Path, html: str) -> dict[str, Any]:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return {"page": str(out)}


def _entrustee(ws: Workspace) -> str | None:
    """The organisation that holds most owners' data under contract: in a simulated world, the
    contractor whose staff the audit watches, and so the one that must tell its clients."""
    row = ws.con.execute(
        "SELECT entrustee_id FROM contracts WHERE entrustee_id IS NOT NULL"
        " GROUP BY entrustee_id ORDER BY count(*) DESC, entrustee_id LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else None


def _suspect_findings(ws: Workspace, traced: dict[str, Any]) -> list[dict[str, Any]]:
    """The audit's findings on the trace's top suspect: the evidence an officer attaches to the
    incident's cause (respond keeps them without the actor's id)."""
    listing = _api("kansa.audit", "list_findings")
    suspects = traced.get("suspects") or []
    if listing is None or not suspects:
        return []
    got = listing(ws, actor=str(suspects[0]["actor"]))
    return list(got)[:10] if isinstance(got, list) else []


def _learned_at(ws: Workspace) -> date:
    """The day after the last logged event: the simulated leak surfaces when the world ends, so
    the demo's deadlines are the same on every run rather than moving with the calendar."""
    row = ws.con.execute("SELECT max(ts) FROM access_events").fetchone()
    last = row[0] if row else None
    if isinstance(last, datetime):
        return last.astimezone(ws.timezone).date() + timedelta(days=1)
    return date.today()


def run_demo(
    ws: Workspace, world_dir: Path, *, scenario: str = "ntt-west", seed: int = 7, days: int | None = None
) -> list[DemoStep]:
    """Run simulate → ingest → seal → audit → trace → respond on ``ws``; return every step."""
    steps: list[DemoStep] = []

    def step(name: str, module: str, fn_name: str, call: Callable[[Callable[..., Any]], Any]) -> Any:
        s = DemoStep(name)
        steps.append(s)
        fn = _api(module, fn_name)
        if fn is None:
            s.status = "skipped"
            s.error = f"{module}.{fn_name} is not available in this build"
            return None
        return _run(s, lambda: call(fn))

    sim = step("simulate", "kansa.simulate", "simulate", lambda f: f(scenario, seed, world_dir, days))
    if sim is None and not (world_dir / "manifest.json").exists():
        return steps
    step("ingest", "kansa.ingest", "ingest_world", lambda f: f(ws, world_dir))
    step("ledger seal", "kansa.ledger", "seal_pending", lambda f: f(ws))
    step("ledger verify", "kansa.ledger", "verify", lambda f: f(ws))
    step("audit", "kansa.audit", "run_audit", lambda f: f(ws))
    findings = step("findings", "kansa.audit", "list_findings", lambda f: f(ws))
    if isinstance(findings, list):
        steps[-1].result = {"count": len(findings), "top": findings[:10]}
    cases = step("audit cases", "kansa.audit", "list_cases", lambda f: f(ws))
    if isinstance(cases, list):
        steps[-1].result = {"count": len(cases), "cases": cases[:5]}
    step("audit report", "kansa.audit", "write_report", lambda f: {"page": str(f(ws))})
    if (world_dir / "truth.json").exists():
        step("audit vs truth", "kansa.audit", "evaluate", lambda f: f(ws, world_dir / "truth.json"))
    step("govern chains", "kansa.govern", "chains", lambda f: f(ws))
    step("trace index", "kansa.trace", "index_world_datasets", lambda f: f(ws, world_dir))
    traced: dict[str, Any] = {}
    for leak in sorted((world_dir / "leaks").glob("leak-*.csv")):
        if leak.name.endswith(".truth.csv"):
            continue
        got = step(f"trace {leak.name}", "kansa.trace", "trace_file", _bind_trace(ws, leak))
        if isinstance(got, dict):
            page = ws.reports_dir / f"trace-{leak.stem}.html"
            step(f"trace page {leak.name}", "kansa.trace", "trace_page", _bind_page(got, page))
            if not traced:
                traced = got
    if traced:
        learned = _learned_at(ws)
        evidence = _suspect_findings(ws, traced)
        incident = step(
            "respond incident", "kansa.respond", "open_from_trace",
            lambda f: f(ws, traced, learned, "demo", entrustee=_entrustee(ws), role="entrustee",
                        cause="insider", jurisdictions=["appi"], findings=evidence),
        )
        if isinstance(incident, dict):
            out = ws.reports_dir / "incident"
            step("respond drafts", "kansa.respond", "draft_incident",
                 lambda f: f(ws, incident["incident_id"], out, learned, actor="demo"))
    return steps


def _problems(tree: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (link, problem) of a govern chains tree, depth first."""
    if isinstance(tree, list):
        for item in tree:
            yield from _problems(item)
    elif isinstance(tree, dict):
        for problem in tree.get("problems", []) if isinstance(tree.get("problems"), list) else []:
            yield tree, problem
        for key in ("links", "children"):
            yield from _problems(tree.get(key, []))


def story(steps: list[DemoStep]) -> list[str]:
    """What the run showed, in a few lines (Japanese, then English): the insider and when he was
    caught, whose data the leak was and whom it points to, and what is due by when. Identifiers and
    counts only: the lines travel in terminals and reports."""
    by = {s.name: s for s in steps if s.status == "ok"}
    out: list[str] = []
    ev = by.get("audit vs truth")
    if ev is not None and isinstance(ev.result, dict):
        for a in ev.result.get("actors", []):
            if a.get("detected"):
                out.append(
                    f"監査: {a['actor']} ({a.get('kind') or '-'}) を検知 — 最初の不正 {a.get('first_bad_act')}、"
                    f"最初の検知 {a.get('first_finding')} ({a.get('days_to_detect')} 日後; {', '.join(a.get('rules', []))}) / "
                    f"audit: caught {a['actor']} {a.get('days_to_detect')} day(s) after the first bad act"
                )
            else:
                out.append(f"監査: {a['actor']} は未検知 / audit: {a['actor']} NOT caught")
        out.append(
            f"誤検知 {ev.result.get('false_findings')} 件 / {ev.result.get('actor_days')} 人日 — "
            f"false findings per 1,000 actor-days: {ev.result.get('false_findings_per_1000_actor_days')}"
        )
    gov = by.get("govern chains")
    if gov is not None and isinstance(gov.result, dict):
        seen: set[tuple[str, str]] = set()
        for link, problem in _problems(gov.result.get("owners", [])):
            key = (str(link.get("contract_id")), str(problem.get("code")))
            if problem.get("severity") == "high" and key not in seen:
                seen.add(key)
                out.append(
                    f"管理: {link.get('entrustor')} → {link.get('entrustee')} ({link.get('entrustee_name', '')}) "
                    f"{problem.get('code')} / govern: {problem.get('reason')}"
                )
    for s in steps:
        if s.status != "ok" or not s.name.startswith("trace leak") or not isinstance(s.result, dict):
            continue
        r = s.result
        owners = ", ".join(f"{o['owner']}/{o['dataset']} {o['records']}" for o in r.get("owners", [])[:4])
        sus = r.get("suspects") or []
        top = f"{sus[0]['actor']} (coverage {sus[0].get('coverage')})" if sus else "-"
        out.append(
            f"追跡 {s.name[6:]}: {r.get('records')} 件中 {r.get('attributed')} 件を帰属 ({owners})、"
            f"最有力の被疑アカウント {top} / trace: top suspect {top}"
        )
    inc = by.get("respond incident")
    if inc is not None and isinstance(inc.result, dict):
        rep = inc.result["reportable"]
        ja = {True: "あり", False: "なし(委託元へ通知)", "unknown": "不明(要確認)"}.get(rep, str(rep))
        out.append(f"対応 {inc.result['incident_id']}: 個人情報保護委員会への報告義務 {ja} / respond: reportable={rep}")
        out += [f"  {line}" for line in inc.result.get("lines", [])]
    for name in ("audit report", "respond drafts"):
        s2 = by.get(name)
        if s2 is not None and isinstance(s2.result, dict):
            files = s2.result.get("files") or [s2.result.get("page")]
            out.append(f"{name}: " + ", ".join(str(f) for f in files if f))
    return out
