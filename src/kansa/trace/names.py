"""Personal names folded so that the registry's spelling and a re-typed copy compare equal.

Japanese names have many legitimate spellings of the same character: old and new forms (髙/高,
﨑/崎, 邊/辺, 國/国), variant and compatibility code points, full- and half-width letters, a space
(or not) between family and given name. String similarity does not help here (髙橋/高橋 has a
Jaro–Winkler of 0.67), so each character is folded with the MJ shrink map that Japan's
Information-technology Promotion Agency publishes for exactly this purpose (implemented by
jntajis), plus a short list of pairs that registries keep apart but lists confuse all the time
(斉/斎). Latin-script names that read as Japanese romaji become their reading, with the words in
a fixed order, because a romaji list writes "Taro Yamada" as often as "YAMADA Taro"; other
Latin-script names (SMITH, O'BRIEN) are only upper-cased and lose their spaces.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import jntajis

from kansa.trace.kana import is_japanese_romaji, norm_kana
from kansa.trace.text import NAME_SEPARATORS, fold

_MJ_SCHEMES = (
    jntajis.MJShrinkSchemeCombo.JIS_INCORPORATION_UCS_UNIFICATION_RULE
    | jntajis.MJShrinkSchemeCombo.INFERENCE_BY_READING_AND_GLYPH
    | jntajis.MJShrinkSchemeCombo.MOJ_NOTICE_582
    | jntajis.MJShrinkSchemeCombo.MOJ_FAMILY_REGISTER_ACT_RELATED_NOTICE
)
# Different characters in the registry, but one name to anyone re-typing a list. Applied after the
# MJ shrink (齋 → 斎 there; 齊 → 斉 there, so both end up as 斎 here).
_CONFUSED = str.maketrans({"斉": "斎", "嵜": "崎", "嶌": "島", "檜": "桧", "濵": "浜", "邉": "辺"})
_LATIN_ONLY = re.compile(r"^[A-Za-zāīūēōâîûêôĀĪŪĒŌÂÎÛÊÔ\s.,'\-・･，、．]+$")


def _is_ideograph(ch: str) -> bool:
    o = ord(ch)
    return 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF


def _in_jis0208(ch: str) -> bool:
    try:
        ch.encode("shift_jis")
    except UnicodeEncodeError:
        return False
    return True


def _shrink_once(ch: str) -> str:
    candidates = [unicodedata.normalize("NFKC", c) for c in jntajis.mj_shrink_candidates(ch, _MJ_SCHEMES)]
    # the map lists several forms; the everyday one is the first that JIS X 0208 (every Japanese
    # system since 1983) can write, else the character itself
    return next((c for c in candidates if _in_jis0208(c)), ch)


@lru_cache(maxsize=1 << 16)
def shrink_kanji(ch: str) -> str:
    """One character → its everyday form by the MJ shrink map (itself when it has none).

    Followed to a fixed point so that folding twice changes nothing (some entries chain).
    """
    if not _is_ideograph(ch):
        return ch
    seen = [unicodedata.normalize("NFKC", ch)]
    while True:
        nxt = _shrink_once(seen[-1])
        if nxt in seen:
            return min(seen[seen.index(nxt):]) if nxt != seen[-1] else nxt
        seen.append(nxt)


class _ShrinkTable(dict[int, str]):
    """A ``str.translate`` table that learns: each new character is shrunk once, then looked up at
    C speed (a list of ten million names repeats a few thousand characters)."""

    def __missing__(self, code: int) -> str:
        out = shrink_kanji(chr(code)).translate(_CONFUSED)
        self[code] = out
        return out


SHRINK_TABLE = _ShrinkTable()
"""Translate table: every character to its everyday form (MJ shrink + commonly confused pairs)."""


def is_romaji(text: object) -> bool:
    """True when the value is written in Latin letters only (a romanised name)."""
    s = fold(text)
    return bool(s) and _LATIN_ONLY.match(s) is not None and any(c.isalpha() for c in s)


def norm_romaji(text: object) -> str:
    """A romanised name → the readings of its parts, sorted (order-free: TARO YAMADA = Yamada Taro)."""
    parts = [p for p in NAME_SEPARATORS.split(fold(text)) if p]
    return "".join(sorted(norm_kana(p) for p in parts))


def norm_name(text: object) -> str:
    """A name as its comparison key: NFKC, no separators, variant kanji folded, romaji read."""
    return _norm_name(fold(text))


@lru_cache(maxsize=1 << 16)
def _norm_name(s: str) -> str:
    if is_romaji(s) and is_japanese_romaji(s):
        return norm_romaji(s)
    s = NAME_SEPARATORS.sub("", s)
    return s.translate(SHRINK_TABLE).upper()


def split_name(text: object) -> tuple[str, str]:
    """(family, given) when the value separates them by a space, else (whole, '')."""
    parts = [p for p in re.split(r"[\s\u3000・･,，]+", fold(text)) if p]
    if len(parts) >= 2:
        return parts[0], "".join(parts[1:])
    return (parts[0] if parts else ""), ""
