"""CLI for simulate: parses arguments, calls kansa.simulate.simulate, prints the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kansa.cli.common import JsonOpt, console, emit, progress


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @app.command("simulate")
    def simulate_cmd(
        out: Annotated[Path, typer.Option("--out", "-o", help="World directory to write.")],
        scenario_arg: Annotated[
            str | None,
            typer.Argument(metavar="[SCENARIO]", help="Scenario name, e.g. ntt-west.", show_default=False),
        ] = None,
        scenario_opt: Annotated[
            str | None,
            typer.Option("--scenario", help="Scenario name (same as the argument).", show_default=False),
        ] = None,
        seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed → same bytes).")] = 7,
        days: Annotated[int | None, typer.Option("--days", help="Days simulated (default 90).")] = None,
        scale: Annotated[
            float, typer.Option("--scale", help="Multiplies staff and so events (0.05–1000); records grow up to 2.5×.")
        ] = 1.0,
        as_json: JsonOpt = False,
    ) -> None:
        """Write a synthetic world (logs, registry, datasets, leaks, truth) in kansa's input formats."""
        from kansa.model.errors import KansaError
        from kansa.simulate import simulate

        if scenario_arg and scenario_opt and scenario_arg != scenario_opt:
            raise KansaError(f"two scenarios given: {scenario_arg!r} and --scenario {scenario_opt!r}")
        scenario = scenario_opt or scenario_arg or "ntt-west"
        with progress(enabled=not as_json) as bar:
            task = bar.add_task(f"simulating {scenario}", total=None)

            def on_day(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = simulate(scenario, seed, out, days=days, scale=scale, on_day=on_day)

        def render(data: dict) -> None:
            table = Table(title=f"World {data['scenario']} (seed {data['seed']}) → {data['out']}")
            table.add_column("item")
            table.add_column("value", justify="right")
            for key, value in data.items():
                if key not in ("scenario", "seed", "out"):
                    table.add_row(key, str(value))
            console.print(table)

        emit(summary, as_json, render)
