"""Birth dates from every way a Japanese list writes them, as ISO 'YYYY-MM-DD'.

Municipal and insurance systems print 和暦 (昭和45年3月2日, 昭45.3.2, S45.3.2, ㍼45/3/2, 平成元年,
昭和四十五年三月二日); spreadsheets hold western dates, compact 19700302 or Excel serial numbers
(25629) when a date cell lost its format. Everything becomes one ISO string; anything that is not
a real calendar date becomes '' (missing), never a guess.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from kansa.trace.text import KANJI_NUMBER_RE, fold, kanji_to_int

# Era → (year before its first year, last year-in-era accepted). 令和 is open-ended.
ERAS: dict[str, tuple[int, int]] = {
    "明治": (1867, 45), "大正": (1911, 15), "昭和": (1925, 64), "平成": (1988, 31), "令和": (2018, 99),
}
_ERA_ALIASES: dict[str, str] = {
    "M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和",
    "明": "明治", "大": "大正", "昭": "昭和", "平": "平成", "令": "令和",
}
_SEP = r"\s*(?:[年月./\-]|\s)\s*"
_ERA_RE = re.compile(
    r"^(明治|大正|昭和|平成|令和|[MTSHR明大昭平令])\.?\s*(元|\d{1,2})" + _SEP + r"(\d{1,2})" + _SEP
    + r"(\d{1,2})\s*日?\s*(?:生まれ|生)?$"
)
_WESTERN_RE = re.compile(
    r"^(\d{4})" + _SEP + r"(\d{1,2})" + _SEP + r"(\d{1,2})\s*日?\s*(?:生まれ|生)?(?:[ T]\d{1,2}:\d{2}.*)?$"
)
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL_RE = re.compile(r"^(\d{4,5})(?:\.0+)?$")
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 (after Excel's phantom 1900-02-29)
_SERIAL_MIN, _SERIAL_MAX = 61, 73050  # 1900-03-01 .. 2099-12-31


def excel_serial_to_date(serial: float) -> date | None:
    """An Excel (1900 system) day number → date, or None outside 1900-03-01..2099."""
    if not _SERIAL_MIN <= serial <= _SERIAL_MAX:
        return None
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def _iso(y: int, m: int, d: int) -> str:
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return ""


def parse_wareki(text: str) -> str:
    """A 和暦 date (any era spelling, 元年, kanji numerals) → ISO, or ''."""
    s = fold(text)
    if KANJI_NUMBER_RE.search(s):
        s = KANJI_NUMBER_RE.sub(lambda m: str(kanji_to_int(m.group(0))), s)
    m = _ERA_RE.match(s.upper()) or _ERA_RE.match(s)
    if not m:
        return ""
    era = _ERA_ALIASES.get(m.group(1), m.group(1))
    base, last = ERAS[era]
    year = 1 if m.group(2) == "元" else int(m.group(2))
    if not 1 <= year <= last:
        return ""
    return _iso(base + year, int(m.group(3)), int(m.group(4)))


def norm_date(value: object, serials: bool = True) -> str:
    """A date as ISO 'YYYY-MM-DD' from 和暦, western, compact or (with ``serials``) Excel serial.

    Returns '' when the value is empty or not a valid date (the caller treats it as missing).
    """
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        d = excel_serial_to_date(value) if serials else None
        return d.isoformat() if d else ""
    s = fold(value)
    if not s:
        return ""
    if s[0].isdigit():
        m = _WESTERN_RE.match(s) or _COMPACT_RE.match(s)
        if m:
            return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _SERIAL_RE.match(s)
        if m and serials:
            d = excel_serial_to_date(int(m.group(1)))
            return d.isoformat() if d else ""
        return ""
    return parse_wareki(s)


def looks_like_date(value: object) -> bool:
    """True for a written date (not a bare number: ids and serials look alike)."""
    return bool(norm_date(value, serials=False))
