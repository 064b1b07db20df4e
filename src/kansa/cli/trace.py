"""CLI for trace: parses arguments, calls kansa.trace's public API, prints."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kansa.cli.common import JsonOpt, WorkspaceOpt, console, emit, workspace
from kansa.model.errors import KansaError

trace_app = typer.Typer(help="Trace a leaked list back to the datasets it came from (追跡).", no_args_is_help=True)


def _render_index(data: dict[str, Any]) -> None:
    details = data.get("details", [data])
    table = Table(title="indexed datasets / 索引したデータセット")
    for col in ("dataset", "records", "fields", "skipped"):
        table.add_column(col, justify="right" if col in ("records", "skipped") else "left")
    for d in details:
        table.add_row(d["dataset_id"], str(d["records"]), ", ".join(d["fields"]), str(d["skipped"]))
    console.print(table)
    console.print("no raw personal data stored: keyed hashes and Bloom filters only / 生の個人データは保存していません")


def _render_trace(data: dict[str, Any]) -> None:
    console.print(
        f"{data['file']}: {data['rows']} rows ({data['encoding']}; fields {', '.join(data['fields'])}) — "
        f"matched {data['matched_rows']}, unattributed {data['unattributed_rows']}, "
        f"in several owners {data['ambiguous_rows']}",
        highlight=False,
    )
    table = Table(title="source datasets / 流出元データセット")
    for col in ("owner", "name", "version", "matched", "share", "best version", "coverage"):
        table.add_column(col, justify="right" if col not in ("owner", "name", "version") else "left")
    for d in data["datasets"]:
        table.add_row(d["owner"], d["name"], str(d["version"] or ""), str(d["matched"]), f"{d['share']:.1%}",
                      str(d["best_version"]), f"{d['coverage']:.1%}")
    console.print(table)
    if data["actors"]:
        at = Table(title="who accessed these people / アクセスした担当者")
        for col in ("tier", "actor", "subjects", "share", "bulk exports", "removable", "first", "last"):
            at.add_column(col, no_wrap=col in ("actor", "first", "last"))
        for a in data["actors"]:
            at.add_row(str(a["tier"]), a["actor"], str(a["subjects"]), f"{a['share']:.0%}", str(a["bulk_exports"]),
                       str(a["removable_media_events"]), str(a["first_access"])[:10], str(a["last_access"])[:10])
        console.print(at)
        console.print(f"first candidate: {data['actors'][0]['actor']}: {data['actors'][0]['why']}", highlight=False)
    else:
        console.print("no access events name these subjects (ingest access logs to see who touched them)")


def _world_or_file(world: Path | None, file: Path | None, owner: str | None, name: str | None) -> None:
    if (world is None) == (file is None):
        raise KansaError("give either --world DIR or FILE with --owner and --name")
    if file is not None and (not owner or not name):
        raise KansaError("indexing a single file needs --owner and --name", path=str(file))


@trace_app.command("index")
def index_cmd(
    file: Annotated[Path | None, typer.Argument(help="An owner's dataset (CSV/TSV/Excel).")] = None,
    world: Annotated[Path | None, typer.Option("--world", help="World folder: index its manifest's datasets.")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner id (data controller).")] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name.")] = None,
    version: Annotated[str | None, typer.Option(help="Dataset version (snapshot).")] = None,
    id_column: Annotated[str | None, typer.Option(help="Column holding the owner's record id.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detected).")] = None,
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Index owners' datasets as keyed hashes and Bloom filters (no raw personal data kept)."""
    from kansa.trace import index_dataset, index_world_datasets

    _world_or_file(world, file, owner, name)
    with workspace(ws_path, "trace index", str(world or file)) as ws:
        if world is not None:
            result = index_world_datasets(ws, world)
        else:
            assert file is not None and owner is not None and name is not None
            result = index_dataset(ws, file, owner, name, version, id_column=id_column, encoding=encoding)
        emit(result, as_json, _render_index)


@trace_app.command("file")
def file_cmd(
    leak: Annotated[Path, typer.Argument(help="The leaked list (CSV/TSV/Excel).")],
    until: Annotated[
        str | None, typer.Option(help="Use only events up to this day (YYYY-MM-DD), e.g. when the list was found.")
    ] = None,
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Attribute a leaked list to owners/datasets/versions and list who accessed those people."""
    from kansa.trace import trace_file

    day = None
    if until is not None:
        try:
            day = date.fromisoformat(until)
        except ValueError as exc:
            raise KansaError(f"--until must be YYYY-MM-DD, got {until!r}") from exc
    with workspace(ws_path, "trace file", str(leak)) as ws:
        emit(trace_file(ws, leak, until=day), as_json, _render_trace)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(trace_app, name="trace")
