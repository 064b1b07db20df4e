"""CLI for respond: parses arguments, calls kansa's Python API, prints. (Commands added by the respond work.)"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
