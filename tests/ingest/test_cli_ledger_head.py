"""`kansa ledger verify --head FILE`: a head kept by a witness proves today's ledger extends it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kansa.cli.main import main
from kansa.model.workspace import init_workspace, open_workspace


def _add_events(root: Path, start: int, n: int) -> None:
    with open_workspace(root) as ws:
        for i in range(start, start + n):
            ws.con.execute(
                "INSERT INTO access_events (event_id, ts, action, source_system, batch_id)"
                " VALUES (?, ?, 'view', 'access', 1)", [i, datetime(2024, 1, 1, 9, i, tzinfo=UTC)])


def _json(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


@pytest.fixture
def ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[list[str], Path]:
    """A ledger sealed at 4 events whose head a witness kept, then grown to 7 and sealed again."""
    root = tmp_path / "w"
    init_workspace(root).close()
    _add_events(root, 0, 4)
    w = ["-w", str(root)]
    assert main(["ledger", "seal", *w]) == 0
    capsys.readouterr()
    assert main(["ledger", "head", *w, "--json"]) == 0
    kept = tmp_path / "witness-head.json"
    kept.write_text(capsys.readouterr().out, encoding="utf-8")
    _add_events(root, 4, 3)
    assert main(["ledger", "seal", *w]) == 0
    capsys.readouterr()
    return w, kept


def test_grown_ledger_is_consistent_with_kept_head(ledger: tuple[list[str], Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    w, kept = ledger
    assert main(["ledger", "verify", *w, "--head", str(kept), "--json"]) == 0
    r = _json(capsys)
    assert r["ok"] and r["tree_size"] == 7 and r["head_file"] == {"path": str(kept), "consistent": True}
    assert r["heads_checked"] == 3  # two of the workspace, one kept
    # a list of heads (ledger head --all --json) works as well
    assert main(["ledger", "head", *w, "--all", "--json"]) == 0
    every = kept.with_name("all.json")
    every.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["ledger", "verify", *w, "--head", str(every)]) == 0
    assert "consistent with" in capsys.readouterr().out


def test_rebuilt_ledger_fails_against_kept_head(ledger: tuple[list[str], Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """An admin rewrites an early event AND rebuilds every leaf and head with the workspace key:
    the workspace's own heads agree again, only the head kept elsewhere shows it."""
    w, kept = ledger
    root = Path(w[1])
    with open_workspace(root) as ws:
        ws.con.execute("UPDATE access_events SET action = 'export' WHERE event_id = 1")
        ws.con.execute("DELETE FROM ledger_leaves")
        ws.con.execute("DELETE FROM ledger_heads")
    assert main(["ledger", "seal", *w]) == 0
    capsys.readouterr()
    assert main(["ledger", "verify", *w, "--json"]) == 0  # fooled without the witness
    capsys.readouterr()
    assert main(["ledger", "verify", *w, "--head", str(kept), "--json"]) == 1
    r = _json(capsys)
    assert not r["ok"] and r["head_file"]["consistent"] is False
    assert [(h["tree_size"], h["origin"], h["problem"]) for h in r["bad_heads"]] == [(4, "export", "root mismatch")]


def test_forged_signature_in_kept_head(ledger: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    w, kept = ledger
    head = json.loads(kept.read_text(encoding="utf-8"))
    head["signature"] = ("00" if not head["signature"].startswith("00") else "11") + head["signature"][2:]
    kept.write_text(json.dumps(head), encoding="utf-8")
    assert main(["ledger", "verify", *w, "--head", str(kept), "--json"]) == 1
    assert _json(capsys)["bad_heads"][0]["problem"] == "bad signature"


@pytest.mark.parametrize(("content", "needle"), [
    (None, "no such head file"),
    ('{"tree_size": 4,\n "root": ', ":2: not JSON"),
    ('{"tree_size": 4, "root": "ab"}', "not a signed tree head (missing timestamp_ms, signature)"),
    ('[{"tree_size": 4}]', "head 1: not a signed tree head"),
    ('{"format": "kansa-ledger-heads-v1", "heads": [{"tree_size": "x"}]}', "not a kansa heads export"),
])
def test_malformed_head_file_is_one_line(ledger: tuple[list[str], Path], capsys: pytest.CaptureFixture[str],
                                         content: str | None, needle: str) -> None:
    w, kept = ledger
    bad = kept.with_name("bad.json")
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    assert main(["ledger", "verify", *w, "--head", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(bad) in err and needle in err and len(err.splitlines()) == 1
