"""CLI for respond: parses arguments, calls kansa.respond, prints (table or --json)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kansa.cli.common import JsonOpt, WorkspaceOpt, console, emit, workspace
from kansa.model.errors import KansaError

respond_app = typer.Typer(help="Breach response: what must be reported, to whom, by when; drafts.", no_args_is_help=True)

IncidentArg = Annotated[Path, typer.Argument(help="Incident YAML file (see docs/respond.md).")]
IncidentOrIdArg = Annotated[str, typer.Argument(
    help="Incident YAML file (see docs/respond.md), or the id of an incident in the workspace (INC-2026-001).")]
# Ids the register gives (casefile.open_incident); a file of that name still wins.
_INCIDENT_ID = re.compile(r"^INC-\d{4}-\d{3,}$")
TodayOpt = Annotated[str | None, typer.Option("--today", help="Assess as of this date (YYYY-MM-DD; default today).")]


def _today(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise KansaError(f"--today: expected YYYY-MM-DD, got {value!r}") from exc


def _render(result: dict[str, Any]) -> None:
    inc = result["incident"]
    persons = "unknown number of" if inc["persons"] is None else f"{inc['persons']:,}"
    console.print(f"[bold]{inc['title'] or 'incident'}[/bold] — {persons} persons, "
                  f"aware since {inc['discovered_at']}, as of {result['today']}")
    console.print(f"reportable to an authority: [bold]{result['reportable']}[/bold]; "
                  f"action required: [bold]{result['action_required']}[/bold]")
    table = Table("obligation", "status", "to", "due", "legal basis", "because")
    for o in result["obligations"]:
        d = o["deadline"]
        due = d.get("due_at") or d["due"] or d["note_en"]
        if d["overdue"]:
            due = f"[red]{due} OVERDUE[/red]"
        elif d["days_left"] is not None:
            due = f"{due} ({d['days_left']} d)"
        why = [b["basis"] for b in o["because"]] + [f"? {p['trigger']}: {', '.join(p['unknown'])}" for p in o["pending"]]
        table.add_row(o["title_en"] + "\n" + o["title_ja"], o["status"], o["to"], due, o["basis"], "\n".join(why))
    console.print(table)
    for q in result["questions"]:
        console.print(f"[yellow]{q['text']}[/yellow]")
    for a in result["assumptions"]:
        console.print(f"assumed: {a['fact']} = {a['assumed']} — {a['why_en']}")
    for d in result["entrustor_duties"]:
        persons = "?" if d["persons"] is None else f"{d['persons']:,}"
        console.print(f"entrustor {d['name']} ({d['sector'] or 'sector ?'}, {persons} persons): own duty "
                      f"{d['reportable']} {', '.join(d['grounds'])}")
    for note in result["notes"]:
        console.print(f"note: {note}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @respond_app.command("assess")
    def assess_cmd(incident: IncidentOrIdArg, today: TodayOpt = None, ws_path: WorkspaceOpt = None,
                   as_json: JsonOpt = False) -> None:
        """Which reports and notices the incident requires, by when, and on what legal basis."""
        from kansa.respond import assess, get_incident, load_incident

        path = Path(incident)
        if path.exists() or not _INCIDENT_ID.match(incident):
            emit(assess(load_incident(path), _today(today)), as_json, _render)
            return
        with workspace(ws_path, "respond assess", incident) as ws:
            stored = get_incident(ws, incident, _today(today))
        emit(stored["assessment"], as_json, _render)

    @respond_app.command("draft")
    def draft_cmd(
        incident: IncidentOrIdArg,
        out: Annotated[Path, typer.Option("--out", help="Folder for the drafts.")],
        lang: Annotated[str, typer.Option("--lang", help="ja or en.")] = "ja",
        pdf: Annotated[bool, typer.Option("--pdf", help="Also write PDF (WeasyPrint).")] = False,
        today: TodayOpt = None,
        ws_path: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Write drafts of the PPC report (速報/確報) and the notice to affected persons."""
        from kansa.respond import draft, draft_incident, load_incident

        path = Path(incident)
        if path.exists() or not _INCIDENT_ID.match(incident):
            result = draft(load_incident(path), out, _today(today), lang=lang, pdf=pdf)
        else:  # same as `kansa incident draft` (done days and history included), not recorded as a change
            with workspace(ws_path, "respond draft", incident) as ws:
                result = draft_incident(ws, incident, out, _today(today), lang=lang, pdf=pdf)
        emit(result, as_json, lambda r: console.print("\n".join(f"wrote {f}" for f in r["files"])))

    app.add_typer(respond_app, name="respond")
