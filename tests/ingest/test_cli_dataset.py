"""`kansa ingest dataset`: registered, indexed for trace, and one-line errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kansa.cli.main import main
from kansa.model.workspace import init_workspace, open_workspace

CSV = (
    "顧客番号,氏名,フリガナ,生年月日,電話番号,住所\r\n"
    "C001,山田 太郎,ヤマダ タロウ,1980-04-01,06-1234-5678,大阪府大阪市北区梅田1-2-3\r\n"
    "C002,佐藤 花子,サトウ ハナコ,1985-07-15,072-222-3333,大阪府堺市堺区南瓦町2-1\r\n"
    "C003,鈴木 一郎,スズキ イチロウ,1970-01-02,06-6858-2525,大阪府豊中市中桜塚3-1-1\r\n"
)


@pytest.fixture
def ws(tmp_path: Path) -> list[str]:
    init_workspace(tmp_path / "ws").close()
    return ["-w", str(tmp_path / "ws")]


def test_dataset_is_recorded_and_indexed(tmp_path: Path, ws: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "customers.csv"
    f.write_bytes(CSV.encode("cp932"))
    args = ["ingest", "dataset", str(f), "--owner", "insurer-a", "--name", "customers", "--version", "2024",
            "--id-column", "顧客番号", "--categories", "basic,contact", "--valid-from", "2024-01-01", *ws]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"]["records"] == 3 and out["dataset"]["encoding"] == "cp932"
    assert out["trace"]["records"] == 3 and "name" in out["trace"]["fields"]
    with open_workspace(Path(ws[1])) as w:
        assert w.con.execute("SELECT records, categories FROM datasets").fetchone() == (3, ["basic", "contact"])
    assert main(args) == 0  # people's output; the same file again changes nothing
    assert "unchanged" in capsys.readouterr().out


def test_without_id_column_row_numbers_are_ids(tmp_path: Path, ws: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "list.csv"
    f.write_text(CSV, encoding="utf-8-sig")
    assert main(["ingest", "dataset", str(f), "--owner", "o", "--name", "n", *ws, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"]["id_column"] is None and out["dataset"]["encoding"] == "utf-8-sig"
    assert out["trace"]["records"] == 3


@pytest.mark.parametrize(("content", "extra", "needle"), [
    (CSV.encode("cp932"), ["--id-column", "会員番号"], "no id column '会員番号'; the columns are: 顧客番号, 氏名"),
    (CSV.encode("cp932"), ["--encoding", "euc-jp"], "not valid euc-jp"),
    (b"%PDF-1.7\n...", [], "a PDF document"),
    (CSV.encode("utf-8"), ["--categories", "basic,gossip"], "unknown category gossip"),
])
def test_dataset_errors_are_one_line(tmp_path: Path, ws: list[str], capsys: pytest.CaptureFixture[str],
                                     content: bytes, extra: list[str], needle: str) -> None:
    f = tmp_path / "list.csv"
    f.write_bytes(content)
    assert main(["ingest", "dataset", str(f), "--owner", "o", "--name", "n", *extra, *ws]) == 2
    err = capsys.readouterr().err.strip()
    assert str(f) in err and needle in err and len(err.splitlines()) == 1
