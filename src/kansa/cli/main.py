"""The `kansa` command. Each capability adds its commands from its own module."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kansa import __version__
from kansa.cli import audit, demo, govern, incident, ingest, ledger, respond, simulate, trace
from kansa.cli.common import JsonOpt, console, emit, err_console
from kansa.model.errors import KansaError
from kansa.model.workspace import default_workspace_path, init_workspace

app = typer.Typer(
    name="kansa",
    help="kansa (監査): who touched personal data, who leaked it, whose it is, what to report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("init")
def init_cmd(
    directory: Annotated[Path | None, typer.Argument(help="Folder to create (default ./kansa-workspace).")] = None,
    timezone: Annotated[str, typer.Option(help="Local time zone for days and working hours.")] = "Asia/Tokyo",
    as_json: JsonOpt = False,
) -> None:
    """Create a workspace: a DuckDB database, a Parquet area, a keys folder and a reports folder."""
    root = directory if directory is not None else default_workspace_path()
    try:
        ws = init_workspace(root, timezone=timezone)
    except KeyError as exc:
        raise KansaError(f"unknown time zone {timezone!r}") from exc
    ws.record_use("init", str(root))
    ws.close()
    emit({"workspace": str(root.resolve())}, as_json, lambda d: console.print(f"workspace ready: {d['workspace']}"))


@app.command("version")
def version_cmd() -> None:
    """Print kansa's version."""
    console.print(__version__)


for module in (simulate, ingest, ledger, audit, trace, respond, incident, demo, govern):
    module.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user mistakes become one line on stderr and exit code 2 (usage errors too)."""
    try:
        app(args=argv)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    except KansaError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 2
    except FileNotFoundError as exc:
        err_console.print(f"[red]error:[/red] {exc.filename}: no such file", highlight=False)
        return 2
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
