"""The attribution a trace returns (contract C4): per-record CSV, owners with validity windows,
unattributed rows with a reason."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from kansa.model.workspace import Workspace
from kansa.trace import index_dataset, trace_file

from .people import HEADER, Person, make_people, write_csv

MOVED = "北海道札幌市中央区北一条西"


def _versions(ws: Workspace, tmp_path: Path) -> tuple[list[Person], list[Person]]:
    """v2023 and v2024 of one dataset; the first 20 people moved in between."""
    old = make_people(120, seed=41, prefix="R")
    new = [Person(p.pid, p.name, p.kana, p.dob, p.phone, MOVED + p.address[-6:]) if i < 20 else p
           for i, p in enumerate(old)]
    index_dataset(ws, write_csv(tmp_path / "r2023.csv", HEADER, [p.row() for p in old]), "city", "residents", "2023",
                  id_column="顧客番号", valid_from="2023-04-01", valid_to="2024-03-31")
    index_dataset(ws, write_csv(tmp_path / "r2024.csv", HEADER, [p.row() for p in new]), "city", "residents", "2024",
                  id_column="顧客番号", valid_from="2024-04-01", valid_to="2025-03-31")
    return old, new


def _leak(tmp_path: Path, name: str, people: list[Person]) -> Path:
    return write_csv(tmp_path / name, ["氏名", "住所"], [[p.name, p.address] for p in people])


def test_old_version_narrows_the_window(ws: Workspace, tmp_path: Path) -> None:
    old, new = _versions(ws, tmp_path)
    report = trace_file(ws, _leak(tmp_path, "old.csv", old[:50]))
    (owner,) = report["owners"]
    assert (owner["owner"], owner["dataset"], owner["records"]) == ("city", "residents", 50)
    # the 20 movers fit only the 2023 snapshot: the copy was made while it was current
    assert owner["window"]["versions"] == ["2023"]
    assert (owner["window"]["from"], owner["window"]["to"]) == ("2023-04-01", "2024-03-31")
    assert owner["window"]["rows_fitting_one_version"] == 20
    newer = trace_file(ws, _leak(tmp_path, "new.csv", new[:50]))["owners"][0]
    assert newer["window"]["versions"] == ["2024"] and newer["window"]["from"] == "2024-04-01"


def test_unchanged_people_do_not_narrow(ws: Workspace, tmp_path: Path) -> None:
    old, _new = _versions(ws, tmp_path)
    window = trace_file(ws, _leak(tmp_path, "same.csv", old[30:60]))["owners"][0]["window"]
    assert sorted(window["versions"]) == ["2023", "2024"]
    assert (window["from"], window["to"]) == ("2023-04-01", "2025-03-31")
    assert window["rows_fitting_one_version"] == 0


def test_per_record_csv_and_counts(ws: Workspace, tmp_path: Path) -> None:
    old, _new = _versions(ws, tmp_path)
    strangers = make_people(15, seed=77, prefix="X")
    leak = _leak(tmp_path, "mixed.csv", old[:40] + strangers)
    report = trace_file(ws, leak)
    assert report["records"] == 55 == report["attributed"] + report["unattributed"]
    assert report["attributed"] == 40
    with open(report["per_record"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:5] == ["row", "owner", "dataset", "record_id", "probability"]
    assert [int(r["row"]) for r in rows] == list(range(1, 56))
    for i, r in enumerate(rows):
        if i < 40:
            assert (r["owner"], r["dataset"], r["record_id"]) == ("city", "residents", old[i].pid)
            assert 0.5 <= float(r["probability"]) <= 1.0
        else:
            assert r["owner"] == r["record_id"] == r["probability"] == "" and r["reason"]
    # names no leaked value: only row numbers and record ids
    text = Path(report["per_record"]).read_text(encoding="utf-8") + json.dumps(report, default=str,
                                                                               ensure_ascii=False)
    assert not any(p.name in text or p.address in text for p in old[:40] + strangers)
