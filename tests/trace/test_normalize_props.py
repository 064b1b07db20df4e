"""Property tests of the normalisers: folding twice changes nothing; width, script and spelling
differences that carry no information never change the result; check digits catch every
single-digit error."""

from __future__ import annotations

from datetime import date, timedelta

import jaconv
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kansa.trace.dates import excel_serial_to_date
from kansa.trace.ids import is_my_number, luhn_ok, my_number_check_digit
from kansa.trace.normalize import (
    norm_address,
    norm_date,
    norm_kana,
    norm_name,
    norm_phone,
)

KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F7)) + "ー"
HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097)) + "ー"
KANJI = "高髙崎﨑斎齋斉齊辺邊邉沢澤島嶋浜濱国國徳德吉𠮷竜龍山田中佐藤伊木村林井上松本梅橋一郎子美花"
ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
names = st.text(alphabet=KANJI + KATAKANA + "　 ・", min_size=1, max_size=12)
readings = st.text(alphabet=KATAKANA + " 　", min_size=1, max_size=14)
romaji = st.lists(st.sampled_from(["yamada", "taro", "sato", "shinichi", "kyoko", "tsutomu", "ono", "homma",
                                   "ichiro", "fujiko", "jun", "keiko"]), min_size=1, max_size=3).map(" ".join)
anything = st.text(alphabet=KANJI + KATAKANA + HIRAGANA + ASCII + "　 -・ｰ", max_size=20)


@settings(max_examples=200, deadline=None)
@given(anything)
def test_folding_twice_changes_nothing(s: str) -> None:
    for fn in (norm_name, norm_kana, norm_phone, norm_address):
        once = fn(s)
        assert fn(once) == once, (fn.__name__, s, once)


@settings(max_examples=200, deadline=None)
@given(names)
def test_names_ignore_width_and_spacing(s: str) -> None:
    half = jaconv.z2h(s, kana=True, ascii=True, digit=True)
    assert norm_name(half) == norm_name(s)
    assert norm_name(s.replace("　", "").replace(" ", "")) == norm_name(s)


@settings(max_examples=200, deadline=None)
@given(readings)
def test_readings_ignore_script_and_width(s: str) -> None:
    k = norm_kana(s)
    assert norm_kana(jaconv.kata2hira(s)) == k
    assert norm_kana(jaconv.z2h(s, kana=True)) == k


@settings(max_examples=100, deadline=None)
@given(romaji)
def test_romaji_case_and_order(s: str) -> None:
    assert norm_kana(s.upper()) == norm_kana(s.title()) == norm_kana(s)
    parts = s.split()
    assert norm_name(" ".join(reversed(parts))) == norm_name(s)


dates = st.dates(min_value=date(1912, 8, 1), max_value=date(2060, 12, 31))
_ERAS = ((date(2019, 5, 1), "令和", "R"), (date(1989, 1, 8), "平成", "H"), (date(1926, 12, 25), "昭和", "S"),
         (date(1912, 7, 30), "大正", "T"))


def _wareki(d: date) -> tuple[str, str]:
    start, era, letter = next(e for e in _ERAS if d >= e[0])
    y = d.year - start.year + 1
    return f"{era}{'元' if y == 1 else y}年{d.month}月{d.day}日", f"{letter}{y}.{d.month}.{d.day}"


@settings(max_examples=300, deadline=None)
@given(dates)
def test_every_date_spelling_gives_the_same_iso(d: date) -> None:
    iso = d.isoformat()
    long_form, short_form = _wareki(d)
    full_width = jaconv.h2z(d.strftime("%Y/%m/%d"), digit=True, ascii=True)
    serial = (d - date(1899, 12, 30)).days
    for v in (d, long_form, short_form, full_width, d.strftime("%Y%m%d"), f"{d.year}年{d.month}月{d.day}日", serial):
        assert norm_date(v) == iso, v
    assert excel_serial_to_date(serial) == d


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["070", "080", "090", "050"]), st.integers(0, 9999), st.integers(0, 9999))
def test_phone_spellings(prefix: str, a: int, b: int) -> None:
    digits = f"{prefix}{a:04d}{b:04d}"
    for v in (f"{prefix}-{a:04d}-{b:04d}", jaconv.h2z(f"{prefix}-{a:04d}-{b:04d}", digit=True, ascii=True),
              f"+81 {prefix[1:]} {a:04d} {b:04d}", f"({prefix}){a:04d}-{b:04d}", digits[1:]):
        assert norm_phone(v) == digits, v


_KANJI_NUM = "〇一二三四五六七八九"


def _kanji(n: int) -> str:
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else _KANJI_NUM[tens] + "十")) + ("" if ones == 0 else _KANJI_NUM[ones])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 9), st.integers(1, 40), st.integers(1, 30))
def test_block_number_spellings(c: int, b: int, g: int) -> None:
    base = "大阪府大阪市北区梅田"
    forms = [f"{base}{c}-{b}-{g}", f"{base}{_kanji(c)}丁目{b}番{g}号", jaconv.h2z(f"{base}{c}-{b}-{g}", digit=True, ascii=True),
             f"{base}{c}丁目{b}番地{g}", f"大阪市北区梅田{c}-{b}-{g}"]
    assert len({norm_address(f) for f in forms}) == 1, {f: norm_address(f) for f in forms}
    assert norm_address(f"{base}{c}-{b}-{g + 1}") != norm_address(forms[0])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=11, max_size=11), st.integers(0, 11), st.integers(1, 9))
def test_my_number_check_digit_catches_one_wrong_digit(first11: str, pos: int, delta: int) -> None:
    check = my_number_check_digit(first11)
    number = first11 + str(check)
    assert is_my_number(number)
    # remainders 0 and 1 share the check digit 0 (the ordinance's rule), so only a non-zero check
    # digit guarantees that every single-digit error shows
    assume(check != 0)
    wrong = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1:]
    assert not is_my_number(wrong)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=15, max_size=15), st.integers(0, 15), st.integers(1, 9))
def test_luhn_catches_one_wrong_digit(body: str, pos: int, delta: int) -> None:
    check = next(str(c) for c in range(10) if luhn_ok(body + str(c)))
    number = body + check
    wrong = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1:]
    assert not luhn_ok(wrong)


def test_serial_window() -> None:
    assert excel_serial_to_date(60) is None and excel_serial_to_date(61) == date(1900, 3, 1)
    assert excel_serial_to_date(61 + 1) == date(1900, 3, 1) + timedelta(days=1)
