"""Reading lists: encodings, Excel, header words and headerless columns."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from kansa.trace.reader import guess_columns, read_table

from .people import make_people


def test_header_words_in_both_languages() -> None:
    cols = guess_columns(["No", "氏名カナ", "お名前", "生年月日(和暦)", "TEL", "〒", "ご住所"])
    assert cols == {"kana": 1, "name": 2, "dob": 3, "phone": 4, "postcode": 5, "address": 6}
    assert guess_columns(["Name", "Birth date", "Phone"]) == {"name": 0, "dob": 1, "phone": 2}


def test_excel_with_date_cells(tmp_path: Path) -> None:
    people = make_people(5, seed=4, prefix="E")
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.append(["氏名", "生年月日"])
    for p in people:
        sheet.append([p.name, p.dob])
    path = tmp_path / "list.xlsx"
    wb.save(path)
    table = read_table(path)
    assert table.columns == {"name": 0, "dob": 1}
    assert [r[1] for r in table.rows] == [p.dob.isoformat() for p in people]


def test_cp932_headerless_by_content(tmp_path: Path) -> None:
    people = make_people(20, seed=6, prefix="H")
    path = tmp_path / "x.csv"
    lines = [f"{p.phone},{p.name},{p.dob.strftime('%Y/%m/%d')}" for p in people]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
    table = read_table(path)
    assert table.encoding in ("cp932", "shift_jis")
    assert table.first_data_line == 1 and len(table.rows) == 20
    assert table.columns == {"phone": 0, "name": 1, "dob": 2}


def test_split_name_columns_are_joined(tmp_path: Path) -> None:
    path = tmp_path / "split.csv"
    path.write_text("姓,名,セイ,メイ,電話\n山田,太郎,ヤマダ,タロウ,090-1111-2222\n", encoding="utf-8")
    table = read_table(path)
    assert table.canonical_fields == ["kana", "name", "phone"]
    assert table.fields(table.rows[0]) == {"name": "山田太郎", "family": "山田", "kana": "ヤマダタロウ",
                                          "phone": "090-1111-2222"}
