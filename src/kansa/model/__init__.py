"""The shared model: workspace, schema, vocabularies, errors. Every capability depends on it."""

from kansa.model.errors import InputError, KansaError, NotAWorkspace
from kansa.model.migrations import Migration
from kansa.model.workspace import Workspace, init_workspace, open_workspace

__all__ = ["InputError", "KansaError", "Migration", "NotAWorkspace", "Workspace", "init_workspace", "open_workspace"]
