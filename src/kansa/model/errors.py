"""Errors a user can cause and fix, kept apart from bugs.

The CLI turns a KansaError into one readable line and exit code 2; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class KansaError(Exception):
    """A mistake in input, arguments or environment, explained in one line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class NotAWorkspace(KansaError):
    """The folder is not a kansa workspace (or not one we can read)."""


class InputError(KansaError):
    """A file cannot be read as the kind of source it was given as."""
