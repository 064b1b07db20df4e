"""Shared fixtures: fresh workspaces in temporary folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kansa.model.workspace import Workspace, init_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    w = init_workspace(tmp_path / "ws")
    try:
        yield w
    finally:
        w.close()
