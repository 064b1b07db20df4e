"""Leaked-list tracing: whose data a leaked list is, which version, and who accessed those people.

Public API (other capabilities and the CLI call only these):

* ``index_dataset(ws, path, owner, name, version=None, id_column=None, encoding=None) -> dict``
* ``index_world_datasets(ws, world_dir) -> dict``
* ``trace_file(ws, path) -> dict``
* ``check_links(a, b, on, on_b=None, *, encoding_a=None, encoding_b=None, show_all=False, limit=None) -> dict``
* ``read_list(path, encoding=None) -> dict``: what the reader understood of a list (no values)
* ``trace_page(result, lang="both") -> str``: the HTML page of a trace result
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kansa.trace.checklinks import check_links
    from kansa.trace.index import index_dataset, index_world_datasets
    from kansa.trace.match import trace_file
    from kansa.trace.page import trace_page
    from kansa.trace.reader import read_list

_HOME = {"check_links": "checklinks", "index_dataset": "index", "index_world_datasets": "index",
         "trace_file": "match", "trace_page": "page", "read_list": "reader"}
"""Public name → its module, imported on first use: the encoding workers import
``kansa.trace.batch``, which runs this file first, and need none of pandas, scipy or Splink
(importing them cost each worker about as much as its share of folding 200,000 rows)."""


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


__all__ = ["check_links", "index_dataset", "index_world_datasets", "read_list", "trace_file", "trace_page"]
