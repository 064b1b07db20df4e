"""check-links: two datasets joined by an identifier; deliberate mis-links (a number given to the
wrong person, as in the My Number cases) must rank above every normal variation."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import jaconv

from kansa.trace import check_links
from kansa.trace.checklinks import STRONG, Person, compare
from kansa.trace.ids import my_number_check_digit

from .people import Person as Someone
from .people import make_people, write_csv


def _numbers(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body = "".join(str(rng.randrange(10)) for _ in range(11))
        out.append(body + str(my_number_check_digit(body)))
    return out


def _variant(rng: random.Random, p: Someone, others: list[Someone]) -> tuple[list[str], str]:
    """One normal-life difference (or none) between two registrations of the same person."""
    name, kana, dob, address = p.name, p.kana, p.dob, p.address
    kind = rng.choice(["same", "width", "marriage", "move", "slip", "wareki"])
    if kind == "width":
        name = name.replace("高", "髙").replace("崎", "﨑").replace(" ", "")
        kana = jaconv.z2h(jaconv.hira2kata(kana), kana=True)
    elif kind == "marriage":
        other = rng.choice(others)
        name = other.name.split(" ")[0] + " " + name.split(" ")[1]
        kana = other.kana.split(" ")[0] + " " + kana.split(" ")[1]
    elif kind == "move":  # another house in the same town
        head, last = address.rsplit("-", 1)
        address = f"{head}-{int(last) % 20 + 1}"
    elif kind == "slip":
        dob = dob + timedelta(days=1) if dob.day < 9 else dob - timedelta(days=1)
    birth = dob.isoformat() if kind != "wareki" else f"S{dob.year - 1925}.{dob.month}.{dob.day}"
    return [name, kana, birth, address], kind


def _pair(tmp_path: Path, n: int = 150, swaps: int = 4) -> tuple[Path, Path, set[tuple[int, int]], list[str]]:
    rng = random.Random(11)
    people = make_people(n, seed=12, prefix="P")
    sexes = [rng.choice(["男", "女"]) for _ in people]
    numbers = _numbers(n, seed=13)
    a_rows = [[numbers[i], p.name, p.kana, p.dob.isoformat(), sexes[i], p.address] for i, p in enumerate(people)]
    b_keys = list(numbers)
    # deliberate mis-links: pairs of people whose numbers were exchanged in B
    swapped = rng.sample(range(n), 2 * swaps)
    for x, y in zip(swapped[::2], swapped[1::2], strict=True):
        b_keys[x], b_keys[y] = b_keys[y], b_keys[x]
    b_rows = []
    for i, p in enumerate(people):
        values, _kind = _variant(rng, p, people)
        b_rows.append([b_keys[i], values[0], values[1], values[2], "M" if sexes[i] == "男" else "F", values[3]])
    a = write_csv(tmp_path / "a.csv", ["個人番号", "氏名", "フリガナ", "生年月日", "性別", "住所"], a_rows, encoding="cp932")
    b = write_csv(tmp_path / "b.csv", ["マイナンバー", "name", "kana", "birth", "sex", "address"], b_rows)
    # lines: header is line 1, data row i is line i + 2; A's row for number k is where B's key k sits
    where_a = {k: i for i, k in enumerate(numbers)}
    bad = {(where_a[b_keys[i]] + 2, i + 2) for i in swapped}
    return a, b, bad, numbers


def test_deliberate_mislinks_rank_first_and_normal_variation_is_not_flagged(tmp_path: Path) -> None:
    a, b, bad, numbers = _pair(tmp_path)
    out = check_links(a, b, on="個人番号", on_b="マイナンバー")
    assert out["links"] == 150 and out["key_kind"] == "my_number"
    assert set(out["compared_fields"]) == {"name", "kana", "dob", "sex", "address"}
    flagged = {(d["line_a"], d["line_b"]) for d in out["disagreements"] if d["verdict"] == "mislink"}
    assert flagged == bad
    top = {(d["line_a"], d["line_b"]) for d in out["disagreements"][: len(bad)]}
    assert top == bad
    assert all(d["reasons"] for d in out["disagreements"])
    # the numbers themselves never appear in the result
    dumped = json.dumps(out, ensure_ascii=False)
    assert not any(n in dumped for n in numbers)


def test_one_number_two_people_inside_a_dataset(tmp_path: Path) -> None:
    people = make_people(6, seed=3, prefix="D")
    nums = _numbers(6, seed=4)
    rows = [[nums[i], p.name, p.dob.isoformat()] for i, p in enumerate(people)]
    rows.append([nums[2], people[5].name, people[5].dob.isoformat()])  # number 2 given to person 5 too
    rows.append([nums[3], people[3].name.replace(" ", ""), people[3].dob.isoformat()])  # same person again
    a = write_csv(tmp_path / "a.csv", ["番号", "氏名", "生年月日"], rows)
    out = check_links(a, a, on="番号")
    assert [d["lines"] for d in out["duplicate_keys"] if d["side"] == "a"] == [[4, 8]]


def _p(**kw: str) -> Person:
    return Person(line=1, **kw)


def test_weights_follow_the_reasons() -> None:
    base = dict(name="山田太郎", given="太郎", family="山田", kana="ヤマダタロ", dob="1980-05-06", sex="M",
                address="大阪府大阪市北区梅田1-2-3", area="大阪府大阪市北区", prefecture="大阪府")
    same = compare(_p(**base), _p(**base))
    assert same.score == 0 and set(same.agree) == {"name", "kana", "dob", "sex", "address"}
    married = compare(_p(**base), _p(**{**base, "name": "田中太郎", "family": "田中", "kana": "タナカタロ"}))
    moved = compare(_p(**base), _p(**{**base, "address": "大阪府大阪市北区中崎1-1-1"}))
    slip = compare(_p(**base), _p(**{**base, "dob": "1980-05-07"}))
    swapped = compare(_p(**base), _p(**{**base, "dob": "1980-06-05"}))
    other = compare(_p(**base), _p(**{**base, "name": "鈴木花子", "given": "花子", "family": "鈴木", "kana": "スズキハナコ",
                                     "dob": "1992-11-30", "sex": "F"}))
    assert married.score < STRONG and moved.score == 0 and slip.score < STRONG and swapped.score == slip.score
    # normal life combined (married, moved far, a typo in the date) still stays below a mis-link
    combo = compare(_p(**base), _p(**{**base, "name": "田中太郎", "family": "田中", "kana": "タナカタロ",
                                      "dob": "1980-05-07", "address": "東京都新宿区西新宿2-8-1",
                                      "area": "東京都新宿区", "prefecture": "東京都"}))
    assert combo.score < STRONG <= other.score
    assert {r.field for r in other.reasons} == {"name", "kana", "dob", "sex"}
