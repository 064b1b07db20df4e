"""CLI for the incident register: open, show, update, done, list. Parses, calls kansa.respond, prints."""

from __future__ import annotations

import getpass
import json
import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from kansa.cli.common import JsonOpt, WorkspaceOpt, console, emit, parse_day, workspace
from kansa.model.errors import KansaError

incident_app = typer.Typer(help="Incidents: open from a trace or a file, track changes and what is due.",
                           no_args_is_help=True)

ByOpt = Annotated[str | None, typer.Option("--by", help="Who makes the change (default $KANSA_USER or login name).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE (YAML value; null = unknown). Repeatable.")]
TodayOpt = Annotated[str | None, typer.Option("--today", help="As of this date (YYYY-MM-DD; default today).")]
IdArg = Annotated[str, typer.Argument(help="Incident id, e.g. INC-2026-001.")]
FindingsOpt = Annotated[Path | None, typer.Option(
    "--findings", help="Audit findings as evidence for the cause (kansa audit findings --json; kept without actors).")]


def _findings(path: Path | None) -> Any:
    """The JSON of `kansa audit findings --json` (checked by kansa.respond), or None."""
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KansaError(f"not a JSON list of findings: {exc}", path=str(path)) from exc

_STATE_STYLE = {"overdue": "red", "due": "yellow", "asap": "yellow", "advised": "cyan", "to_confirm": "magenta",
                "done": "green"}


def _actor(by: str | None) -> str:
    return by or os.environ.get("KANSA_USER") or getpass.getuser()


def _sets(values: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise KansaError(f"--set: expected KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise KansaError(f"--set {key}: not a YAML value: {raw!r}") from exc
    return out


def _deadline_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("state", "obligation", "to", "due", "days left")
    for d in rows:
        style = _STATE_STYLE[d["state"]]
        left = "" if d["days_left"] is None or d["state"] == "done" else str(d["days_left"])
        state = d["state"] + (f" {d['done_on']}" if d["done_on"] else "") + (" (late)" if d["late"] else "")
        to = d["to"] + ("\n" + "、".join(d["recipients"]) if d["recipients"] else "")
        table.add_row(f"[{style}]{state}[/{style}]", f"{d['id']}\n{d['title_ja']}", to, d["due"] or "promptly", left)
    return table


def _render_show(r: dict[str, Any]) -> None:
    a = r["assessment"]
    console.print(f"[bold]{r['incident_id']}[/bold] v{r['version']} — {a['incident']['title'] or '(no title)'}; "
                  f"learned {a['incident']['discovered_at'][:10]}; as of {r['today']}; reportable: "
                  f"[bold]{a['reportable']}[/bold]")
    console.print(_deadline_table(r["deadlines"]))
    for d in r["deadlines"]:
        console.print(f"{d['id']}: {d['how_computed']}", highlight=False)
    for q in a["questions"]:
        console.print(f"[yellow]{q['text']}[/yellow]")
    for e in a["entrustor_duties"]:
        persons = "?" if e["persons"] is None else f"{e['persons']:,}"
        console.print(f"entrustor {e['name']} ({e['sector'] or 'sector ?'}, {persons} persons): own duty to report "
                      f"{e['reportable']} {' '.join(e['grounds'])}", highlight=False)
    for h in r["history"]:
        leaf = "" if h["ledger_leaf"] is None else f" (ledger leaf {h['ledger_leaf']})"
        console.print(f"v{h['version']} {h['changed_at'][:19]} {h['actor']}: {h['action']} "
                      f"{json.dumps(h['changes'], ensure_ascii=False)[:160]}{leaf}")
    console.print(a["disclaimer"])


def _render_list(items: list[dict[str, Any]]) -> None:
    if not items:
        console.print("no incidents (kansa incident open --from-trace TRACE.json or --file INCIDENT.yaml)")
        return
    table = Table("incident", "learned", "reportable", "overdue", "due", "advised", "to confirm", "done", "next")
    for i in items:
        c = i["counts"]
        nxt = next((d for d in i["deadlines"] if d["state"] in ("overdue", "due", "asap", "advised")), None)
        nxt_s = f"{nxt['id']} {nxt['due'] or 'promptly'}" if nxt else ""
        table.add_row(f"{i['incident_id']}\n{i['title'][:40]}", i["learned_at"], str(i["reportable"]),
                      f"[red]{c['overdue']}[/red]" if c["overdue"] else "0", str(c["due"] + c["asap"]),
                      str(c["advised"]), str(c["to_confirm"]), str(c["done"]), nxt_s)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @incident_app.command("open")
    def open_cmd(
        file: Annotated[Path | None, typer.Option("--file", help="Incident YAML (see docs/respond.md).")] = None,
        from_trace: Annotated[Path | None, typer.Option("--from-trace", help="Trace result JSON (kansa trace --json).")] = None,
        learned_at: Annotated[str | None, typer.Option("--learned-at", help="When the organisation learned of it (default today).")] = None,
        owner: Annotated[str | None, typer.Option("--owner", help="With --from-trace: open as this owner (controller).")] = None,
        as_org: Annotated[str | None, typer.Option("--as", help="With --from-trace: this organisation's org id (the entrustee); entrustors come from its contracts.")] = None,
        findings: FindingsOpt = None,
        sets: SetOpt = None,
        by: ByOpt = None,
        ws_path: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Open an incident: the clock starts at --learned-at; every change is kept and sealed in the ledger."""
        from kansa.respond import entrustors_from_workspace, incident_from_trace, open_incident
        from kansa.respond.incident import read_incident_mapping

        facts: dict[str, Any] = {}
        if file is not None:
            facts.update(read_incident_mapping(file))
        extra = _sets(sets)
        if findings is not None:
            extra["findings"] = _findings(findings)
        learned = parse_day(learned_at, "--learned-at")
        if from_trace is not None:
            try:
                trace = json.loads(from_trace.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise KansaError(f"not a JSON trace result: {exc}", path=str(from_trace)) from exc
            if not isinstance(trace, dict):
                raise KansaError("not a trace result (expected a JSON object)", path=str(from_trace))
            extra_facts = {**facts, **extra}
            if owner is not None:
                extra_facts["owner"] = owner
            day = learned or parse_day(str(facts.get("learned_at") or "") or None, "learned_at") or date.today()
            extra_facts.pop("learned_at", None)
            facts = incident_from_trace(trace, day, **extra_facts)
        else:
            facts.update(extra)
            if learned is not None:
                facts["learned_at"] = learned.isoformat()
            facts.setdefault("learned_at", date.today().isoformat())
        with workspace(ws_path, "incident open") as ws:
            if from_trace is not None and owner is None and "entrustors" not in extra:
                facts = entrustors_from_workspace(ws, facts, as_org)
            result = open_incident(ws, facts, _actor(by))
        emit(result, as_json, lambda r: console.print(f"opened {r['incident_id']} (ledger leaf {r['ledger_leaf']})"))

    @incident_app.command("show")
    def show_cmd(incident_id: IdArg, today: TodayOpt = None, ws_path: WorkspaceOpt = None,
                 as_json: JsonOpt = False) -> None:
        """Facts, assessment, deadlines (due, overdue, done) and the history of changes."""
        from kansa.respond import get_incident

        with workspace(ws_path, "incident show", incident_id) as ws:
            result = get_incident(ws, incident_id, parse_day(today, "--today"))
        emit(result, as_json, _render_show)

    @incident_app.command("update")
    def update_cmd(
        incident_id: IdArg,
        sets: SetOpt = None,
        file: Annotated[Path | None, typer.Option("--file", help="YAML with the keys to change.")] = None,
        done: Annotated[list[str] | None, typer.Option("--done", help="Mark this obligation done today. Repeatable.")] = None,
        findings: FindingsOpt = None,
        by: ByOpt = None,
        ws_path: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Change facts (kept with who and when, sealed in the ledger) and/or mark obligations done."""
        from kansa.respond import mark_done, update_incident
        from kansa.respond.incident import read_incident_mapping

        changes = dict(read_incident_mapping(file)) if file is not None else {}
        changes.update(_sets(sets))
        if findings is not None:
            changes["findings"] = _findings(findings)
        if not changes and not done:
            raise KansaError("nothing to change: give --set KEY=VALUE, --file or --done OBLIGATION")
        out: dict[str, Any] = {"incident_id": incident_id, "changes": []}
        with workspace(ws_path, "incident update", incident_id) as ws:
            if changes:
                out["changes"].append(update_incident(ws, incident_id, changes, _actor(by)))
            for ob in done or []:
                out["changes"].append(mark_done(ws, incident_id, ob, _actor(by)))
        emit(out, as_json, lambda r: console.print(
            "\n".join(f"{r['incident_id']} v{c['version']}" + (f": {c['obligation']} done" if "obligation" in c else "")
                      for c in r["changes"])))

    @incident_app.command("done")
    def done_cmd(
        incident_id: IdArg,
        obligation: Annotated[str, typer.Argument(help="Obligation id, e.g. appi.preliminary_report.")],
        on: Annotated[str | None, typer.Option("--on", help="Day it was done (default today).")] = None,
        note: Annotated[str, typer.Option("--note", help="e.g. the PPC receipt number.")] = "",
        by: ByOpt = None,
        ws_path: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Mark one obligation done (e.g. the 速報 was filed)."""
        from kansa.respond import mark_done

        with workspace(ws_path, "incident done", incident_id) as ws:
            result = mark_done(ws, incident_id, obligation, _actor(by), on=parse_day(on, "--on"), note=note)
        emit(result, as_json, lambda r: console.print(f"{r['incident_id']}: {r['obligation']} done on {r['done_on']}"))

    @incident_app.command("list")
    def list_cmd(today: TodayOpt = None, ws_path: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
        """All incidents: how many obligations are overdue, due, to confirm and done; the next one due."""
        from kansa.respond import list_incidents

        with workspace(ws_path, "incident list") as ws:
            result = list_incidents(ws, parse_day(today, "--today"))
        emit(result, as_json, _render_list)

    @incident_app.command("draft")
    def draft_cmd(
        incident_id: IdArg,
        out: Annotated[Path, typer.Option("--out", help="Folder for the drafts.")],
        lang: Annotated[str, typer.Option("--lang", help="ja or en.")] = "ja",
        pdf: Annotated[bool, typer.Option("--pdf", help="Also write PDF (WeasyPrint).")] = False,
        today: TodayOpt = None,
        by: ByOpt = None,
        ws_path: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Drafts of a stored incident (PPC report, notices, timeline with countdown and history)."""
        from kansa.respond import draft_incident

        with workspace(ws_path, "incident draft", incident_id) as ws:
            result = draft_incident(ws, incident_id, out, parse_day(today, "--today"), lang=lang, pdf=pdf, actor=_actor(by))
        emit(result, as_json, lambda r: console.print("\n".join(f"wrote {f}" for f in r["files"])))

    app.add_typer(incident_app, name="incident")
