"""Plaintext index mode (issue #5 item 3): off by default, only when asked, erased when revoked.

Default: no clear value in the index (the full search over every table and file is
``test_index_privacy``; here the clear columns stay empty). Plaintext: the normalised values are
stored beside the keyed hashes, the choice is recorded and shown by ``kansa trace index``, and
traces attribute the same rows. Back to keyed: every clear value is gone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kansa.cli.main import main
from kansa.model.workspace import Workspace, init_workspace, open_workspace
from kansa.trace import index_dataset, trace_file
from kansa.trace.mode import PLAIN_COLUMNS, index_mode, set_index_mode
from kansa.trace.normalize import normalise_record

from .people import HEADER, make_people, write_csv

CLEAR = " OR ".join(f"{c} IS NOT NULL" for c in PLAIN_COLUMNS)


def _clear_rows(ws: Workspace) -> int:
    return int(ws.con.execute(f"SELECT count(*) FROM trace_records WHERE {CLEAR}").fetchall()[0][0])


def test_default_keyed_then_plaintext_only_when_asked(ws: Workspace, tmp_path: Path) -> None:
    people = make_people(40, seed=21, prefix="M")
    data = write_csv(tmp_path / "owner.csv", HEADER, [p.row() for p in people])
    leak = write_csv(tmp_path / "leak.csv", ["氏名", "電話"], [[p.name, p.phone] for p in people[:15]])

    keyed = index_dataset(ws, data, "o", "d", "1", id_column="顧客番号")
    assert keyed["mode"] == index_mode(ws) == "keyed"
    assert _clear_rows(ws) == 0
    before = trace_file(ws, leak)

    assert set_index_mode(ws, "plaintext")["mode"] == "plaintext"
    plain = index_dataset(ws, data, "o", "d", "1", id_column="顧客番号")
    assert plain["mode"] == "plaintext" and _clear_rows(ws) == 40
    stored = dict(ws.con.execute("SELECT subject_id, p_name FROM trace_records").fetchall())
    assert stored["M00003"] == normalise_record({"name": people[3].name})["name"]
    assert ws.con.execute("SELECT bool_and(plaintext) FROM trace_datasets").fetchall()[0][0] is True
    after = trace_file(ws, leak)
    assert [m["subject_id"] for m in after["matches"]] == [m["subject_id"] for m in before["matches"]]
    assert after["attributed"] == 15

    assert set_index_mode(ws, "keyed") == {"mode": "keyed", "erased_records": 40}
    assert _clear_rows(ws) == 0
    assert ws.con.execute("SELECT bool_or(plaintext) FROM trace_datasets").fetchall()[0][0] is False
    used = [r[0] for r in ws.con.execute("SELECT args FROM tool_audit WHERE command = 'trace index mode'").fetchall()]
    assert used == ["plaintext", "keyed"]


def test_cli_mode_is_kept_and_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    people = make_people(12, seed=22, prefix="N")
    data = write_csv(tmp_path / "owner.csv", HEADER, [p.row() for p in people])
    args = ["trace", "index", str(data), "--owner", "o", "--name", "d", "--id-column", "顧客番号", "-w", str(root)]
    assert main(args) == 0
    assert "no raw personal data stored" in capsys.readouterr().out
    assert main([*args, "--mode", "plaintext", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] == "plaintext"
    assert main(args) == 0  # the workspace keeps the choice
    assert "plaintext mode" in capsys.readouterr().out
    assert main([*args, "--mode", "clear"]) == 2
    assert "keyed or plaintext" in capsys.readouterr().err
    with open_workspace(root) as ws:
        assert index_mode(ws) == "plaintext" and _clear_rows(ws) == 12
