"""The trace commands: `kansa trace LEAK` as short for `trace file`, the HTML page, `trace read`,
`trace check-links`, JSON out and one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

import kansa.trace
from kansa.cli.main import main
from kansa.model.workspace import init_workspace
from kansa.trace.page import trace_page

from .people import HEADER, make_people, write_csv

RESULT: dict[str, Any] = {
    "records": 120, "attributed": 110, "unattributed": 10,
    "owners": [{"owner": "ins-<b>x</b>", "dataset": "policy", "records": 110,
                "window": {"from": "2024-01-01", "to": "2024-03-31", "versions": ["2024Q1"]}, "mean_probability": 0.98}],
    "suspects": [{"actor": "temp-007", "coverage": 0.9, "precision": 0.8, "significance": 42.0,
                  "first_touch": "2024-02-01T10:00:00+09:00", "last_touch": "2024-03-01T18:00:00+09:00", "tier": 0,
                  "removable_media_events": 3, "why": "touched 99 of 110 leaked people"}],
    "per_record": "/tmp/x.records.csv", "file": "leak.csv", "encoding": "cp932", "fields": ["name", "phone"],
    "unattributed_reasons": {"no candidate": 10},
}


def _fake_trace(calls: list[Path]) -> Any:
    def fake(ws: object, path: Path, until: object = None) -> dict[str, Any]:
        calls.append(Path(path))
        return dict(RESULT)
    return fake


@pytest.mark.parametrize("argv_head", [["trace", "file"], ["trace"]])
def test_trace_file_and_its_short_form_write_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv_head: list[str]
) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    calls: list[Path] = []
    monkeypatch.setattr(kansa.trace, "trace_file", _fake_trace(calls))
    leak = tmp_path / "leak.csv"
    leak.write_text("氏名\n", encoding="utf-8")
    assert main([*argv_head, str(leak), "-w", str(root), "--html", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert calls == [leak] and out["attributed"] == 110
    page = Path(out["html"]).read_text(encoding="utf-8")
    assert "流出元" in page and "Whose data" in page and "temp-007" in page
    assert "ins-&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page  # escaped
    # the human rendering too
    assert main([*argv_head, str(leak), "-w", str(root)]) == 0
    text = capsys.readouterr().out
    assert "temp-007" in text and "2024-01-01" in text


def test_page_languages() -> None:
    ja, en = trace_page(RESULT, lang="ja"), trace_page(RESULT, lang="en")
    assert "持ち出し得た者" in ja and "Who could have taken it" not in ja
    assert "Who could have taken it" in en and "持ち出し得た者" not in en
    assert "91.7%" in en  # 110 of 120 attributed
    empty = trace_page({"records": 0, "attributed": 0, "unattributed": 0, "owners": [], "suspects": []}, lang="en")
    assert "No access events" in empty
    with pytest.raises(ValueError):
        trace_page(RESULT, lang="fr")  # type: ignore[arg-type]


def test_read_shows_columns_without_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    people = make_people(12, seed=9, prefix="R")
    f = write_csv(tmp_path / "r.csv", ["お名前", "TEL"], [[p.name, p.phone] for p in people], encoding="cp932")
    assert main(["trace", "read", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["type"] for c in out["columns"]] == ["name", "phone"] and out["rows"] == 12
    assert people[0].name not in json.dumps(out, ensure_ascii=False)


def test_check_links_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no default workspace here: runs without one
    people = make_people(8, seed=10, prefix="K")
    a = write_csv(tmp_path / "a.csv", ["住民番号", "氏名", "生年月日"], [[f"R{i}", p.name, p.dob.isoformat()] for i, p in enumerate(people)])
    swapped = [people[1], people[0], *people[2:]]
    b = write_csv(tmp_path / "b.csv", ["住民番号", "氏名", "生年月日"], [[f"R{i}", p.name, p.dob.isoformat()] for i, p in enumerate(swapped)])
    assert main(["trace", "check-links", str(a), str(b), "--on", "住民番号", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mislinks"] == 2 and {d["key"] for d in out["disagreements"]} == {"R0", "R1"}
    assert main(["trace", "check-links", str(a), str(b), "--on", "住民番号"]) == 0
    assert "氏名が異なる" in capsys.readouterr().out
    assert main(["trace", "check-links", str(a), str(b), "--on", "番号"]) == 2
    assert "番号" in capsys.readouterr().err


def test_index_then_trace_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    people = make_people(60, seed=8, prefix="C")
    data = write_csv(tmp_path / "owner.csv", HEADER, [p.row() for p in people], encoding="cp932")
    leak = write_csv(tmp_path / "leak.csv", ["氏名", "電話"], [[p.name, p.phone] for p in people[:25]])
    assert main(["trace", "index", str(data), "--owner", "ins-x", "--name", "policy", "--id-column", "顧客番号",
                 "-w", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == 60
    assert main(["trace", str(leak), "-w", str(root), "--json", "--html"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["owners"][0]["owner"] == "ins-x" and out["attributed"] == 25
    # the JSON contract, as the command prints it
    assert {"records", "attributed", "unattributed", "owners", "suspects", "per_record"} <= set(out)
    assert (out["records"], out["unattributed"]) == (25, 0)
    assert {"owner", "dataset", "records", "window"} <= set(out["owners"][0])
    assert out["owners"][0]["dataset"] == "policy" and out["owners"][0]["records"] == 25
    # per_record: UTF-8 CSV with a header, leaked data row (1-based) → owner, dataset, record id
    with open(out["per_record"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["row"]) for r in rows] == list(range(1, 26))
    assert [r["record_id"] for r in rows] == [p.pid for p in people[:25]]
    assert {(r["owner"], r["dataset"]) for r in rows} == {("ins-x", "policy")}
    assert all(0.5 <= float(r["probability"]) <= 1.0 for r in rows)
    # the report and the page name rows by number only; no leaked values in them
    assert people[0].name not in json.dumps(out, ensure_ascii=False)
    assert people[0].name not in Path(out["html"]).read_text(encoding="utf-8")


def test_index_needs_owner_for_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    f = write_csv(tmp_path / "x.csv", HEADER, [])
    assert main(["trace", "index", str(f), "-w", str(root)]) == 2
    assert "--owner" in capsys.readouterr().err
