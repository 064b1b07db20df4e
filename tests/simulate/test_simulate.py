"""The simulator's contract: determinism, the formats of docs/formats.md, and truth matching logs."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from kansa.model.errors import KansaError
from kansa.simulate import simulate

DAYS = 21
SCALE = 0.2


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("w") / "world"
    simulate("ntt-west", 11, out, days=DAYS, scale=SCALE)
    return out


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _csvlog_rows(world: Path) -> list[list[str]]:
    rows: list[list[str]] = []
    for p in sorted((world / "logs" / "db").glob("*.csv.gz")):
        rows += list(csv.reader(io.StringIO(gzip.decompress(p.read_bytes()).decode("utf-8"))))
    return rows


def test_same_seed_same_bytes_other_seed_differs(world: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    simulate("ntt-west", 11, again, days=DAYS, scale=SCALE)
    assert _digests(world) == _digests(again)
    other = tmp_path / "other"
    simulate("ntt-west", 12, other, days=DAYS, scale=SCALE)
    assert _digests(world) != _digests(other)


def test_spilling_to_disk_changes_no_byte(world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounded memory: pending events go to sorted run files mid-day; the merge gives the same bytes."""
    from kansa.simulate import stream

    monkeypatch.setattr(stream, "SPILL_AT", 300)
    spilled = tmp_path / "spilled"
    simulate("ntt-west", 11, spilled, days=DAYS, scale=SCALE)
    assert _digests(world) == _digests(spilled)
    assert not (spilled / ".spill").exists()


def test_manifest_lists_existing_files_registry_first(world: Path) -> None:
    manifest = json.loads((world / "manifest.json").read_text())
    assert manifest["format"] == "kansa-world/1"
    assert manifest["files"][0]["kind"] == "registry"
    kinds = {f["kind"] for f in manifest["files"]}
    assert {"registry", "access", "pgaudit", "cert", "dataset"} <= kinds
    for f in manifest["files"]:
        assert (world / f["path"]).exists(), f["path"]


def test_csvlog_has_26_columns_and_pgaudit_messages(world: Path) -> None:
    rows = _csvlog_rows(world)
    assert rows
    assert all(len(r) == 26 for r in rows)
    audits = [r for r in rows if r[13].startswith("AUDIT: SESSION,")]
    assert audits
    for r in audits[:200]:
        fields = next(csv.reader([r[13][len("AUDIT: "):]]))
        assert len(fields) == 9 and fields[3] in {"READ", "WRITE", "MISC"}


def test_every_db_session_opens_and_closes_as_postgres_logs_it(world: Path) -> None:
    rows = _csvlog_rows(world)
    sessions: dict[str, list[list[str]]] = {}
    for r in rows:
        sessions.setdefault(r[5], []).append(r)
    assert len(sessions) > 10
    for sid, lines in sessions.items():
        lines.sort(key=lambda r: int(r[6]))
        assert [int(r[6]) for r in lines] == list(range(1, len(lines) + 1)), sid
        received, authorized, last = lines[0], lines[1], lines[-1]
        assert received[13].startswith("connection received: host=") and received[1] == ""
        host, port = received[4].rsplit(":", 1)
        assert authorized[13] == (f"connection authorized: user={authorized[1]} database={authorized[2]} "
                                  f"application_name={last[22]}")
        assert last[13].startswith("disconnection: session time: ")
        assert last[13].endswith(f"user={authorized[1]} database={authorized[2]} host={host} port={port}")
        h, m, sec = last[13].split()[3].split(":")
        took = int(h) * 3600 + int(m) * 60 + float(sec)
        t0 = datetime.strptime(received[0][:23], "%Y-%m-%d %H:%M:%S.%f")
        t1 = datetime.strptime(last[0][:23], "%Y-%m-%d %H:%M:%S.%f")
        assert abs((t1 - t0).total_seconds() - took) < 0.01
        assert all(r[13].startswith("AUDIT: SESSION,") for r in lines[2:-1])
        assert all(lines[i][0] <= lines[i + 1][0] for i in range(len(lines) - 1))


def test_access_jsonl_has_required_keys_and_vocab(world: Path) -> None:
    n = 0
    for p in sorted((world / "logs" / "app").glob("*.jsonl.gz")):
        for line in gzip.decompress(p.read_bytes()).decode().splitlines():
            e = json.loads(line)
            assert {"time", "actor", "action"} <= e.keys()
            assert e["action"] in {"view", "search", "export", "update", "insert"}
            assert e["time"].endswith("+09:00")
            n += 1
    assert n > 500


def _dataset_rows(path: Path, encoding: str | None) -> list[dict[str, str]]:
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True).worksheets[0]
        values = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
        return [dict(zip(values[0], r, strict=True)) for r in values[1:]]
    assert encoding in ("cp932", "utf-8-sig")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")   # Excel's UTF-8 CSVs carry a BOM
    return list(csv.DictReader(io.StringIO(raw.decode(encoding))))


def test_datasets_in_owners_formats_with_ids_used_in_logs(world: Path) -> None:
    manifest = json.loads((world / "manifest.json").read_text())
    ds = [f for f in manifest["files"] if f["kind"] == "dataset"]
    formats = {Path(f["path"]).suffix + (f.get("encoding") or "") for f in ds}
    assert formats == {".csvcp932", ".csvutf-8-sig", ".xlsx"}
    ids: set[str] = set()
    versions: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for f in ds:
        rows = _dataset_rows(world / f["path"], f.get("encoding"))
        assert "氏名" in rows[0] and f["id_column"] in rows[0]
        ids |= {r[f["id_column"]] for r in rows}
        versions[(f["owner"], f["version"])] = {r[f["id_column"]]: r for r in rows}
    # last year's lists: same ids, and some people lived elsewhere then
    olds = [(o, v) for o, v in versions if (o, str(int(v) + 1)) in versions]
    assert olds
    moved = sum(1 for o, v in olds for rid, r in versions[(o, v)].items()
                if rid in versions[(o, str(int(v) + 1))] and versions[(o, str(int(v) + 1))][rid]["住所"] != r["住所"])
    assert moved > 0
    subjects = set()
    for p in (world / "logs" / "app").glob("*.jsonl.gz"):
        for line in gzip.decompress(p.read_bytes()).decode().splitlines():
            subjects |= set(json.loads(line).get("subjects", []))
    assert subjects and subjects <= ids


def test_insider_acts_in_truth_and_logs(world: Path) -> None:
    truth = json.loads((world / "truth.json").read_text())
    bad = truth["bad_actors"][0]
    pulls = truth["pulls"]
    assert pulls and min(p["date"] for p in pulls) == bad["first_bad_act"]
    rows = _csvlog_rows(world)
    insider_db = [r for r in rows if r[1] == bad["db_role"] and r[4].startswith(bad["address"] + ":")]
    # a COPY of a query is two pgaudit lines (READ/SELECT on the table, READ/COPY), one statement
    copies = [r for r in insider_db if "COPY (SELECT" in r[13] and ",READ,SELECT,TABLE," in r[13]]
    assert len(copies) == sum(1 for p in pulls if p["logged"])
    # the server never logs SET pgaudit.log = 'none'; a silenced pull is a session with no AUDIT line
    assert not any("pgaudit.log" in r[13] for r in rows)
    by_session: dict[str, list[str]] = {}
    for r in insider_db:
        by_session.setdefault(r[5], []).append(r[13])
    silent = [msgs for msgs in by_session.values() if not any(m.startswith("AUDIT:") for m in msgs)]
    assert len(silent) == sum(1 for p in pulls if not p["logged"])
    with open(world / "logs" / "endpoint" / "file.csv", encoding="utf-8") as fh:
        usb = [r for r in csv.DictReader(fh) if r["user"] == bad["actor"] and r["to_removable_media"] == "TRUE"]
    assert len(usb) == len(pulls)
    with open(world / "logs" / "endpoint" / "device.csv", encoding="utf-8") as fh:
        assert any(r["user"] == bad["actor"] and r["activity"] == "Connect" for r in csv.DictReader(fh))


def test_leaks_are_damaged_subsets_of_stolen_records(world: Path) -> None:
    truth = json.loads((world / "truth.json").read_text())
    stolen_ranges = {(p["owner"], p["first_id"], p["last_id"]) for p in truth["pulls"]}
    assert truth["leaks"]
    for leak in truth["leaks"]:
        data = (world / leak["file"]).read_bytes().decode(leak["encoding"])
        rows = list(csv.reader(io.StringIO(data)))
        assert rows[0][0] in ("氏名", "名前") and len(rows) - 1 == leak["n"]
        assert not any(c.endswith("番号") and c not in ("電話番号", "郵便番号") for c in rows[0])
        with open(world / (leak["file"][:-4] + ".truth.csv"), encoding="utf-8") as fh:
            truth_rows = list(csv.DictReader(fh))
        assert 0 < leak["unattributable"] == sum(1 for t in truth_rows if not t["owner"]) < leak["n"]
        for t in truth_rows:
            if t["owner"]:
                assert any(o == t["owner"] and lo <= t["record_id"] <= hi for o, lo, hi in stolen_ranges)


def test_bad_arguments_raise_kansa_error(tmp_path: Path) -> None:
    with pytest.raises(KansaError):
        simulate("no-such-world", 1, tmp_path / "x")
    with pytest.raises(KansaError):
        simulate("ntt-west", 1, tmp_path / "x", days=2)
    for scale in (0.01, 1001):
        with pytest.raises(KansaError, match="--scale"):
            simulate("ntt-west", 1, tmp_path / "x", days=7, scale=scale)
    assert not (tmp_path / "x").exists()


def test_suginami_lookups_are_logged_without_ticket(tmp_path: Path) -> None:
    out = tmp_path / "sg"
    summary = simulate("suginami", 3, out, days=DAYS, scale=SCALE)
    truth = json.loads((out / "truth.json").read_text())
    bad = truth["bad_actors"][0]["actor"]
    assert summary["bad_actors"] == 1 and truth["lookups"]
    events = []
    for p in sorted((out / "logs" / "app").glob("*.jsonl.gz")):
        events += [json.loads(x) for x in gzip.decompress(p.read_bytes()).decode().splitlines()]
    searches_by_bad = {(e["time"][:19], e["subjects"][0]): e.get("ticket") for e in events
                       if e["actor"] == bad and e["action"] == "search"}
    for lk in truth["lookups"]:
        key = (lk["time"][:19], lk["subject"])
        assert key in searches_by_bad and searches_by_bad[key] == lk["ticket"]
    uncovered = [lk for lk in truth["lookups"] if lk["ticket"] is None]
    assert uncovered
    assert min(lk["time"][:10] for lk in truth["lookups"]) == truth["bad_actors"][0]["first_bad_act"]
    # honest work is ticketed: most events carry a ticket named in assignments.csv
    with open(out / "registry" / "assignments.csv", encoding="utf-8") as fh:
        tickets = {r["assignment_id"] for r in csv.DictReader(fh)}
    ticketed = [e for e in events if e.get("ticket")]
    assert len(ticketed) > 0.9 * len(events)
    assert all(e["ticket"] in tickets for e in ticketed)


def test_unapproved_subcontractor_works_on_owner_data(world: Path) -> None:
    truth = json.loads((world / "truth.json").read_text())
    v = truth["violations"][0]
    with open(world / "registry" / "contracts.csv", encoding="utf-8") as fh:
        contracts = list(csv.DictReader(fh))
    owner_contract = next(c for c in contracts if c["entrustor_id"] == v["owner"])
    assert v["org"] not in owner_contract["allowed_subcontractors"].split("|")
    with open(world / "registry" / "actors.csv", encoding="utf-8") as fh:
        assert {r["actor_id"] for r in csv.DictReader(fh) if r["org_id"] == v["org"]} == set(v["actors"])
    events = []
    for p in sorted((world / "logs" / "app").glob("*.jsonl.gz")):
        events += [json.loads(x) for x in gzip.decompress(p.read_bytes()).decode().splitlines()]
    theirs = [e for e in events if e["actor"] in v["actors"]]
    assert theirs and all(e["owner"] == v["owner"] for e in theirs)
    assert min(e["time"][:10] for e in theirs) >= v["first"]


@pytest.mark.parametrize("scenario", ["ntt-west", "suginami"])
def test_truth_has_the_agreed_shape(scenario: str, tmp_path: Path) -> None:
    out = tmp_path / scenario
    simulate(scenario, 5, out, days=14, scale=0.1)
    truth = json.loads((out / "truth.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert truth["scenario"] == scenario and truth["seed"] == 5
    assert truth["bad_actors"]
    for b in truth["bad_actors"]:
        assert {"actor", "kind", "first_bad_act"} <= b.keys()
        assert manifest["start"] <= b["first_bad_act"] <= manifest["end"]
    with open(out / "registry" / "actors.csv", encoding="utf-8") as fh:
        actors = {r["actor_id"] for r in csv.DictReader(fh)}
    assert {b["actor"] for b in truth["bad_actors"]} <= actors
    for leak in truth["leaks"]:
        assert {"file", "owners", "n"} <= leak.keys() and (out / leak["file"]).exists()
    assert "truth.json" not in {f["path"] for f in manifest["files"]}


@pytest.mark.parametrize("scenario", ["ntt-west", "suginami", "reentrust"])
def test_days_are_reported_in_order_up_to_the_last(scenario: str, tmp_path: Path) -> None:
    """The CLI's progress bar is drawn from these calls: days written so far, in order, ending complete
    (a scenario may skip closed days, which it writes nothing for)."""
    calls: list[tuple[int, int]] = []
    simulate(scenario, 3, tmp_path / "w", days=9, scale=0.1, on_day=lambda done, total: calls.append((done, total)))
    done = [d for d, _ in calls]
    assert done == sorted(set(done)) and done[-1] == 9 and {t for _, t in calls} == {9}
    assert 4 in done   # 2024-01-04, the first working day after 年末年始, is reported when written
