"""Reading leaked lists as they really arrive: lying headers, no headers, combined columns, odd
encodings, broken bytes, unquoted commas, sensitive numbers. Every file is made in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from kansa.model.errors import InputError
from kansa.trace.ids import my_number_check_digit
from kansa.trace.normalize import norm_address, norm_phone
from kansa.trace.reader import read_table

from .people import make_people, write_csv


def _types(table: object) -> dict[int, str | None]:
    return {c["index"]: c["type"] for c in table.report()["columns"]}  # type: ignore[attr-defined]


def test_values_win_when_headers_lie(tmp_path: Path) -> None:
    people = make_people(30, seed=1, prefix="L")
    # the broker's "TEL" column holds birth dates and "生年月日" holds phone numbers
    path = write_csv(tmp_path / "lie.csv", ["氏名", "TEL", "生年月日"],
                     [[p.name, p.dob.strftime("%Y/%m/%d"), p.phone] for p in people])
    table = read_table(path)
    assert table.columns == {"name": 0, "dob": 1, "phone": 2}
    notes = [c["note"] for c in table.report()["columns"]]
    assert "header says phone" in notes[1] and "header says dob" in notes[2]


def test_headerless_any_order(tmp_path: Path) -> None:
    people = make_people(40, seed=2, prefix="N")
    rows = [[p.kana, "男" if i % 2 else "女", p.address, p.phone, p.name] for i, p in enumerate(people)]
    path = write_csv(tmp_path / "noheader.csv", ["x"], [])
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    table = read_table(path)
    assert not table.has_header and len(table.rows) == 40 and table.first_data_line == 1
    assert _types(table) == {0: "kana", 1: "sex", 2: "address", 3: "phone", 4: "name"}
    assert table.fields(table.rows[0])["sex"] == "女"


def test_english_headers(tmp_path: Path) -> None:
    people = make_people(10, seed=3, prefix="E")
    path = write_csv(tmp_path / "en.csv", ["Full Name", "Kana", "Date of Birth", "Phone No", "Address", "Gender"],
                     [[p.name, p.kana, p.dob.isoformat(), p.phone, p.address, "F"] for p in people])
    table = read_table(path)
    assert table.columns == {"name": 0, "kana": 1, "dob": 2, "phone": 3, "address": 4, "sex": 5}


@pytest.mark.parametrize("header", ["宛先", "データ"])  # by header word, and by content alone
def test_name_and_address_in_one_column_are_split(tmp_path: Path, header: str) -> None:
    people = make_people(20, seed=4, prefix="C")
    path = write_csv(tmp_path / "combined.csv", [header, "電話"],
                     [[f"{p.name}　{p.address}", p.phone] for p in people])
    table = read_table(path)
    assert table.columns.get("name_address") == 0
    assert table.canonical_fields == ["address", "name", "phone"]
    got = table.fields(table.rows[3])
    assert got["name"] == people[3].name and norm_address(got["address"]) == norm_address(people[3].address)


@pytest.mark.parametrize(("encoding", "delimiter"), [("euc_jp", ","), ("utf-16", "\t"), ("utf-8-sig", ";"), ("cp932", "|")])
def test_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str) -> None:
    people = make_people(15, seed=5, prefix="D")
    lines = [delimiter.join(["氏名", "フリガナ", "電話番号"])] + [delimiter.join([p.name, p.kana, p.phone]) for p in people]
    path = tmp_path / "enc.txt"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    table = read_table(path)
    assert table.columns == {"name": 0, "kana": 1, "phone": 2}
    assert [r[0] for r in table.rows] == [p.name for p in people]


def test_broken_bytes_are_reported_by_line(tmp_path: Path) -> None:
    people = make_people(10, seed=6, prefix="B")
    body = ["氏名,電話番号"] + [f"{p.name},{p.phone}" for p in people]
    data = "\n".join(body).encode("utf-8")
    cut = data.index(people[4].name.encode("utf-8")) + 1  # line 6: break a multi-byte character
    path = tmp_path / "broken.csv"
    path.write_bytes(data[:cut] + b"\xff" + data[cut:])
    table = read_table(path)
    assert table.report()["damaged_lines"] == [6]
    assert len(table.rows) == 10  # nothing dropped


def test_unquoted_comma_is_repaired_and_numbering_kept(tmp_path: Path) -> None:
    people = make_people(12, seed=7, prefix="Q")
    lines = ["氏名,住所,電話番号", ""]
    for i, p in enumerate(people):
        addr = p.address.replace("-", ",", 1) if i == 5 else p.address  # an unquoted comma
        lines.append(f"{p.name},{addr},{p.phone}")
    path = tmp_path / "commas.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_table(path)
    assert len(table.rows) == 12 and table.line_of(0) == 3 and table.line_of(5) == 8
    assert [r["line"] for r in table.report()["repaired_lines"]] == [8]
    rec = table.records()[5]
    assert rec["name"] == people[5].name and norm_phone(rec["phone"]) == norm_phone(people[5].phone)


def test_sensitive_numbers_never_leave_the_reader(tmp_path: Path) -> None:
    people = make_people(10, seed=8, prefix="M")
    numbers = [f"{i:011d}" for i in range(1, 11)]
    numbers = [n + str(my_number_check_digit(n)) for n in numbers]
    path = write_csv(tmp_path / "mn.csv", ["氏名", "番号"], [[p.name, n] for p, n in zip(people, numbers, strict=True)])
    table = read_table(path)
    assert table.report()["sensitive_columns"] == [{"index": 1, "type": "my_number"}]
    dumped = json.dumps([table.fields(r) for r in table.rows] + [table.report()], ensure_ascii=False)
    assert not any(n in dumped for n in numbers)
    assert people[0].name not in json.dumps(table.report(), ensure_ascii=False)  # the report holds no values


def test_first_row_of_data_is_not_taken_for_a_header(tmp_path: Path) -> None:
    # a reading that contains the header word カナ, on a row that also holds a phone number
    path = tmp_path / "h.csv"
    path.write_text("ヤマダ カナコ,090-1111-2222\nサトウ ハナコ,080-3333-4444\n", encoding="utf-8")
    table = read_table(path)
    assert not table.has_header and len(table.rows) == 2 and table.columns == {"kana": 0, "phone": 1}


def test_excel_numbers_and_sheets(tmp_path: Path) -> None:
    wb = Workbook()
    first = wb.active
    assert first is not None
    first.title = "empty"
    sheet = wb.create_sheet("list")
    sheet.append(["氏名", "電話番号", "生年月日"])
    sheet.append(["山田太郎", 9012345678, 31110])  # leading zero lost, date as a serial number
    path = tmp_path / "x.xlsx"
    wb.save(path)
    table = read_table(path)
    assert table.encoding == "xlsx:list"
    rec = table.fields(table.rows[0])
    assert norm_phone(rec["phone"]) == "09012345678"
    from kansa.trace.normalize import norm_date

    assert norm_date(rec["dob"]) == "1985-03-04"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", b"\n\n", "empty"),
    ("old.xls", b"\xd0\xcf\x11\xe0", ".xls"),
    ("nothing.csv", b"a,b\n1,2\n", "no personal-data column"),
])
def test_bad_files_name_themselves(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_table(path)
    assert message in str(err.value) and name in str(err.value)


def test_title_lines_above_the_header_and_excel_text_tricks(tmp_path: Path) -> None:
    people = make_people(6, seed=21, prefix="T")
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.append(["顧客氏名一覧"])
    sheet.append(["作成日", "2024/03/01"])
    sheet.append([])
    sheet.append(["No", "氏名", "電話番号"])
    for i, p in enumerate(people, start=1):
        sheet.append([i, p.name, p.phone])
    path = tmp_path / "titled.xlsx"
    wb.save(path)
    table = read_table(path)
    assert table.header == ["No", "氏名", "電話番号"] and len(table.rows) == 6
    assert table.preamble_lines == [1, 2] and table.line_of(0) == 5
    assert table.columns == {"name": 1, "phone": 2}
    # a CSV saved from a spreadsheet keeps numbers as text with ="..." or a leading apostrophe
    csv_path = tmp_path / "quoted.csv"
    csv_path.write_text("氏名,電話番号\n" + "".join(
        f'{p.name},"=""{p.phone.replace("-", "")}"""\n' if i % 2 else f"{p.name},'{p.phone.replace('-', '')}\n"
        for i, p in enumerate(people)), encoding="utf-8")
    quoted = read_table(csv_path)
    assert quoted.columns == {"name": 0, "phone": 1}
    assert [norm_phone(r[1]) for r in quoted.rows] == [norm_phone(p.phone) for p in people]
    assert all(r[1].isdigit() for r in quoted.rows)


def test_bom_is_dropped_when_the_encoding_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text("顧客番号,氏名\nC1,山田太郎\n", encoding="utf-8-sig")
    table = read_table(path, encoding="utf-8", id_column="顧客番号")
    assert table.header == ["顧客番号", "氏名"] and table.columns == {"name": 1, "id": 0}


def test_postcodes_are_checked_against_addresses(tmp_path: Path) -> None:
    path = tmp_path / "pc.csv"
    path.write_text("氏名,郵便番号,住所\n山田太郎,530-0001,大阪府大阪市北区梅田1-2-3\n"
                    "佐藤花子,5300001,東京都府中市宮西町1-1\n鈴木一郎,0000000,大阪府大阪市北区梅田1-2-4\n", encoding="utf-8")
    check = read_table(path).report()["postcode_check"]
    assert check == {"checked": 2, "agree": 1, "disagree_lines": [3]}
