"""Readings (フリガナ) folded to one spelling, whatever script, width or romanisation they arrive in.

The same reading is typed as ヤマダ タロウ, やまだたろう, ﾔﾏﾀﾞﾀﾛｳ (bank-style half-width, often without
small kana), YAMADA TARO (Hepburn, long vowels dropped) or YAMADA TAROU / SATOH (other
romanisations). The canonical form is katakana with every distinction that these spellings lose
folded away: small kana enlarged, ヴ→ブ, ヂ→ジ, ヅ→ズ, ヲ→オ, long vowels (ー, オウ, オオ, ウウ …)
collapsed to the short vowel and ン before a vowel merged as romaji writes it (ケンイチ = KENICHI).
The result is a comparison key, not something to show; two different readings may fold together
(大野 オオノ and 小野 オノ), which the other fields of a record then separate.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jaconv

from kansa.trace.text import NAME_SEPARATORS, fold

_ROWS = {
    "a": "アカサタナハマヤラワガザダバパァャヮ",
    "i": "イキシチニヒミリギジヂビピィ",
    "u": "ウクスツヌフムユルグズヅブプゥュ",
    "e": "エケセテネヘメレゲゼデベペェ",
    "o": "オコソトノホモヨロヲゴゾドボポォョ",
}
_VOWEL = {k: v for v, row in _ROWS.items() for k in row}
_VOWEL_KANA = {"ア": "a", "イ": "i", "ウ": "u", "エ": "e", "オ": "o"}
_N_ROW = {"a": "ナ", "i": "ニ", "u": "ヌ", "e": "ネ", "o": "ノ"}
# Spellings that carry no difference in a Japanese name's sound.
_SOUND_ALIKE = [("ヴァ", "バ"), ("ヴィ", "ビ"), ("ヴェ", "ベ"), ("ヴォ", "ボ"), ("ヴ", "ブ"), ("ヂ", "ジ"),
                ("ヅ", "ズ"), ("ヲ", "オ"), ("ヰ", "イ"), ("ヱ", "エ")]
_SMALL = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_LATIN = re.compile(r"[A-Za-z]")
_KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30fa]")
_MACRONS = str.maketrans({"ā": "aa", "ī": "ii", "ū": "uu", "ē": "ee", "ō": "ou", "â": "aa", "î": "ii",
                          "û": "uu", "ê": "ee", "ô": "ou"})


_ROMAJI_TOKEN = re.compile(
    r"(?:(?:sh|ch|ts|[kgnhbpmrszdtjc]y|[kgszjtdnhbpmyrwfv])?[aiueo]"  # a syllable
    r"|n'?"  # ン
    r"|([kgsztdhbpmrfjc])(?=\1)"  # the first of a doubled consonant (ッ)
    r"|t(?=ch)|m(?=[bmp])"  # ッチ, HOMMA
    r"|h(?=[^aiueo]|$))+"  # the passport long vowel: OHNO, SATOH
)


def is_japanese_romaji(text: str) -> bool:
    """True when every Latin word can be read as Japanese romaji (SMITH, BLAKE, LEE cannot).

    Only such words are read as kana: a foreign name spelt in Latin letters stays as it is, so two
    different foreign names are never folded together by a reading they do not have.
    """
    joined = NAME_SEPARATORS.sub("", text.lower().translate(_MACRONS))
    # judged without separators, so that a value and its folded form get the same answer
    return bool(joined) and _ROMAJI_TOKEN.fullmatch(joined) is not None


def romaji_to_katakana(text: str) -> str:
    """Hepburn, kunrei or passport romaji → katakana (SATOH, SATŌ and SATOU all read サトウ/サトオ).

    Hand-written only where jaconv's table needs help: macrons, the passport 'oh', 'm' before
    b/m/p (HOMMA = ホンマ) and a doubled 'n' before a vowel (SHINNOSUKE = シンノスケ).
    """
    s = text.lower().translate(_MACRONS)
    s = re.sub(r"oh(?=[^aiueo]|$)", "oo", s)
    s = re.sub(r"m(?=[bmp])", "n'", s)
    s = re.sub(r"nn(?=[aiueoy])", "n'n", s)
    s = re.sub(r"[^a-z' ]", "", s)
    return str(jaconv.alphabet2kata(s)).replace("'", "")


def _collapse(s: str) -> str:
    out: list[str] = []
    for ch in s:
        prev = out[-1] if out else ""
        pv = _VOWEL.get(prev) or _VOWEL_KANA.get(prev)
        if ch == "ー":
            if pv == "e":
                out.append("イ")  # ケーコ is written ケイコ
            continue
        v = _VOWEL_KANA.get(ch)
        if v is not None:
            if prev == "ン":
                out[-1] = _N_ROW[v]  # ケンイチ / KENICHI
                continue
            if pv is not None and (pv == v or (pv == "o" and v == "u")):
                continue  # オオ, オウ, ウウ, アア, イイ: one long vowel, romaji drops it
        out.append(ch)
    return "".join(out)


def norm_kana(text: object) -> str:
    """A reading as its comparison key (katakana; see the module docstring for what is folded)."""
    return _norm_kana(fold(text))


@lru_cache(maxsize=1 << 16)
def _norm_kana(s: str) -> str:
    if _LATIN.search(s) and not _KANA.search(s):
        if not is_japanese_romaji(s):
            return NAME_SEPARATORS.sub("", s).upper()  # a foreign name: kept as written
        s = romaji_to_katakana(NAME_SEPARATORS.sub("", s))
    s = NAME_SEPARATORS.sub("", str(jaconv.hira2kata(s)))
    for a, b in _SOUND_ALIKE:
        s = s.replace(a, b)
    return _collapse(s.translate(_SMALL))


def is_kana(text: object) -> bool:
    """True when the value is a reading written in kana only (either script, any width)."""
    s = NAME_SEPARATORS.sub("", fold(text))
    return bool(s) and all("\u3040" <= c <= "\u30ff" for c in s)
