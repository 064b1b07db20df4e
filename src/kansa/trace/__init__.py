"""Leaked-list tracing: whose data a leaked list is, which version, and who accessed those people.

Public API (other capabilities and the CLI call only these):

* ``index_dataset(ws, path, owner, name, version=None, id_column=None, encoding=None) -> dict``
* ``index_world_datasets(ws, world_dir) -> dict``
* ``trace_file(ws, path) -> dict``
"""

from __future__ import annotations

from kansa.trace.index import index_dataset, index_world_datasets
from kansa.trace.match import trace_file

__all__ = ["index_dataset", "index_world_datasets", "trace_file"]
