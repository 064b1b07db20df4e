"""CLI for ingest: parses arguments, calls kansa.ingest's public API, prints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kansa.cli.common import JsonOpt, WorkspaceOpt, console, emit, workspace

ingest_app = typer.Typer(help="Read logs, registry exports and world folders into the workspace.", no_args_is_help=True)


def _render_counts(data: dict[str, Any]) -> None:
    table = Table(show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key in ("files", "events", "endpoint_events", "quarantined", "skipped"):
        if key in data and not isinstance(data[key], list):
            table.add_row(key, str(data[key]))
    console.print(table)
    for err in data.get("errors", []):
        console.print(f"[yellow]not ingested:[/yellow] {err}", highlight=False)


def _render_file(data: dict[str, Any]) -> None:
    if data.get("skipped"):
        console.print(f"{data['path']}: already ingested (same content), nothing changed", highlight=False)
    else:
        console.print(
            f"{data['path']}: {data.get('events', 0)} events, {data.get('endpoint_events', 0)} endpoint events, "
            f"{data.get('quarantined', 0)} quarantined",
            highlight=False,
        )


@ingest_app.command("world")
def world_cmd(directory: Annotated[Path, typer.Argument(help="World folder with manifest.json.")],
              ws_path: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Ingest every file a world's manifest.json lists (registry and endpoint logons first, then in order)."""
    from kansa.ingest import ingest_world

    with workspace(ws_path, "ingest world", str(directory)) as ws:
        emit(ingest_world(ws, directory), as_json, _render_counts)


def _ingest_files(files: list[Path], command: str, fn: Callable[[Any, Path], dict[str, Any]],
                  ws_path: Path | None, as_json: bool) -> None:
    """One or more files, each its own atomic ingest; one that fails does not stop the others.

    One file: its result as before (a user error exits 2 with one line). Several: per-file results
    and totals; files that failed are listed under "errors" (one line each) and the exit code is 2.
    """
    from kansa.model.errors import KansaError

    with workspace(ws_path, command, " ".join(str(f) for f in files)) as ws:
        if len(files) == 1:
            emit(fn(ws, files[0]), as_json, _render_file)
            return
        results: list[dict[str, Any]] = []
        errors: list[str] = []
        for f in files:
            try:
                results.append(fn(ws, f))
            except KansaError as exc:
                errors.append(str(exc))
    total = {
        "files": results,
        "events": sum(r.get("events", 0) for r in results),
        "endpoint_events": sum(r.get("endpoint_events", 0) for r in results),
        "quarantined": sum(r.get("quarantined", 0) for r in results),
        "skipped": sum(1 for r in results if r.get("skipped")),
        "errors": errors,
    }

    def render(d: dict[str, Any]) -> None:
        for r in d["files"]:
            _render_file(r)
        _render_counts({k: v for k, v in d.items() if k != "files"})

    emit(total, as_json, render)
    if errors:
        raise typer.Exit(2)


FilesArg = Annotated[list[Path], typer.Argument(help="One or more files (each plain or .gz).")]


@ingest_app.command("access")
def access_cmd(files: FilesArg, ws_path: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Ingest application access logs: kansa JSONL, or OCSF (detected automatically)."""
    from kansa.ingest import ingest_access_file

    _ingest_files(files, "ingest access", ingest_access_file, ws_path, as_json)


@ingest_app.command("ocsf")
def ocsf_cmd(files: FilesArg, ws_path: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Ingest OCSF 1.x JSON Lines (classes 6005, 3002, 1001)."""
    from kansa.ingest import ingest_ocsf_file

    _ingest_files(files, "ingest ocsf", ingest_ocsf_file, ws_path, as_json)


@ingest_app.command("pgaudit")
def pgaudit_cmd(files: FilesArg, ws_path: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Ingest PostgreSQL csvlog/jsonlog files with pgaudit lines (and connection lines)."""
    from kansa.ingest import ingest_pgaudit_file

    _ingest_files(files, "ingest pgaudit", ingest_pgaudit_file, ws_path, as_json)


@ingest_app.command("cert")
def cert_cmd(directory: Annotated[Path, typer.Argument(help="Folder in CMU CERT layout (logon.csv, device.csv, ...).")],
             ws_path: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Ingest endpoint logs (logons, USB, file copies, web, mail)."""
    from kansa.ingest import ingest_cert_dir

    def render(d: dict[str, Any]) -> None:
        for f in d["files"]:
            _render_file(f)

    with workspace(ws_path, "ingest cert", str(directory)) as ws:
        emit(ingest_cert_dir(ws, directory), as_json, render)


@ingest_app.command("registry")
def registry_cmd(directory: Annotated[Path, typer.Argument(help="Folder of registry CSVs (actors.csv, accounts.csv, ...).")],
                 ws_path: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Replace the registry (organisations, contracts, actors, accounts, terminals, assignments)."""
    from kansa.ingest import ingest_registry

    def render(d: dict[str, Any]) -> None:
        if d["skipped"]:
            console.print("registry unchanged (same content), nothing changed")
        else:
            for table, n in d["tables"].items():
                console.print(f"{table}: {n} rows")
            console.print(f"quarantined: {d['quarantined']}")

    with workspace(ws_path, "ingest registry", str(directory)) as ws:
        emit(ingest_registry(ws, directory), as_json, render)


@ingest_app.command("dataset")
def dataset_cmd(
    file: Annotated[Path, typer.Argument(help="The owner's list: CSV, TSV or Excel (.xlsx).")],
    owner: Annotated[str, typer.Option("--owner", help="Owner id (organisation the data belongs to).")],
    name: Annotated[str, typer.Option("--name", help="Dataset name, e.g. car-tax.")],
    version: Annotated[str | None, typer.Option("--version", help="Version, e.g. 2024.")] = None,
    valid_from: Annotated[str | None, typer.Option("--valid-from", help="First day this version was in use.")] = None,
    valid_to: Annotated[str | None, typer.Option("--valid-to", help="Last day this version was in use.")] = None,
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Column with the record id (default: the row number).")
    ] = None,
    categories: Annotated[
        str | None, typer.Option("--categories", help="Comma-separated: basic,tax,health,my_number,...")
    ] = None,
    encoding: Annotated[
        str, typer.Option("--encoding", help="auto, utf-8, cp932 (= shift_jis) or euc-jp.")
    ] = "auto",
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an owner's dataset (checked, recorded) and index it for trace."""
    from kansa.ingest import ingest_dataset
    from kansa.trace import index_dataset

    cats = [c for c in (categories or "").split(",") if c.strip()]
    with workspace(ws_path, "ingest dataset", str(file)) as ws:
        recorded = ingest_dataset(ws, file, owner, name, version=version, valid_from=valid_from,
                                  valid_to=valid_to, id_column=id_column, categories=cats, encoding=encoding)
        indexed = index_dataset(ws, file, owner, name, version=version, id_column=id_column,
                                encoding=None if recorded["encoding"] == "xlsx" else recorded["encoding"],
                                valid_from=valid_from, valid_to=valid_to)

    def render(d: dict[str, Any]) -> None:
        r, t = d["dataset"], d["trace"]
        state = "unchanged (same content)" if r["skipped"] else "recorded"
        console.print(f"{r['path']}: {r['dataset_id']} {state}; {r['records']} records, encoding {r['encoding']}, "
                      f"id {r['id_column'] or 'row number'}", highlight=False)
        for note in r["notes"]:
            console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
        console.print(f"indexed for trace: {t.get('records')} records, fields {', '.join(t.get('fields') or [])}"
                      + (f"; {t['skipped']} rows without a usable field" if t.get("skipped") else ""),
                      highlight=False)

    emit({"dataset": recorded, "trace": indexed}, as_json, render)


@ingest_app.command("status")
def status_cmd(ws_path: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """What has been ingested: files per source, events, quarantined lines and why."""
    from kansa.ingest import ingest_status

    def render(d: dict[str, Any]) -> None:
        _render_counts(d)
        console.print(f"events without a resolved actor: {d['unresolved_actor']}")
        if d["by_source"]:
            t = Table("source", "files", "lines")
            for s in d["by_source"]:
                t.add_row(s["source"], str(s["files"]), str(s["lines"]))
            console.print(t)
        if d["quarantine_reasons"]:
            t = Table("file", "reason", "lines")
            for q in d["quarantine_reasons"]:
                t.add_row(q["path"], q["reason"], str(q["count"]))
            console.print(t)

    with workspace(ws_path, "ingest status") as ws:
        emit(ingest_status(ws), as_json, render)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(ingest_app, name="ingest")
