"""Every command, on a user mistake: one line on stderr, exit code 2, no traceback (issue #2).

The commands are read from the CLI itself, so a command added later is checked without editing
this file. Mistakes tried: a folder that is not a workspace, an option that does not exist, a file
that does not exist where a file is wanted, a folder where a file is wanted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from kansa import __version__
from kansa.cli.main import app, main

_SKIP_NOT_WORKSPACE = {"init", "demo", "version"}   # init makes one; demo makes its own; version needs none


def _leaves(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    subs = getattr(command, "commands", None)
    if subs:
        for name, sub in sorted(subs.items()):
            yield from _leaves(sub, (*path, name))
    else:
        yield path, command


LEAVES = dict(_leaves(typer.main.get_command(app)))


def _options(command: Any) -> set[str]:
    return {o for p in command.params for o in p.opts}


def _call(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code: int, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err


def test_every_command_that_reports_has_json() -> None:
    assert len(LEAVES) > 20
    missing = [" ".join(path) for path, command in LEAVES.items() if "--json" not in _options(command)]
    assert missing == []


def test_version_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _call(["version", "--json"], capsys)
    assert code == 0 and json.loads(out) == {"version": __version__}


@pytest.mark.parametrize("path", [p for p in LEAVES if p[0] not in _SKIP_NOT_WORKSPACE], ids=" ".join)
def test_folder_that_is_not_a_workspace_or_missing_file(path: tuple[str, ...], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Arguments get a file that does not exist; the workspace is a plain folder with a file in it."""
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("not kansa")
    missing = str(tmp_path / "missing" / "list.csv")
    command = LEAVES[path]
    args = list(path)
    for p in command.params:
        if p.param_type_name == "argument":
            args.append(missing)
        elif p.required:
            args += [p.opts[0], missing]
    if "--workspace" in _options(command):
        args += ["--workspace", str(plain)]
    code, _, err = _call(args, capsys)
    _one_line_error(code, err)
    assert sorted(p.name for p in plain.iterdir()) == ["notes.txt"]     # nothing written into it
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("group", sorted({p[0] for p in LEAVES}))
def test_unknown_option_is_one_line(group: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = next(p for p in LEAVES if p[0] == group)
    code, _, err = _call([*path, "--no-such-option"], capsys)
    _one_line_error(code, err)
    assert "--no-such-option" in err and f"kansa {' '.join(path)} --help" in err


def test_bad_number_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _call(["simulate", "--out", str(tmp_path / "w"), "--days", "ninety"], capsys)
    _one_line_error(code, err)
    assert "--days" in err and not (tmp_path / "w").exists()


@pytest.mark.parametrize("args", [["trace", "read"], ["respond", "assess"]], ids=" ".join)
def test_folder_where_a_file_is_wanted(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _call([*args, str(tmp_path)], capsys)
    _one_line_error(code, err)
    assert str(tmp_path) in err


def test_group_without_a_command_shows_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _call(["ingest"], capsys)
    assert code == 2 and "Usage" in out and "pgaudit" in out
