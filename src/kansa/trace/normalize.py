"""Normalise Japanese personal fields so that two copies of the same person compare equal.

A leaked list is rarely a byte copy of the source: half-width kana, full-width digits, spaces
between family and given name, 和暦 dates, phone numbers with or without hyphens, old character
forms (髙/高). Every comparison kansa makes (keyed hashes and Bloom encodings) goes through these
functions, so the owner's dataset and the leak are folded to the same canonical text first.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

import jaconv

# Old/variant forms common in names (itaiji) folded to the everyday form. Small on purpose: only
# pairs that are the same name in the resident registry's everyday use.
_ITAIJI = str.maketrans(
    {
        "髙": "高", "﨑": "崎", "嵜": "崎", "邊": "辺", "邉": "辺", "齋": "斎", "齊": "斎",
        "濱": "浜", "澤": "沢", "廣": "広", "櫻": "桜", "嶋": "島", "嶌": "島", "國": "国",
        "德": "徳", "瀨": "瀬", "冨": "富", "栁": "柳", "槇": "槙", "龍": "竜", "惠": "恵",
        "實": "実", "眞": "真", "學": "学", "榮": "栄", "藏": "蔵", "圓": "円", "壽": "寿",
    }
)
_SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_SPACES = re.compile(r"[\s\u3000・･,，.．]+")
_DASHES = re.compile(r"[‐‑‒–—―−－ｰ-]")

_ERAS: dict[str, int] = {"明治": 1867, "大正": 1911, "昭和": 1925, "平成": 1988, "令和": 2018}
_ERA_LETTERS: dict[str, str] = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
_ERA_RE = re.compile(r"^(明治|大正|昭和|平成|令和|[MTSHR])\s*(元|\d{1,2})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?$")
_WESTERN_RE = re.compile(r"^(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def fold(text: object) -> str:
    """NFKC (full-width ASCII → ASCII, half-width kana → full), trimmed; None → ''."""
    if text is None:
        return ""
    return unicodedata.normalize("NFKC", str(text)).strip()


def norm_name(text: object) -> str:
    """A kanji (or any-script) name: NFKC, no spaces or dots, variant forms folded, upper case."""
    s = _SPACES.sub("", fold(text)).translate(_ITAIJI)
    return s.upper()


def norm_kana(text: object) -> str:
    """A reading: hiragana → katakana, small kana → large, no spaces, long vowel kept."""
    s = _SPACES.sub("", fold(text))
    s = jaconv.hira2kata(s)
    return s.translate(_SMALL_KANA)


def norm_phone(text: object) -> str:
    """Digits only; an international +81 prefix becomes the domestic leading 0."""
    s = re.sub(r"\D", "", fold(text))
    if s.startswith("81") and len(s) in (11, 12) and fold(text).lstrip().startswith("+"):
        s = "0" + s[2:]
    return s


def norm_address(text: object) -> str:
    """NFKC, no spaces, 丁目/番地/番/号 and every dash spelled as '-', no trailing dash."""
    s = _SPACES.sub("", fold(text))
    s = s.translate(_ITAIJI)
    s = re.sub(r"(\d)\s*(?:丁目|番地|番|号|の)", r"\1-", s)
    s = _DASHES.sub("-", s)
    s = re.sub(r"-+", "-", s)
    return s.rstrip("-")


def norm_postcode(text: object) -> str:
    s = re.sub(r"\D", "", fold(text))
    return s if len(s) == 7 else ""


def norm_date(value: object) -> str:
    """A birth date as ISO 'YYYY-MM-DD' from western, compact or 和暦 (昭和60年3月4日, S60.3.4).

    Returns '' when the value is empty or not a valid date (the caller treats it as missing).
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    s = fold(value).replace(" ", "")
    if not s:
        return ""
    y: int
    m = _ERA_RE.match(s.upper()) or _ERA_RE.match(s)
    if m:
        era = _ERA_LETTERS.get(m.group(1), m.group(1))
        year_in_era = 1 if m.group(2) == "元" else int(m.group(2))
        y, mo, d = _ERAS[era] + year_in_era, int(m.group(3)), int(m.group(4))
    else:
        m = _WESTERN_RE.match(s) or _COMPACT_RE.match(s)
        if not m:
            return ""
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return ""


NORMALISERS = {
    "name": norm_name,
    "kana": norm_kana,
    "dob": norm_date,
    "phone": norm_phone,
    "address": norm_address,
    "postcode": norm_postcode,
}
"""Canonical field → normaliser. These fields are what kansa compares; everything else is ignored."""


def normalise_record(fields: dict[str, object]) -> dict[str, str]:
    """Normalise the canonical fields present in ``fields``; empty results are dropped."""
    out: dict[str, str] = {}
    for key, fn in NORMALISERS.items():
        if key in fields:
            v = fn(fields[key])
            if v:
                out[key] = v
    return out
