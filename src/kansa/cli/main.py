"""The `kansa` command. Each capability adds its commands from its own module."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError  # Typer's bundled click

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
def version_cmd(as_json: JsonOpt = False) -> None:
    """Print kansa's version."""
    emit({"version": __version__}, as_json, lambda d: console.print(d["version"]))


for module in (simulate, ingest, ledger, audit, trace, respond, incident, demo, govern):
    module.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user mistakes become one line on stderr and exit code 2 (usage errors too)."""
    try:
        # Not standalone: Typer would draw a usage mistake as a multi-line panel and exit itself.
        result = app(args=argv, prog_name="kansa", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    except NoArgsIsHelpError as exc:   # the help has been printed already
        return exc.exit_code
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _one_line(f"{exc.format_message()}{hint}")
        return 2
    except typer.Abort:
        _one_line("aborted")
        return 1
    except KansaError as exc:
        _one_line(str(exc))
        return 2
    except FileNotFoundError as exc:
        _one_line(f"{exc.filename}: no such file")
        return 2
    except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        _one_line(f"{exc.filename}: {exc.strerror}")
        return 2
    return result if isinstance(result, int) else 0


def _one_line(message: str) -> None:
    err_console.print(f"[red]error:[/red] {' '.join(message.split())}", highlight=False, soft_wrap=True)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
