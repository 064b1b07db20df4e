"""CLI for audit: parses arguments, calls kansa.audit, prints (tables for people, --json for machines)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kansa.audit import (
    confirm,
    dismiss,
    evaluate,
    explain,
    export_ocsf,
    list_cases,
    list_findings,
    run_audit,
    show_case,
    triage,
    write_report,
)
from kansa.cli.common import JsonOpt, WorkspaceOpt, console, emit, parse_day, workspace

audit_app = typer.Typer(help="Insider detection: run the detectors, list and explain findings.", no_args_is_help=True)
findings_app = typer.Typer(
    help="Cases (findings merged per actor): list, show, confirm, dismiss with a reason, export.",
    no_args_is_help=True,
)
eval_app = typer.Typer(help="Evaluate capabilities against a simulated world's truth.", no_args_is_help=True)



@audit_app.command("run")
def run_cmd(
    until: Annotated[str | None, typer.Option(help="Last day to audit (YYYY-MM-DD); default: last day with data.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Recompute from this day (default: the day after the last computed one).")
    ] = None,
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Run only this rule (repeatable).")] = None,
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the detectors on the days not yet audited (or from --since) up to --until; store their findings."""
    day = parse_day(until, "--until")
    first = parse_day(since, "--since")
    with workspace(ws_path, "audit run", f"since={since} until={until}") as ws:
        result = run_audit(ws, until=day, rules=rule or None, since=first)

    def render(d: dict[str, Any]) -> None:
        t = Table(title=f"audit up to {d['until']}: {d['findings']} new finding(s) / 新しい所見")
        t.add_column("detector")
        t.add_column("days computed")
        t.add_column("findings", justify="right")
        t.add_column("s", justify="right")
        for name, n in d["by_rule"].items():
            span = d["computed"].get(name)
            secs = d["seconds"].get(name)
            t.add_row(name, f"{span[0]} – {span[1]}" if span else "up to date / 計算済み", str(n),
                      f"{secs:.1f}" if secs is not None else "")
        console.print(t)

    emit(result, as_json, render)


@audit_app.command("findings")
def findings_cmd(
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    severity: Annotated[str | None, typer.Option(help="Only this severity (high, medium, low).")] = None,
    lang: Annotated[str, typer.Option(help="Reason language: ja or en.")] = "ja",
    limit: Annotated[int, typer.Option(help="Show at most this many (table only).")] = 50,
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List stored findings, most severe first."""
    with workspace(ws_path, "audit findings") as ws:
        rows = list_findings(ws, rule=rule, actor=actor, severity=severity)

    def render(items: list[dict[str, Any]]) -> None:
        t = Table(title=f"{len(items)} finding(s) / 所見")
        for col in ("id", "severity", "rule", "actor", "day", "score", "verdict"):
            t.add_column(col, no_wrap=True)
        t.add_column("reason", ratio=1)
        for f in items[:limit]:
            t.add_row(f["finding_id"], f["severity"], f["rule"], str(f["actor_id"]), str(f["day"]),
                      f"{f['score']:.1f}", f["verdict"], f["reason_ja"] if lang == "ja" else f["reason_en"])
        console.print(t)

    emit(rows, as_json, render)


@audit_app.command("explain")
def explain_cmd(
    finding_id: Annotated[str, typer.Argument(help="A finding id from `kansa audit findings`.")],
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show why a finding fired: the rule, its numbers, and the evidence events."""
    with workspace(ws_path, "audit explain", finding_id) as ws:
        info = explain(ws, finding_id)

    def render(d: dict[str, Any]) -> None:
        console.print(f"[bold]{d['finding_id']}[/bold] {d['severity']} {d['rule']} {d['actor_id']} {d['day']}")
        console.print(d["reason_ja"])
        console.print(d["reason_en"])
        console.print(d["detail"])
        t = Table(title="evidence / 根拠となる記録")
        for col in ("event", "time", "action", "resource", "owner", "rows", "source"):
            t.add_column(col)
        for e in d["access_events"]:
            t.add_row(str(e["event_id"]), str(e["ts"]), e["action"], str(e["resource"]), str(e["owner_id"]),
                      str(e["row_count"]), f"{e['source_file']}:{e['source_line']}")
        for e in d["endpoint_events"]:
            t.add_row(str(e["event_id"]), str(e["ts"]), e["kind"], str(e["path"]), str(e["host"]),
                      str(e["bytes"]), f"{e['source_file']}:{e['source_line']}")
        console.print(t)

    emit(info, as_json, render)


@audit_app.command("triage")
def triage_cmd(
    finding_id: Annotated[str, typer.Argument(help="A finding id from `kansa audit findings`.")],
    verdict: Annotated[str, typer.Option(help="open, benign, confirmed or escalated.")],
    note: Annotated[str | None, typer.Option(help="Why (kept with the verdict).")] = None,
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a verdict on a finding; the history of verdicts is kept and survives re-runs."""
    with workspace(ws_path, "audit triage", f"{finding_id} {verdict}") as ws:
        result = triage(ws, finding_id, verdict, note, by=getpass.getuser())
    emit(result, as_json, lambda d: console.print(f"{d['finding_id']}: {d['verdict']}"))


@eval_app.command("audit")
def eval_audit_cmd(
    truth: Annotated[Path, typer.Option("--truth", help="truth.json of a simulated world.")],
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare stored findings with the world's truth: precision, recall, days to detect."""
    with workspace(ws_path, "eval audit", str(truth)) as ws:
        result = evaluate(ws, truth)

    def render(d: dict[str, Any]) -> None:
        console.print(f"precision {d['precision']:.2f}  recall {d['recall']:.2f}  "
                      f"median days to detect {d['median_days_to_detect']}")
        t = Table(title="bad actors / 不正行為者")
        for col in ("actor", "first bad act", "first finding", "days", "rules"):
            t.add_column(col)
        for actor, v in d["detection"].items():
            t.add_row(actor, str(v["first_bad_act"]), str(v["first_finding"]), str(v["days_to_detect"]),
                      ", ".join(v["rules"]))
        console.print(t)

    emit(result, as_json, render)


@findings_app.command("list")
def cases_list_cmd(
    all_: Annotated[bool, typer.Option("--all", help="Include dismissed/benign cases and suppressed findings.")] = False,
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    lang: Annotated[str, typer.Option(help="Explanation language: ja or en.")] = "ja",
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One line per case (all findings about one actor), most severe and riskiest first."""
    with workspace(ws_path, "findings list") as ws:
        cases = list_cases(ws, include_closed=all_, actor=actor)

    def render(items: list[dict[str, Any]]) -> None:
        t = Table(title=f"{len(items)} case(s) / 案件")
        for col in ("case", "severity", "risk", "actor", "role", "detected", "last", "findings", "verdict"):
            t.add_column(col, no_wrap=True)
        t.add_column("why", ratio=1)
        for c in items:
            t.add_row(c["case_id"], c["severity"], f"{c['risk_score']:.1f}", str(c["who"]), str(c["role"]),
                      str(c["detected_at"]), str(c["last_day"]), str(c["findings"]), c["verdict"],
                      c["explanation_ja"] if lang == "ja" else c["explanation_en"])
        console.print(t)

    emit(cases, as_json, render)


@findings_app.command("show")
def cases_show_cmd(
    target: Annotated[str, typer.Argument(help="A case id (C-...), an actor id, or a finding id (F-...).")],
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A case: its detectors and figures, subjects, owners, per-day series and decisions."""
    with workspace(ws_path, "findings show", target) as ws:
        case = show_case(ws, target)

    def render(c: dict[str, Any]) -> None:
        console.print(f"[bold]{c['case_id']}[/bold] {c['severity']} risk {c['risk_score']:.1f} {c['who']} "
                      f"({c['role']}) {c['detected_at']} – {c['last_day']}  verdict: {c['verdict']}")
        console.print(c["explanation_ja"])
        console.print(c["explanation_en"])
        console.print(f"subjects / 対象者: {c['subjects']}  owners / 委託元: {', '.join(c['owners']) or '-'}  "
                      f"evidence: {c['evidence_counts']}")
        t = Table(title="detectors / 検知")
        for col in ("rule", "severity", "findings", "first", "last", "max score", "reason"):
            t.add_column(col)
        for d in c["detectors"]:
            t.add_row(d["rule"], d["severity"], str(d["findings"]), str(d["first_day"]), str(d["last_day"]),
                      f"{d['max_score']:.1f}", d["reason_ja"])
        console.print(t)
        for dec in c["decisions"]:
            console.print(f"{dec['ts']} {dec['target']} {dec['verdict']} {dec['note'] or ''} ({dec['by']})")

    emit(case, as_json, render)


@findings_app.command("confirm")
def cases_confirm_cmd(
    target: Annotated[str, typer.Argument(help="A case id (C-...) or finding id (F-...).")],
    note: Annotated[str | None, typer.Option(help="Why (kept with the decision, sealed in the ledger).")] = None,
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Confirm a case or finding; the decision is sealed in the ledger."""
    with workspace(ws_path, "findings confirm", target) as ws:
        result = confirm(ws, target, note, by=getpass.getuser())
    emit(result, as_json, lambda d: console.print(f"{d['target']}: confirmed ({d['findings']} finding(s))"))


@findings_app.command("dismiss")
def cases_dismiss_cmd(
    target: Annotated[str, typer.Argument(help="A case id (C-...) or finding id (F-...).")],
    note: Annotated[str, typer.Option(help="The reason (required; a reviewer will read it).")],
    days: Annotated[int, typer.Option(help="Suppress the same rule(s) for this actor for this many days.")] = 90,
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Dismiss with a reason: the case's rules are suppressed for this actor until an expiry (sealed in the ledger)."""
    with workspace(ws_path, "findings dismiss", f"{target} days={days}") as ws:
        result = dismiss(ws, target, note, by=getpass.getuser(), days=days)
    emit(result, as_json,
         lambda d: console.print(f"{d['target']}: dismissed ({d['findings']} finding(s)); suppressed until {d['expires']}"))


@findings_app.command("export")
def cases_export_cmd(
    ocsf: Annotated[Path, typer.Option("--ocsf", help="Write OCSF Detection Finding (2004) JSON to this file.")],
    open_only: Annotated[bool, typer.Option("--open-only", help="Leave out suppressed findings.")] = False,
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export findings for a SIEM as OCSF Detection Findings (event ids and counts, no personal data)."""
    with workspace(ws_path, "findings export", str(ocsf)) as ws:
        result = export_ocsf(ws, ocsf, include_suppressed=not open_only)
    emit(result, as_json, lambda d: console.print(f"{d['findings']} finding(s) → {d['path']}"))


@audit_app.command("report")
def report_cmd(
    out: Annotated[Path | None, typer.Option(help="HTML file (default: reports/audit-<day>.html in the workspace).")]
    = None,
    all_: Annotated[bool, typer.Option("--all", help="Include dismissed/benign cases.")] = False,
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the HTML audit report: top actors, owners affected, a timeline per case."""
    with workspace(ws_path, "audit report") as ws:
        path = write_report(ws, out, include_closed=all_)
    emit({"report": str(path)}, as_json, lambda d: console.print(f"report: {d['report']}"))


def register(app: typer.Typer) -> None:
    """Add `kansa audit ...`, `kansa findings ...` and `kansa eval audit` to the main app."""
    app.add_typer(audit_app, name="audit")
    app.add_typer(findings_app, name="findings")
    app.add_typer(eval_app, name="eval")
