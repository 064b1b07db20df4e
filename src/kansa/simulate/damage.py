"""Damage a leaked list the way list brokers' copies really look.

Brokers re-key, merge and resell lists: internal ids are dropped, columns go missing, kana turns
half-width or hiragana, digits turn full-width, old kanji forms and typos creep in, dates become
wareki. Trace must attribute such a list anyway, so the simulator produces exactly this mess.
"""

from __future__ import annotations

import random
from datetime import date

import jaconv

from kansa.simulate.people import NEW_FORMS, OLD_FORMS, Person

_ERAS = ((date(2019, 5, 1), "令和"), (date(1989, 1, 8), "平成"), (date(1926, 12, 25), "昭和"), (date(1912, 7, 30), "大正"))


def wareki(d: date) -> str:
    for start, era in _ERAS:
        if d >= start:
            y = d.year - start.year + 1
            return f"{era}{'元' if y == 1 else y}年{d.month}月{d.day}日"
    return d.isoformat()


def _typo(rng: random.Random, text: str) -> str:
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if not digits:
        return text
    i = rng.choice(digits)
    return text[:i] + str((int(text[i]) + rng.randint(1, 9)) % 10) + text[i + 1:]


def leak_columns(rng: random.Random) -> list[str]:
    """Which columns this broker's list kept (always a name; the record id never survives)."""
    optional = ["フリガナ", "生年月日", "性別", "郵便番号", "住所", "電話番号"]
    kept = [c for c in optional if rng.random() < 0.75]
    if "住所" not in kept and "電話番号" not in kept:
        kept.append("電話番号")
    return ["氏名", *kept]


# Headers as brokers' spreadsheets name the same columns.
HEADER_VARIANTS = {"氏名": "名前", "フリガナ": "カナ", "生年月日": "生年月日", "性別": "性別",
                   "郵便番号": "〒", "住所": "住所", "電話番号": "TEL"}


def leak_header(rng: random.Random, columns: list[str]) -> list[str]:
    """The header row a broker's copy carries: our names, or the broker's own."""
    return [HEADER_VARIANTS[c] for c in columns] if rng.random() < 0.5 else list(columns)


def damaged_row(rng: random.Random, p: Person, columns: list[str]) -> list[str]:
    name = p.name
    if rng.random() < 0.3:
        name = name.replace("　", rng.choice([" ", "", "　"]))
    if any(c in NEW_FORMS for c in name) and rng.random() < 0.6:
        name = "".join(NEW_FORMS.get(c, c) for c in name)    # re-typed: 髙橋 becomes 高橋
    elif rng.random() < 0.15:
        name = "".join(OLD_FORMS.get(c, c) for c in name)    # or the other way round
    kana = p.kana
    r = rng.random()
    if r < 0.25:
        kana = jaconv.z2h(kana, kana=True, ascii=False, digit=False)
    elif r < 0.4:
        kana = jaconv.kata2hira(kana)
    birth = p.birth.isoformat().replace("-", "/") if rng.random() < 0.6 else wareki(p.birth)
    phone = p.phone
    if phone and rng.random() < 0.2:
        phone = phone.replace("-", "")
    if rng.random() < 0.2:
        phone = jaconv.h2z(phone, digit=True, ascii=True)
    if rng.random() < 0.05:
        phone = _typo(rng, phone)
    address = p.address
    if rng.random() < 0.25:
        address = jaconv.h2z(address, digit=True)
    if rng.random() < 0.05:
        address = _typo(rng, address)
    values = {
        "氏名": name, "フリガナ": kana, "生年月日": birth, "性別": p.sex,
        "郵便番号": p.zip_code if rng.random() < 0.7 else p.zip_code.replace("-", ""),
        "住所": address, "電話番号": phone,
    }
    # Brokers' merged lists have holes: any field but the name may be blank.
    return [values[c] if c == "氏名" or rng.random() >= 0.02 else "" for c in columns]
