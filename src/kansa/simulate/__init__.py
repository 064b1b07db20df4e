"""The world simulator: synthetic organisations, logs, datasets and leaks with known truth.

kansa is judged on worlds it has never seen, so the simulator writes the very formats real
sources produce (docs/formats.md) and records what really happened in truth.json for evaluation.
Same scenario + seed → byte-identical world.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kansa.model.errors import KansaError
from kansa.simulate import ntt_west, reentrust, suginami
from kansa.simulate.world import World, reporting_days, write_world

SCENARIOS: dict[str, Callable[..., Any]] = {
    "ntt-west": ntt_west.build, "suginami": suginami.build, "reentrust": reentrust.build,
}
DEFAULT_DAYS = 90
MIN_SCALE, MAX_SCALE = 0.05, 1000.0   # ntt-west at 90 days: ~1M access events per 10 of scale (docs/benchmarks.md)


def simulate(scenario: str, seed: int, out: Path, days: int | None = None, scale: float = 1.0,
             on_day: Callable[[int, int], None] | None = None) -> dict:
    """Write a world directory for ``scenario`` under ``out``; returns a summary dict.

    ``on_day(done, total)`` is told as each simulated day is written, for a progress bar.
    """
    if scenario not in SCENARIOS:
        raise KansaError(f"unknown scenario {scenario!r}; known: {', '.join(sorted(SCENARIOS))}")
    n_days = DEFAULT_DAYS if days is None else days
    if n_days < 7:
        raise KansaError(f"--days must be at least 7 (got {n_days})")
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise KansaError(f"--scale must be between {MIN_SCALE} and {MAX_SCALE} (got {scale})")
    world: World
    reported = [0]

    def day_done(done: int, total: int) -> None:
        reported[0] = done
        if on_day is not None:
            on_day(done, total)

    with reporting_days(day_done):
        world, rng = SCENARIOS[scenario](seed, n_days, scale, Path(out))
    if on_day is not None and reported[0] < n_days:   # scenarios that skip closed days end on one
        on_day(n_days, n_days)
    return write_world(world, Path(out), rng)


__all__ = ["SCENARIOS", "simulate"]
