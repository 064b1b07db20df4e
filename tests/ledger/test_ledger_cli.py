"""`kansa ledger ...`: JSON output, exit code 1 on tampering, one-line user errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kansa.cli.main import main
from kansa.model.workspace import init_workspace


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip().startswith(("{", "[")) else {}


def test_seal_verify_prove_and_tamper(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "w"
    with init_workspace(root) as ws:
        for i in range(5):
            ws.con.execute(
                "INSERT INTO access_events (event_id, ts, action, source_system, batch_id) VALUES (?, ?, 'read', 'app', 1)",
                [i, datetime(2024, 1, 1, 9, i, tzinfo=UTC)],
            )
    w = ["-w", str(root), "--json"]
    code, sealed = _run(["ledger", "seal", *w], capsys)
    assert code == 0 and sealed["sealed"] == 5
    code, head = _run(["ledger", "head", *w], capsys)
    assert head["tree_size"] == 5 and head["root"] == sealed["root"]
    code, proof = _run(["ledger", "prove", "3", *w], capsys)
    assert code == 0 and proof["ok"] and proof["ref_id"] == 3
    heads_file = tmp_path / "heads.json"
    code, exported = _run(["ledger", "export-heads", str(heads_file), *w], capsys)
    assert code == 0 and heads_file.exists() and exported["heads"] == 1
    code, ok = _run(["ledger", "verify", *w, "--trusted-heads", str(heads_file)], capsys)
    assert code == 0 and ok["ok"]
    with init_workspace(root, exist_ok=True) as ws:
        ws.con.execute("UPDATE access_events SET action = 'export' WHERE event_id = 2")
    code, bad = _run(["ledger", "verify", *w], capsys)
    assert code == 1 and bad["first_bad"] == 2
    assert main(["ledger", "verify", "-w", str(root)]) == 1
    out = capsys.readouterr().out
    assert "TAMPERED" in out and "UPDATE" in out
    assert main(["ledger", "verify", "-w", str(root), "--lang", "en"]) == 1
    assert "sealed" in capsys.readouterr().out.replace("│", "")
    assert main(["ledger", "verify", "-w", str(root), "--lang", "fr"]) == 2


def test_proving_a_leaf_outside_the_tree_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "w"
    init_workspace(root).close()
    assert main(["ledger", "prove", "7", "-w", str(root)]) == 2
    err = capsys.readouterr().err
    assert "not in the signed tree" in err and "Traceback" not in err


def test_prove_by_event_id_after_a_journal_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kansa.ledger import journal, seal_pending

    root = tmp_path / "w"
    with init_workspace(root) as ws:
        journal(ws, "incident", {"id": "INC-1", "status": "opened"}, "privacy-officer")
        ws.con.execute(
            "INSERT INTO access_events (event_id, ts, action, source_system, batch_id) VALUES (0, ?, 'read', 'app', 1)",
            [datetime(2024, 1, 1, tzinfo=UTC)],
        )
        seal_pending(ws)
    code, proof = _run(["ledger", "prove", "0", "--event", "access", "-w", str(root), "--json"], capsys)
    assert code == 0 and proof["leaf_index"] == 1 and proof["kind"] == "access" and proof["ref_id"] == 0
    assert main(["ledger", "prove", "5", "--event", "access", "-w", str(root)]) == 2
    assert "not sealed" in capsys.readouterr().err


def test_deleted_subject_row_fails_verify_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "w"
    with init_workspace(root) as ws:
        for i in range(3):
            ws.con.execute(
                "INSERT INTO access_events (event_id, ts, action, owner_id, source_system, batch_id)"
                " VALUES (?, ?, 'read', 'city', 'app', 1)",
                [i, datetime(2024, 1, 1, 9, i, tzinfo=UTC)],
            )
            ws.con.execute("INSERT INTO access_subjects VALUES (?, 'city', ?), (?, 'city', 'R-0')", [i, f"R-{i + 1}", i])
    w = ["-w", str(root), "--json"]
    assert _run(["ledger", "seal", *w], capsys)[0] == 0
    code, proof = _run(["ledger", "prove", "1", *w], capsys)
    assert code == 0 and proof["ok"] and proof["encoding"] == "frame-v2s"
    with init_workspace(root, exist_ok=True) as ws:
        ws.con.execute("DELETE FROM access_subjects WHERE event_id = 1 AND subject_id = 'R-2'")
    code, bad = _run(["ledger", "verify", *w], capsys)
    assert code == 1 and bad["first_bad"] == 1 and bad["bad_leaves"][0]["problem"] == "row changed"
    assert main(["ledger", "verify", "-w", str(root), "--lang", "en"]) == 1
    assert "access_subjects" in capsys.readouterr().out.replace("│", "").replace("\n", "")


def test_verify_prints_what_it_counted_besides_tampering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "w"
    with init_workspace(root) as ws:
        ws.con.execute(
            "INSERT INTO access_events (event_id, ts, action, source_system, batch_id) VALUES (1, ?, 'read', 'app', 1)",
            [datetime(2024, 1, 1, 9, tzinfo=UTC)],
        )
    assert main(["ledger", "seal", "-w", str(root)]) == 0
    capsys.readouterr()
    assert main(["ledger", "verify", "-w", str(root)]) == 0
    assert "belong to no event" not in capsys.readouterr().out
    with init_workspace(root, exist_ok=True) as ws:
        ws.con.execute("INSERT INTO access_subjects VALUES (99, 'city', 'R-1')")  # event 99 does not exist
    assert main(["ledger", "verify", "-w", str(root)]) == 0
    assert "1 subject row(s) belong to no event" in capsys.readouterr().out
