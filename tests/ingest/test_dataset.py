"""Owner datasets: encodings detected, Excel read, id column checked, one-line errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from openpyxl import Workbook

from kansa.ingest import ingest_dataset
from kansa.ingest.dataset import read_dataset_file
from kansa.model.errors import InputError
from kansa.model.workspace import init_workspace

HEADER = ["納税者番号", "氏名", "フリガナ", "生年月日", "住所", "電話番号"]
ROWS = [
    ["T0001", "山田 太郎", "ヤマダ タロウ", "昭和55年4月1日", "大阪府大阪市北区梅田1-2-3", "06-1234-5678"],
    ["T0002", "佐藤 花子", "サトウ ハナコ", "1985-07-15", "大阪府堺市堺区南瓦町2-1", "072-222-3333"],
    ["T0003", "髙橋 健一", "タカハシ ケンイチ", "平成2年12月24日", "大阪府豊中市中桜塚3-1-1", "06-6858-2525"],
    ["T0004", "渡邊 美咲", "ワタナベ ミサキ", "1999-01-31", "大阪府吹田市泉町1-3-40", "06-6384-1231"],
]


# 髙 (IBM extension) exists in CP932 but not in EUC-JP: what an EUC-JP system holds is 高.
ROWS_EUC = [[c.replace("髙", "高") for c in r] for r in ROWS]


def _write(path: Path, encoding: str, delim: str = ",", rows: list[list[str]] | None = None) -> Path:
    if rows is None:
        rows = ROWS_EUC if encoding == "euc_jp" else ROWS
    lines = [delim.join(r) for r in [HEADER, *rows]]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize(("encoding", "expected"), [
    ("cp932", "cp932"), ("euc_jp", "euc_jp"), ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8-sig")])
def test_encodings_are_detected(tmp_path: Path, encoding: str, expected: str) -> None:
    f = _write(tmp_path / "list.csv", encoding)
    got = read_dataset_file(f, id_column="納税者番号")
    assert got.encoding == expected
    assert got.header == HEADER  # no BOM left on the first header cell
    assert got.rows == (ROWS_EUC if encoding == "euc_jp" else ROWS)
    assert got.records == 4 and got.first_data_line == 2


def test_tsv_and_named_encoding(tmp_path: Path) -> None:
    f = _write(tmp_path / "list.tsv", "cp932", delim="\t")
    got = read_dataset_file(f, encoding="shift_jis")
    assert got.rows[2][1] == "髙橋 健一" and got.encoding == "cp932"


def test_excel_numbers_become_ids(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["番号", "氏名", "住所"])
    sheet.append([101, "山田 太郎", "大阪府大阪市北区梅田1-2-3"])
    sheet.append([None, None, None])  # a blank row Excel users leave behind
    sheet.append([102.0, "佐藤 花子", "大阪府堺市堺区南瓦町2-1"])
    f = tmp_path / "list.xlsx"
    book.save(f)
    got = read_dataset_file(f, id_column="番号")
    assert got.encoding == "xlsx" and [r[0] for r in got.rows] == ["101", "102"]


def test_ingest_records_dataset_with_metadata(tmp_path: Path) -> None:
    f = _write(tmp_path / "car-tax.csv", "cp932")
    with init_workspace(tmp_path / "ws") as ws:
        r = ingest_dataset(ws, f, "pref-osaka", "car-tax", version="2024", valid_from="2024-04-01",
                           valid_to="2025-03-31", id_column="納税者番号", categories=["basic", "tax"])
        assert r["records"] == 4 and r["encoding"] == "cp932" and not r["skipped"]
        row = ws.con.execute("SELECT dataset_id, owner_id, categories, valid_from::VARCHAR, records FROM datasets"
                             ).fetchone()
        assert row == ("pref-osaka/car-tax/2024", "pref-osaka", ["basic", "tax"], "2024-04-01", 4)
        again = ingest_dataset(ws, f, "pref-osaka", "car-tax", version="2024", id_column="納税者番号")
        assert again["skipped"]
        assert ws.con.execute("SELECT count(*) FROM datasets").fetchone() == (1,)


@pytest.mark.parametrize(("setup", "args", "message"), [
    ("cp932", {"id_column": "顧客ID"}, "no id column '顧客ID'; the columns are: 納税者番号, 氏名"),
    ("cp932", {"encoding": "utf-8"}, ":1: not valid utf-8"),
    ("cp932", {"encoding": "latin-9"}, "unknown encoding"),
    ("gzip", {}, "this is a gzip archive"),
    ("fake-xlsx", {}, "named like Excel but not an .xlsx file"),
    ("empty-id", {"id_column": "納税者番号"}, ":3: empty '納税者番号'"),
    ("binary", {}, "binary data"),
])
def test_bad_files_name_the_file(tmp_path: Path, setup: str, args: dict[str, str], message: str) -> None:
    f = tmp_path / ("list.xlsx" if setup == "fake-xlsx" else "list.csv")
    if setup == "cp932":
        _write(f, "cp932")
    elif setup == "gzip":
        f.write_bytes(gzip.compress("氏名\n山田\n".encode()))
    elif setup == "fake-xlsx":
        f.write_text("氏名\n山田\n", encoding="utf-8")
    elif setup == "empty-id":
        _write(f, "utf-8", rows=[ROWS[0], ["", *ROWS[1][1:]]])
    elif setup == "binary":
        f.write_bytes("氏名\n".encode("utf-16-le"))
    with pytest.raises(InputError) as err:
        read_dataset_file(f, **args)
    text = str(err.value)
    assert text.startswith(str(f)) and message in text and "\n" not in text


def test_bad_metadata_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    f = _write(tmp_path / "list.csv", "utf-8")
    with init_workspace(tmp_path / "ws") as ws:
        with pytest.raises(InputError, match="unknown category secret"):
            ingest_dataset(ws, f, "o", "n", categories=["basic", "secret"])
        with pytest.raises(InputError, match="before --valid-from"):
            ingest_dataset(ws, f, "o", "n", valid_from="2024-04-01", valid_to="2024-03-31")
        with pytest.raises(InputError, match="must be a date"):
            ingest_dataset(ws, f, "o", "n", valid_from="R6.4.1")
        assert ws.con.execute("SELECT count(*) FROM datasets").fetchone() == (0,)
