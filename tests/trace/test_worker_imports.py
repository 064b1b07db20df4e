"""An encoding worker starts without the trace capability's heavy libraries.

``batch`` spreads folding over spawned worker processes, and each of them imports
``kansa.trace.batch`` afresh; that import runs the package's ``__init__`` first. The workers need
the normalisers and the encoders only, so the package must not pull pandas, SciPy or Splink in
eagerly (they were about half of each worker's CPU at 200,000 leaked rows), while its public
names stay importable from ``kansa.trace``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "scipy", "splink")


def _modules_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_worker_import_leaves_heavy_libraries_out() -> None:
    assert _modules_after("import kansa.trace.batch") == []


def test_public_names_still_import_from_the_package() -> None:
    # each lazy name is the function of its module, and using one loads what it needs
    loaded = _modules_after(
        "import kansa.trace as t\n"
        "from kansa.trace import checklinks, index, match, page, reader\n"
        "homes = {'check_links': checklinks, 'index_dataset': index, 'index_world_datasets': index,"
        " 'trace_file': match, 'trace_page': page, 'read_list': reader}\n"
        "assert sorted(t.__all__) == sorted(homes)\n"
        "assert all(getattr(t, n) is getattr(m, n) for n, m in homes.items())"
    )
    assert "pandas" in loaded


def test_unknown_name_is_an_attribute_error() -> None:
    import kansa.trace

    with pytest.raises(AttributeError, match="no_such_name"):
        kansa.trace.no_such_name  # type: ignore[attr-defined]  # noqa: B018
