"""A small generated holdings set: synthetic Japanese people, two owners, damaged leaked copies."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import japanese_personal_name_dataset as jpn

HEADER = ["顧客番号", "氏名", "フリガナ", "生年月日", "電話番号", "住所"]
TOWNS = ["大阪府大阪市北区梅田", "京都府京都市中京区河原町", "兵庫県神戸市中央区元町", "奈良県奈良市三条町"]


@dataclass
class Person:
    pid: str
    name: str
    kana: str
    dob: date
    phone: str
    address: str

    def row(self) -> list[str]:
        return [self.pid, self.name, self.kana, self.dob.isoformat(), self.phone, self.address]


def make_people(n: int, seed: int, prefix: str) -> list[Person]:
    random.seed(seed)
    rng = random.Random(seed)
    people = []
    for i in range(n):
        got = jpn.generate_random_full_name(gender=rng.choice(["male", "female"]), return_reading=True)
        assert isinstance(got, tuple)
        name, kana = got
        people.append(
            Person(
                pid=f"{prefix}{i:05d}",
                name=str(name),
                kana=str(kana),
                dob=date(1940, 1, 1) + timedelta(days=rng.randrange(25000)),
                phone=f"0{rng.randint(6, 9)}0-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
                address=f"{rng.choice(TOWNS)}{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
            )
        )
    return people


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path
