"""Ingest CLI on bad input: exit 2, one line on stderr naming the file, nothing ingested harmed."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from kansa.cli.main import main
from kansa.model.workspace import init_workspace, open_workspace


def _pg_line(n: int) -> str:
    ts = "2024-01-05 10:00:00.123 JST"
    msg = f'"AUDIT: SESSION,{n},1,READ,SELECT,TABLE,s.t,""SELECT * FROM s.t WHERE id = $1"",R{n}"'
    return (f'{ts},"maint01","db",4242,"10.0.0.5:5123",65a.1,{n},"SELECT",{ts},3/{n},0,LOG,00000,'
            f'{msg},,,,,,,,,"psql","client backend",,0\n')


def _access_line(n: int) -> str:
    return json.dumps({"time": "2024-03-04T10:15:02+09:00", "actor": f"op{n}", "action": "view",
                       "resource": "cartax/taxpayer", "owner": "pref-osaka", "subjects": [f"T{n}"]})


def _truncated_gzip(path: Path, text: str) -> Path:
    # random ids keep the stream from compressing to a few bytes, so half of it is really cut
    data = gzip.compress(text.encode())
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture
def ws(tmp_path: Path) -> list[str]:
    init_workspace(tmp_path / "ws").close()
    return ["-w", str(tmp_path / "ws")]


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("command", ["access", "ocsf", "pgaudit", "cert", "registry", "world"])
def test_missing_path(tmp_path: Path, ws: list[str], capsys: pytest.CaptureFixture[str], command: str) -> None:
    missing = tmp_path / "no-such" / "thing.log"
    assert main(["ingest", command, str(missing), *ws]) == 2
    assert str(missing) in _error_line(capsys)


@pytest.mark.parametrize("command", ["cert", "registry", "world"])
def test_a_file_where_a_folder_is_needed(tmp_path: Path, ws: list[str], capsys: pytest.CaptureFixture[str],
                                         command: str) -> None:
    f = tmp_path / "log.csv"
    f.write_text("a,b\n", encoding="utf-8")
    assert main(["ingest", command, str(f), *ws]) == 2
    assert str(f) in _error_line(capsys)


@pytest.mark.parametrize(("command", "name", "line"), [
    ("pgaudit", "pg.csv.gz", _pg_line), ("ocsf", "ocsf.jsonl.gz", _access_line),
    ("access", "app.jsonl.gz", _access_line)])
def test_truncated_gzip_changes_nothing(tmp_path: Path, ws: list[str], capsys: pytest.CaptureFixture[str],
                                       command: str, name: str, line: object) -> None:
    good = tmp_path / "good.csv"
    good.write_text(_pg_line(1), encoding="utf-8")
    assert main(["ingest", "pgaudit", str(good), *ws]) == 0
    capsys.readouterr()
    rng = random.Random(5)
    text = "".join((line(rng.randint(1, 10**9)) + ("" if command == "pgaudit" else "\n"))  # type: ignore[operator]
                   for _ in range(3000))
    bad = _truncated_gzip(tmp_path / name, text)
    assert main(["ingest", command, str(bad), *ws]) == 2
    assert str(bad) in _error_line(capsys)
    with open_workspace(Path(ws[1])) as w:
        assert w.con.execute("SELECT count(*) FROM access_events").fetchone() == (1,)
        assert w.con.execute("SELECT count(*) FROM ingest_files WHERE path = ?", [str(bad)]).fetchone() == (0,)
        assert w.con.execute("SELECT count(*) FROM ingest_batches").fetchone() == (1,)


@pytest.mark.parametrize(("name", "content", "needle"), [
    ("app.csv", "\n".join(_access_line(i) for i in range(30)) + "\n", "not a PostgreSQL csvlog"),
    ("short.csv", "time,actor,action\n2024-01-01,a,view\n", "not a PostgreSQL csvlog"),
    ("picture.csv", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a PostgreSQL csvlog"),
    ("pg.json", _pg_line(1), "not a PostgreSQL jsonlog"),
])
def test_pgaudit_of_the_wrong_kind(tmp_path: Path, ws: list[str], capsys: pytest.CaptureFixture[str],
                                   name: str, content: str, needle: str) -> None:
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    assert main(["ingest", "pgaudit", str(f), *ws]) == 2
    err = _error_line(capsys)
    assert str(f) in err and needle in err
    with open_workspace(Path(ws[1])) as w:
        assert w.con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


def test_damaged_lines_in_a_real_log_are_quarantined_not_fatal(
        tmp_path: Path, ws: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "pg.csv"
    f.write_text(_pg_line(1) + "only,three,fields\n" + _pg_line(2), encoding="utf-8")
    assert main(["ingest", "pgaudit", str(f), *ws, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["events"], out["quarantined"]) == (2, 1)


def test_several_files_each_atomic_errors_listed(tmp_path: Path, ws: list[str],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "pg-1.csv", tmp_path / "pg-3.csv"
    a.write_text(_pg_line(1), encoding="utf-8")
    b.write_text(_pg_line(2) + _pg_line(3), encoding="utf-8")
    missing = tmp_path / "pg-2.csv"
    assert main(["ingest", "pgaudit", str(a), str(missing), str(b), *ws, "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert [f["path"] for f in out["files"]] == [str(a), str(b)] and out["events"] == 3
    assert len(out["errors"]) == 1 and str(missing) in out["errors"][0]
    assert main(["ingest", "pgaudit", str(a), str(b), *ws]) == 0  # again: both already in, nothing changes
    assert "already ingested" in " ".join(capsys.readouterr().out.split())
