"""Normalisation: the same person written differently must fold to the same text."""

from __future__ import annotations

from datetime import date

import pytest

from kansa.trace.normalize import norm_address, norm_date, norm_kana, norm_name, norm_phone


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("昭和60年3月4日", "1985-03-04"),
        ("S60.3.4", "1985-03-04"),
        ("s60/03/04", "1985-03-04"),
        ("平成元年1月8日", "1989-01-08"),
        ("令和2年5月1日", "2020-05-01"),
        ("大正15年12月24日", "1926-12-24"),
        ("１９８５年３月４日", "1985-03-04"),
        ("1985/3/4", "1985-03-04"),
        ("19850304", "1985-03-04"),
        (date(1985, 3, 4), "1985-03-04"),
    ],
)
def test_dates_fold_to_iso(raw: object, iso: str) -> None:
    assert norm_date(raw) == iso


@pytest.mark.parametrize("raw", ["", "不明", "平成31年2月30日", "2024-13-01", None])
def test_bad_dates_are_missing(raw: object) -> None:
    assert norm_date(raw) == ""


def test_kana_width_and_script_fold() -> None:
    assert norm_kana("ﾔﾏﾀﾞ ﾀﾛｳ") == norm_kana("やまだ　たろう") == norm_kana("ヤマダタロウ") == "ヤマダタロウ"
    assert norm_kana("ｷｯﾄ") == norm_kana("キツト")


def test_names_spaces_and_itaiji() -> None:
    assert norm_name("髙橋　一郎") == norm_name("高橋 一郎") == "高橋一郎"
    assert norm_name("渡邊 健") == norm_name("渡辺健")
    assert norm_name("佐藤") != norm_name("加藤")


def test_phone_digits() -> None:
    assert norm_phone("０９０－１２３４－５６７８") == norm_phone("090(1234)5678") == "09012345678"
    assert norm_phone("+81 90-1234-5678") == "09012345678"


def test_address_block_numbers() -> None:
    a = norm_address("大阪府大阪市北区梅田１丁目２番３号")
    assert a == norm_address("大阪府大阪市北区梅田1-2-3") == norm_address("大阪府 大阪市北区梅田1－2－3")
    assert a != norm_address("大阪府大阪市北区梅田1-2-4")
