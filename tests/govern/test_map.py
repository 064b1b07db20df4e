"""The data map: datasets, declared and observed tables, exports, and file copies tied by inference."""

from __future__ import annotations

from kansa.govern import data_map
from kansa.model.workspace import Workspace

from .govern_world import OWNER, build, d


def test_map(ws: Workspace) -> None:
    ev = build(ws)
    ev.read(d(4, 20), "b1", 2, resource="city_a.tax")
    r = data_map(ws)
    (o,) = r["owners"]
    assert o["owner_id"] == OWNER and o["name"] == "A市"
    assert [x["dataset_id"] for x in o["datasets"]] == ["city_a/residents/2024"]
    assert o["declared_tables"] == [{"database": "main", "schema": "city_a", "table": None}]
    seen = {x["resource"]: x for x in o["seen_in"]}
    assert set(seen) == {"city_a.residents", "city_a.tax"}
    assert seen["city_a.tax"]["events"] == 2 and seen["city_a.tax"]["actors"] == 1
    assert seen["city_a.tax"]["first_seen"].date() == d(4, 20)
    assert seen["city_a.residents"]["events"] == 2 + 4 + 6 + 5 + 2 + 2 + 1 + 6 + 3 + 2 + 10 + 1 + 1   # no login
    assert seen["city_a.residents"]["subjects"] == 7
    assert [(x["resource"], x["events"]) for x in o["exports"]] == [("city_a.residents", 1)]
    assert [(c["path"], c["copies"]) for c in o["file_copies"]] == [("E:/residents.csv", 1)]
    assert [c["path"] for c in r["unlinked_file_copies"]] == ["E:/memo.docx"]


def test_copy_before_the_export_is_not_tied(ws: Workspace) -> None:
    ev = build(ws)
    ev.copy(d(4, 3), "b1", "E:/early.csv", hour=8)           # b1 exported at 10:00, this was at 08:00
    r = data_map(ws)
    assert "E:/early.csv" not in [c["path"] for c in r["owners"][0]["file_copies"]]
    assert "E:/early.csv" in [c["path"] for c in r["unlinked_file_copies"]]
