"""`kansa demo`: the whole flow on a simulated world in a fresh embedded workspace."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kansa.cli.common import JsonOpt, console, emit
from kansa.model.workspace import init_workspace
from kansa.report import run_demo, story, write_summary


def _short(value: Any) -> str:
    if isinstance(value, dict):
        items = [f"{k}={v}" for k, v in value.items() if isinstance(v, str | int | float | bool | type(None))]
        return ", ".join(items)[:160]
    return "" if value is None else str(value)[:160]


def register(app: typer.Typer) -> None:
    """Add `kansa demo`."""

    @app.command("demo")
    def demo_cmd(
        directory: Annotated[
            Path, typer.Option("--dir", help="Where to put the demo workspace and world.")
        ] = Path("kansa-demo"),
        scenario: Annotated[str, typer.Option(help="Scenario to simulate.")] = "ntt-west",
        seed: Annotated[int, typer.Option(help="Simulation seed.")] = 7,
        as_json: JsonOpt = False,
    ) -> None:
        """Simulate a world, ingest it, seal it, audit it, trace its leaks, assess the breach."""
        if directory.exists():
            shutil.rmtree(directory)
        ws = init_workspace(directory / "workspace")
        ws.record_use("demo", f"{scenario} seed={seed}")
        world = directory / "world"
        try:
            steps = run_demo(ws, world, scenario=scenario, seed=seed)
            lines = story(steps)
            page = write_summary(steps, world, ws.reports_dir / "demo.html", lines)
        finally:
            ws.close()
        data = {
            "workspace": str((directory / "workspace").resolve()),
            "summary": str(page.resolve()),
            "story": lines,
            "steps": [
                {
                    "name": s.name,
                    "status": s.status,
                    "seconds": s.seconds,
                    "error": s.error,
                    "result": s.result,
                }
                for s in steps
            ],
        }

        def render(d: dict[str, Any]) -> None:
            table = Table(title=f"kansa demo — {scenario} (seed {seed})")
            for col in ("step", "status", "s", "result"):
                table.add_column(col)
            for s in steps:
                colour = {"ok": "green", "failed": "red", "skipped": "yellow"}.get(s.status, "white")
                table.add_row(
                    s.name, f"[{colour}]{s.status}[/{colour}]", str(s.seconds), s.error or _short(s.result)
                )
            console.print(table)
            for line in d["story"]:
                console.print(line, markup=False)
            console.print(f"summary: {d['summary']}")

        emit(data, as_json, render)
        if any(s.status == "failed" for s in steps):
            raise typer.Exit(1)
