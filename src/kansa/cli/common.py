"""What every command shares: the workspace option, --json output, one-line errors, progress.

Commands parse arguments, call the Python API and print; nothing else lives here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace, default_workspace_path, open_workspace

console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $KANSA_WORKSPACE or ./kansa-workspace).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_default)


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print ``data`` as JSON on stdout, or let ``render`` draw it for a person."""
    if as_json:
        sys.stdout.write(to_json(data) + "\n")
    else:
        render(data)


@contextmanager
def workspace(path: Path | None, command: str, args: str = "") -> Iterator[Workspace]:
    """Open the workspace for a command and record the command in kansa's own audit trail."""
    ws = open_workspace(path if path is not None else default_workspace_path())
    try:
        ws.record_use(command, args)
        yield ws
    finally:
        ws.close()


@contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """A progress bar on stderr (silent when stderr is not a terminal or output is JSON)."""
    prog = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not enabled or not err_console.is_terminal,
        transient=True,
    )
    with prog:
        yield prog


def parse_day(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option as a date (None when not given), or a one-line user error naming it."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise KansaError(f"{option}: expected YYYY-MM-DD, got {value!r}") from exc
