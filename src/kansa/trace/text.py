"""Text folding shared by every normaliser: width, spacing and kanji numerals.

Each field normaliser (names, kana, addresses, phones, dates) starts from the same fold so that a
value typed on a different keyboard, copied from a PDF or exported from an old system compares
equal. Kept separate so that the field modules do not import each other.
"""

from __future__ import annotations

import re
import unicodedata

SPACES = re.compile(r"[\s\u3000]+")
# Separators people put inside names and readings: spaces, middle dots, commas, full stops.
NAME_SEPARATORS = re.compile(r"[\s\u3000・･,，、.．]+")
DASHES = re.compile(r"[‐‑‒–—―−－﹣-]")

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "壱": 1, "二": 2, "弐": 2, "三": 3, "参": 3, "四": 4, "五": 5,
                 "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "拾": 10, "百": 100, "千": 1000}
KANJI_NUMERAL = "〇零一壱二弐三参四五六七八九十拾百千"
KANJI_NUMBER_RE = re.compile(f"[{KANJI_NUMERAL}]+")


def fold(text: object) -> str:
    """NFKC (full-width ASCII → ASCII, half-width kana → full), trimmed; None → ''."""
    if text is None:
        return ""
    return unicodedata.normalize("NFKC", str(text)).strip()


def kanji_to_int(text: str) -> int | None:
    """A kanji numeral as a number: 二十三 → 23, 百二 → 102, 一〇二 → 102, 元 is not handled here.

    Returns None when ``text`` holds anything but kanji numerals.
    """
    if not text or any(c not in _KANJI_DIGITS and c not in _KANJI_UNITS for c in text):
        return None
    if not any(c in _KANJI_UNITS for c in text):  # positional: 一〇二
        return int("".join(str(_KANJI_DIGITS[c]) for c in text))
    total, digit = 0, None
    for c in text:
        if c in _KANJI_DIGITS:
            digit = _KANJI_DIGITS[c]
        else:
            total += (1 if digit is None else digit) * _KANJI_UNITS[c]
            digit = None
    return total + (digit or 0)


def kanji_numbers_to_digits(text: str) -> str:
    """Replace every run of kanji numerals by its arabic value (use only where no place names are)."""
    return KANJI_NUMBER_RE.sub(lambda m: str(kanji_to_int(m.group(0))), text)
