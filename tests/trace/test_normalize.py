"""Normalisation table tests: the same person written differently must fold to the same text,
and different people must not."""

from __future__ import annotations

from datetime import date

import pytest

from kansa.trace.normalize import (
    check_postcode,
    id_kind,
    is_card_number,
    is_my_number,
    norm_address,
    norm_date,
    norm_kana,
    norm_name,
    norm_phone,
    norm_sex,
    normalise_record,
    parse_address,
    phone_kind,
)


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("昭和60年3月4日", "1985-03-04"),
        ("S60.3.4", "1985-03-04"),
        ("s60/03/04", "1985-03-04"),
        ("昭45.3.2", "1970-03-02"),
        ("S45 3 2", "1970-03-02"),
        ("㍼45年3月2日", "1970-03-02"),
        ("昭和四十五年三月二日", "1970-03-02"),
        ("平成元年1月8日", "1989-01-08"),
        ("H1.1.8", "1989-01-08"),
        ("令和2年5月1日", "2020-05-01"),
        ("R2.5.1", "2020-05-01"),
        ("大正15年12月24日", "1926-12-24"),
        ("明治45年7月29日", "1912-07-29"),
        ("１９８５年３月４日", "1985-03-04"),
        ("1985/3/4", "1985-03-04"),
        ("1985-03-04 00:00:00", "1985-03-04"),
        ("19850304", "1985-03-04"),
        ("昭和60年3月4日生", "1985-03-04"),
        (31110, "1985-03-04"),  # Excel serial
        ("31110.0", "1985-03-04"),
        (date(1985, 3, 4), "1985-03-04"),
    ],
)
def test_dates_fold_to_iso(raw: object, iso: str) -> None:
    assert norm_date(raw) == iso


@pytest.mark.parametrize("raw", ["", "不明", "平成31年2月30日", "2024-13-01", None, "昭和70年1月1日", "12345678", "S0.1.1"])
def test_bad_dates_are_missing(raw: object) -> None:
    assert norm_date(raw) == ""


def test_excel_serials_only_when_asked() -> None:
    assert norm_date("31110", serials=False) == ""


@pytest.mark.parametrize(
    "same",
    [
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "やまだ　たろう", "ヤマダタロウ", "YAMADA TARO", "Yamada Tarō", "YAMADA TAROU"),
        ("サトウ", "さとう", "サトー", "SATO", "SATOH", "Satō"),
        ("ｷｮｳｺ", "キョウコ", "きよこ", "KYOKO"),  # small kana: bank-style lists have none
        ("シンイチ", "SHINICHI", "SINITI", "Shin'ichi"),  # Hepburn and kunrei, ン before a vowel
        ("ツトム", "TSUTOMU", "TUTOMU"),
        ("フジコ", "FUJIKO", "HUZIKO"),
        ("ジュン", "JUN", "ZYUN"),
        ("ホンマ", "HOMMA", "HONMA"),
        ("ヴィクトル", "ビクトル"),
        ("チヂミ", "チジミ"),
        ("ツヅキ", "ツズキ"),
        ("ケイコ", "ケーコ", "KEIKO"),
    ],
)
def test_readings_fold_together(same: tuple[str, ...]) -> None:
    assert len({norm_kana(s) for s in same}) == 1, {s: norm_kana(s) for s in same}


@pytest.mark.parametrize(("a", "b"), [("ヤマダ", "ヤマモト"), ("サトウ", "サイトウ"), ("キョウコ", "キミコ")])
def test_different_readings_stay_apart(a: str, b: str) -> None:
    assert norm_kana(a) != norm_kana(b)


@pytest.mark.parametrize(
    "same",
    [
        ("髙橋　一郎", "高橋 一郎", "高橋一郎"),
        ("山﨑", "山崎", "山嵜"),
        ("齋藤", "斎藤", "斉藤", "齊藤"),
        ("渡邊 健", "渡邉健", "渡辺・健"),
        ("國分", "国分"),
        ("𠮷田", "吉田"),
        ("德川", "徳川"),
        ("Taro Yamada", "YAMADA, Taro", "yamada taro"),
        ("ＡＢＥ", "Abe"),
    ],
)
def test_names_fold_together(same: tuple[str, ...]) -> None:
    assert len({norm_name(s) for s in same}) == 1, {s: norm_name(s) for s in same}


@pytest.mark.parametrize(("a", "b"), [("佐藤", "加藤"), ("高橋", "高田"), ("Taro Yamada", "Jiro Yamada")])
def test_different_names_stay_apart(a: str, b: str) -> None:
    assert norm_name(a) != norm_name(b)


@pytest.mark.parametrize(
    ("raw", "digits", "kind"),
    [
        ("０９０－１２３４－５６７８", "09012345678", "mobile"),
        ("090(1234)5678", "09012345678", "mobile"),
        ("+81 90-1234-5678", "09012345678", "mobile"),
        ("0081-90-1234-5678", "09012345678", "mobile"),
        ("9012345678", "09012345678", "mobile"),  # leading zero lost in Excel
        ("(06)6123-4567", "0661234567", "fixed"),
        ("+81 (0)3-1234-5678", "0312345678", "fixed"),
        ("03-1234-5678 内線123", "0312345678", "fixed"),
        ("050-1234-5678", "05012345678", "ip"),
        ("0120-123-456", "0120123456", "toll_free"),
        ("0570-000-123", "0570000123", "shared_cost"),
        ("1234", "1234", "invalid"),
    ],
)
def test_phones(raw: str, digits: str, kind: str) -> None:
    assert norm_phone(raw) == digits
    assert phone_kind(raw) == kind


@pytest.mark.parametrize(
    "same",
    [
        (
            "大阪府大阪市北区梅田1-2-3",
            "大阪府大阪市北区梅田１丁目２番３号",
            "大阪府 大阪市北区梅田一丁目2番3号",
            "大阪市北区梅田1－2－3",  # no prefecture: the municipality names only one
            "〒530-0001 大阪府大阪市北区梅田1ー2ー3",
            "大阪府大阪市北区梅田1丁目2番地3",
            "大阪府大阪市北区梅田1の2の3",
        ),
        ("大阪府大阪市北区梅田1-2-3 梅田ハイツ101号室", "大阪府大阪市北区梅田1-2-3-101", "大阪府大阪市北区梅田1-2-3　101号",
         "大阪府大阪市北区梅田1-2-3 梅田ハイツ 1階 101", "大阪府大阪市北区梅田1-2-3-1F-101"),  # floors are not blocks
        ("大阪府吹田市千里丘上778番地の4", "大阪府吹田市千里丘上778-4", "吹田市千里丘上七七八番地4"),
        ("北海道石狩郡当別町弥生1-2", "北海道当別町弥生1番2号"),  # 郡 left out
        ("青森県西津軽郡鰺ヶ沢町本町1", "青森県西津軽郡鰺ケ沢町本町1"),
    ],
)
def test_addresses_fold_together(same: tuple[str, ...]) -> None:
    assert len({norm_address(s) for s in same}) == 1, {s: norm_address(s) for s in same}


def test_address_parts_and_differences() -> None:
    p = parse_address("大阪府大阪市北区梅田一丁目2番3号 梅田ハイツ101号室")
    assert (p.prefecture, p.municipality, p.town, p.block, p.room, p.building) == (
        "大阪府", "大阪市北区", "梅田", "1-2-3", "101", "梅田ハイツ")
    assert norm_address("大阪府大阪市北区梅田1-2-3") != norm_address("大阪府大阪市北区梅田1-2-4")
    # a town whose name holds a numeral keeps it: only block numbers are converted
    assert parse_address("宮城県仙台市青葉区一番町四丁目1番地").town == "一番町"
    assert parse_address("宮城県仙台市青葉区一番町四丁目1番地").block == "4-1"
    # 府中市 exists in Tokyo and Hiroshima: no prefecture is guessed
    assert parse_address("府中市宮西町1-1").prefecture == ""


def test_postcode_lookup_checks_the_address() -> None:
    assert check_postcode("530-0001", "大阪府大阪市北区梅田1-2-3") is True
    assert check_postcode("5300001", "東京都府中市宮西町1-1") is False
    assert check_postcode("0000000", "大阪府大阪市北区梅田1-2-3") is None


def test_postcode_completes_an_address_without_municipality() -> None:
    rec = normalise_record({"address": "梅田１－２－３", "postcode": "530-0001"})
    assert rec["address"] == norm_address("大阪府大阪市北区梅田1-2-3")


def test_sensitive_numbers_are_recognised() -> None:
    assert is_my_number("1234 5678 9018") and not is_my_number("123456789012")
    assert is_card_number("4111-1111-1111-1111") and not is_card_number("4111111111111112")
    assert id_kind("3530111333300000") == "card" and id_kind("090-1234-5678") is None
    # nothing downstream sees them: they are not comparison fields
    assert "my_number" not in normalise_record({"name": "山田", "my_number": "123456789018"})


@pytest.mark.parametrize(("raw", "sex"), [("男", "M"), ("女性", "F"), ("F", "F"), ("male", "M"), ("1", "M"), ("2", "F"), ("不明", "")])
def test_sex(raw: str, sex: str) -> None:
    assert norm_sex(raw) == sex


@pytest.mark.parametrize(("a", "b"), [("SMITH", "SMYTH"), ("LEE", "LI"), ("Blake", "Flake"), ("WHITE", "WHYTE")])
def test_foreign_names_are_not_read_as_romaji(a: str, b: str) -> None:
    # only words that read as Japanese romaji become kana; other Latin names stay as written
    assert norm_name(a) == a.upper() and norm_name(a) != norm_name(b)
    assert norm_kana(a) == a.upper()
