"""The columnar pgaudit path gives exactly what the line reader gives, on the same files.

Each test ingests one csvlog twice, into two fresh workspaces: once through the line reader
(``ingest_chunks`` + ``pgaudit_reader``), once through ``ingest_pgaudit_columnar``, and compares
every column of every event (ids, actors, times, outcomes, statements) and every subject.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from csvlog_lines import csv_line

from kansa.ingest import csvlog_blocks, ingest_pgaudit_file, ingest_registry, pgaudit_stage, pipeline
from kansa.ingest.pgaudit import pgaudit_reader
from kansa.ingest.pgaudit_stage import Irregular, ingest_pgaudit_columnar
from kansa.ingest.pipeline import ingest_chunks
from kansa.model.errors import KansaError
from kansa.model.workspace import DEFAULT_TZ, init_workspace
from kansa.simulate import simulate


def _random_log(path: Path, sessions: int, seed: int) -> None:
    """Interleaved sessions of every shape above: look-ups with parameters, joins logged once,
    SESSION + OBJECT pairs, COPY of a query, statements that fail, logins and logouts."""
    rng = random.Random(seed)
    lines: list[tuple[int, str]] = []
    for s in range(sessions):
        sid, vx = f"6{s:03x}.{s}", s % 7 + 1
        t = 1000 * s
        lines.append((t, csv_line(f"connection authorized: user=op{s % 5} database=kintai", user=f"op{s % 5}",
                                   session=sid)))
        for k in range(1, rng.randint(3, 12)):
            t += rng.randint(1, 40)  # other sessions' lines fall in between
            vxid = f"{vx}/{k}"
            kind = rng.randrange(6)
            if kind == 0:
                sql = '"SELECT name, kana FROM cc.residents WHERE resident_id = $1"'
                body = f"{sql},R{rng.randrange(10**6):06d}"
                lines.append((t, csv_line(f"AUDIT: SESSION,{k},1,READ,SELECT,TABLE,cc.residents,{body}",
                                           session=sid, vxid=vxid)))
            elif kind == 1:
                sql = "SELECT * FROM cc.residents JOIN cc.tax USING (resident_id) WHERE resident_id = $1"
                lines.append((t, csv_line(f"AUDIT: SESSION,{k},1,READ,SELECT,TABLE,cc.residents,{sql},R{k}",
                                           session=sid, vxid=vxid)))
                lines.append((t + 1, csv_line(f"AUDIT: SESSION,{k},1,READ,SELECT,TABLE,cc.tax,<previously logged>"
                                               ",<previously logged>", session=sid, vxid=vxid)))
            elif kind == 2:
                sql = '"SELECT * FROM cc.residents r WHERE r.city = \'Sakai\', r.ward = 1"'
                for audit in ("SESSION", "OBJECT"):
                    lines.append((t, csv_line(f"AUDIT: {audit},{k},1,READ,SELECT,TABLE,cc.residents,{sql},<none>",
                                               session=sid, vxid=vxid)))
            elif kind == 3:
                sql = '"COPY (SELECT * FROM cc.residents WHERE resident_id IN (\'a\', \'b\'))\nTO STDOUT"'
                lines.append((t, csv_line(f"AUDIT: SESSION,{k},1,READ,SELECT,TABLE,cc.residents,{sql},<none>",
                                           session=sid, vxid=vxid)))
                lines.append((t + 1, csv_line(f"AUDIT: SESSION,{k},2,READ,COPY,,,{sql},<none>", session=sid,
                                               vxid=vxid)))
            elif kind == 4:
                lines.append((t, csv_line(f"AUDIT: SESSION,{k},1,WRITE,UPDATE,TABLE,cc.contacts,"
                                           f"UPDATE cc.contacts SET note = $2 WHERE resident_id = $1,R{k},x,1",
                                           session=sid, vxid=vxid)))
                lines.append((t + 2, csv_line("duplicate key value", severity="ERROR", session=sid, vxid=vxid)))
            else:
                lines.append((t, csv_line("checkpoint complete", user="", session=sid, vxid="")))
        lines.append((t + 50, csv_line(f"disconnection: session time: 0:00:{s % 60:02d}.000 user=op{s % 5}"
                                        " database=kintai host=10.0.0.5 port=5", session=sid)))
    lines.sort(key=lambda x: x[0])
    path.write_text("".join(text for _, text in lines), encoding="utf-8")


def _rows(root: Path, log: Path, registry: Path | None, columnar: bool, timezone: str | None = None
          ) -> tuple[list[Any], list[Any], list[Any], dict[str, Any]]:
    shutil.rmtree(root, ignore_errors=True)
    with init_workspace(root, timezone=timezone or DEFAULT_TZ) as ws:
        if registry is not None:
            ingest_registry(ws, registry)
        if columnar:
            result = ingest_pgaudit_columnar(ws, log).to_dict()
        else:
            result = ingest_chunks(ws, log, "pgaudit", pgaudit_reader(ws)).to_dict()
        con = ws.con
        # batch ids aside: a big file is committed in several batches (pipeline.BATCH_BYTES)
        events = con.execute("SELECT * EXCLUDE (batch_id) FROM access_events ORDER BY event_id").fetchall()
        subjects = con.execute("SELECT * FROM access_subjects ORDER BY ALL").fetchall()
        files = con.execute("SELECT path, bytes_done, lines_done FROM ingest_files").fetchall()
    return events, subjects, files, result


def _same_both_ways(tmp_path: Path, log: Path, registry: Path | None = None, timezone: str | None = None) -> int:
    line = _rows(tmp_path / "line", log, registry, False, timezone)
    col = _rows(tmp_path / "columnar", log, registry, True, timezone)
    assert col[0] == line[0]
    assert col[1] == line[1]
    assert (col[3]["events"], col[3]["quarantined"]) == (line[3]["events"], line[3]["quarantined"])
    return len(col[0])


def test_statement_shapes_of_the_reader_tests(tmp_path: Path) -> None:
    """Every shape the line reader's tests hold, in one file, sessions interleaved."""
    join = '"SELECT * FROM s.t JOIN s.u USING (k)"'
    copy_q = '"COPY (SELECT * FROM s.t WHERE id IN (\'a\', \'b\')) TO STDOUT;"'
    once = "PREPARE q(text) AS SELECT * FROM s.t JOIN s.u USING (id) WHERE id = $1;"
    text = (
        csv_line("checkpoint starting: time", user="", conn="")
        + csv_line('AUDIT: SESSION,1,1,READ,SELECT,,,"SELECT * FROM pref_osaka.residents '
                    'WHERE resident_id = $1",R77')
        + csv_line('AUDIT: SESSION,7,1,READ,SELECT,TABLE,cartax.taxpayer,'
                    '"SELECT * FROM cartax.taxpayer JOIN cartax.car USING (k) WHERE taxpayer_id = $1",T1',
                    session="65a.2")
        + csv_line("AUDIT: SESSION,7,1,READ,SELECT,TABLE,cartax.car,<previously logged>,<previously logged>",
                    session="65a.2")
        + csv_line('AUDIT: SESSION,2,1,READ,SELECT,TABLE,s.t,"SELECT *\nFROM s.t\nWHERE id = $1",X9',
                    session="65a.3")
        + csv_line("AUDIT: SESSION,1,1,READ,COPY,,,COPY s.t TO STDOUT,<none>", vxid="3/1", session="65a.4")
        + csv_line("AUDIT: SESSION,2,1,READ,COPY,,,COPY s.u TO STDOUT,<none>", vxid="3/2", session="65a.4")
        + csv_line("invalid input syntax", vxid="3/2", severity="ERROR", session="65a.4")
        + csv_line("permission denied", vxid="3/1", severity="ERROR", session="other.2")
        + csv_line(f"AUDIT: SESSION,4,1,READ,SELECT,TABLE,s.t,{join},<none>", session="65a.5")
        + csv_line(f"AUDIT: SESSION,4,1,READ,SELECT,TABLE,s.u,{join},<none>", session="65a.5")
        + csv_line(f"AUDIT: OBJECT,4,1,READ,SELECT,TABLE,s.t,{join},<none>", session="65a.5")
        + csv_line(f"AUDIT: SESSION,5,1,READ,SELECT,TABLE,s.t,{join},<none>", session="65a.5")
        + csv_line("AUDIT: SESSION,1,1,READ,COPY,,,COPY s.t TO STDOUT,<none>", conn="[local]", session="65a.6")
        + csv_line("AUDIT: SESSION,2,1,READ,COPY,,,COPY s.t TO STDOUT,<none>", conn="::1:5432", session="65a.6")
        + csv_line("connection received: host=10.0.0.5 port=51234", user="")
        + csv_line("connection authorized: user=maint01 database=kintai application_name=psql", session="65a.7")
        + csv_line("disconnection: session time: 0:41:02.117 user=maint01 database=kintai host=10.0.0.5"
                    " port=51234", session="65a.7", ts="2024-01-05 10:41:02.240 JST")
        + csv_line('password authentication failed for user "intruder"', user="", severity="FATAL",
                    session="65a.8")
        + csv_line(f"AUDIT: SESSION,4,1,READ,SELECT,TABLE,s.t,{copy_q},<none>", session="65a.9")
        + csv_line(f"AUDIT: SESSION,4,2,READ,COPY,,,{copy_q},<none>", session="65a.9")
        + csv_line(f"AUDIT: SESSION,5,1,READ,COPY,,,{copy_q},<none>", session="65a.9")
        + csv_line('AUDIT: SESSION,1,1,READ,SELECT,TABLE,s.t,"SELECT * FROM s.t WHERE id = $1",R7,1',
                    session="65b.1", ts="2024-01-05 10:00:00 UTC")
        + csv_line("AUDIT: SESSION,2,1,READ,SELECT,TABLE,s.t,SELECT * FROM s.t,<none>,25", session="65b.1",
                    ts="2024-01-05 10:00:00.5 -0330")
        + csv_line("AUDIT: SESSION,3,1,READ,COPY,,,COPY s.t TO STDOUT,<none>,0", session="65b.1",
                    ts="2024-07-05 10:00:00 CEST")
        + csv_line(f"AUDIT: SESSION,9,1,READ,SELECT,TABLE,s.t,{once},R3,1", session="65b.2")
        + csv_line("AUDIT: SESSION,9,1,READ,SELECT,TABLE,s.u,<previously logged>,<previously logged>,1",
                    session="65b.2")
        + csv_line("AUDIT: SESSION,9,2,MISC,EXECUTE,,,EXECUTE q('R3');,<none>,0", session="65b.2")
        + csv_line("AUDIT: SESSION,10,1,MISC,SET,,,SET pgaudit.log = 'none',<none>", session="65b.2")
        + csv_line("AUDIT: SESSION,11,1,READ,SELECT,,,\"SELECT set_config('pgaudit.log', 'none', false)\","
                    "<none>", session="65b.2")
        + csv_line('AUDIT: SESSION,12,1,READ,SELECT,TABLE,s.t,"SELECT * FROM s.t WHERE id IN ($1, $2)",'
                    '"a,b",c', session="65b.2")
        + csv_line("AUDIT: SESSION,13,1,READ,SELECT,TABLE,s.t,<previously logged>,<previously logged>",
                    session="65b.3")  # a statement never logged in full: nothing to recover
        + csv_line('AUDIT: SESSION,14,1,READ,SELECT,TABLE,"public.""MyT""","SELECT * FROM ""MyT"" WHERE id = $1",'
                    '"x""y",<none>', session="65b.3")  # quoted identifiers, a quote in a parameter
    )
    log = tmp_path / "pg.csv"
    log.write_text(text, encoding="utf-8")
    assert _same_both_ways(tmp_path, log) == 27


def test_zone_abbreviation_of_the_workspace_zone(tmp_path: Path) -> None:
    log = tmp_path / "pg.csv"
    log.write_text(csv_line("AUDIT: SESSION,1,1,READ,COPY,,,COPY s.t TO STDOUT,<none>",
                             ts="2024-07-05 10:00:00.000 CDT"), encoding="utf-8")
    assert _same_both_ways(tmp_path, log, timezone="America/Chicago") == 1


@pytest.mark.parametrize(("block_bytes", "stagers"), [(None, 2), (4096, 1), (4096, 2), (4096, 3)])
def test_interleaved_sessions_across_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            block_bytes: int | None, stagers: int) -> None:
    """Small blocks cut statements logged once and their ERRORs apart from their AUDIT lines, and
    the file is committed in several batches; blocks staged one at a time or several at once
    (each stager sees only its own blocks and their neighbours) read alike."""
    monkeypatch.setattr(pgaudit_stage, "STAGERS", stagers)
    if block_bytes:
        monkeypatch.setattr(csvlog_blocks, "BLOCK_BYTES", block_bytes)
        monkeypatch.setattr(pipeline, "BATCH_BYTES", 4 * block_bytes)  # and commit every few blocks
    log = tmp_path / "pg.csv"
    _random_log(log, 400, seed=3)
    assert _same_both_ways(tmp_path, log) > 2000


@pytest.mark.parametrize("scenario", ["ntt-west", "reentrust", "suginami"])
def test_simulated_world_db_log(tmp_path: Path, scenario: str) -> None:
    """The simulator's database logs (gzip csvlog) with its registry: actors and owners resolve alike."""
    world = tmp_path / "world"
    simulate(scenario, 5, world, days=7, scale=0.1)
    logs = sorted((world / "logs" / "db").glob("*.csv*"))
    assert logs
    for log in logs:
        assert _same_both_ways(tmp_path, log, world / "registry") > 100


def test_damaged_record_falls_back_to_the_line_reader(tmp_path: Path) -> None:
    """A record of the wrong width: the columnar path declines, the line reader quarantines it by line."""
    good = csv_line("AUDIT: SESSION,1,1,READ,COPY,,,COPY s.t TO STDOUT,<none>")
    log = tmp_path / "pg.csv"
    log.write_text(good + "2024-01-05 10:00:00 JST,broken\n" + good.replace("SESSION,1,", "SESSION,2,"),
                   encoding="utf-8")
    with init_workspace(tmp_path / "probe") as ws, pytest.raises(Irregular):
        ingest_pgaudit_columnar(ws, log)
    with init_workspace(tmp_path / "ws") as ws:
        result = ingest_pgaudit_file(ws, log)
        assert (result["events"], result["quarantined"]) == (2, 1)
        assert ws.con.execute("SELECT line FROM quarantine").fetchall() == [(2,)]
        assert ws.con.execute("SELECT count(*) FROM ingest_batches").fetchall() == [(1,)]  # probe rolled back


def test_grown_log_resumes_after_the_last_record_either_way(tmp_path: Path) -> None:
    """A live log first read by the line reader (which records the whole size, an unfinished record
    included) then grown: the columnar path resumes at the end of the last line taken."""
    lines = [csv_line(f"AUDIT: SESSION,{n},1,READ,SELECT,TABLE,cc.t,SELECT * FROM cc.t WHERE t_id = 'T{n}',<none>")
             for n in range(1, 5)]
    log = tmp_path / "postgresql.csv"
    cut = len(lines[2]) // 2
    log.write_text(lines[0] + lines[1] + lines[2][:cut], encoding="utf-8")
    with init_workspace(tmp_path / "ws") as ws:
        first = ingest_chunks(ws, log, "pgaudit", pgaudit_reader(ws)).to_dict()
        assert (first["events"], first["quarantined"]) == (2, 0)
        with log.open("a", encoding="utf-8") as fh:
            fh.write(lines[2][cut:] + lines[3])
        second = ingest_pgaudit_columnar(ws, log).to_dict()
        assert (second["events"], second["quarantined"], second["resumed_after_line"]) == (2, 0, 2)
        got = ws.con.execute("SELECT subject_id FROM access_subjects ORDER BY event_id").fetchall()
        assert [g[0] for g in got] == ["T1", "T2", "T3", "T4"]
        assert ingest_pgaudit_file(ws, log)["events"] == 0  # nothing new: nothing added


@pytest.mark.parametrize("body", [
    "SESSION,1,1,READ,SELECT,TABLE,s.t",                      # fewer than eight fields
    'SESSION,1,1,READ,SELECT,TABLE,s.t,"SELECT 1" x,<none>',  # text after a closing quote
    'SESSION,"1",1,READ,SELECT,TABLE,s.t,SELECT 1,<none>',    # a quote where none is expected
])
def test_audit_body_the_sql_does_not_split_goes_to_the_line_reader(tmp_path: Path, body: str) -> None:
    good = csv_line("AUDIT: SESSION,2,1,READ,COPY,,,COPY s.t TO STDOUT,<none>")
    log = tmp_path / "pg.csv"
    log.write_text(good + csv_line("AUDIT: " + body), encoding="utf-8")
    with init_workspace(tmp_path / "probe") as ws, pytest.raises(Irregular):
        ingest_pgaudit_columnar(ws, log)
    line = _rows(tmp_path / "line", log, None, False)
    with init_workspace(tmp_path / "ws") as ws:
        result = ingest_pgaudit_file(ws, log)
        events = ws.con.execute("SELECT * EXCLUDE (batch_id) FROM access_events ORDER BY event_id").fetchall()
        quarantined = ws.con.execute("SELECT line, reason FROM quarantine").fetchall()
    assert events == line[0] and (result["events"], result["quarantined"]) == (line[3]["events"], line[3]["quarantined"])
    assert len(quarantined) == line[3]["quarantined"]


def test_stagers_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """KANSA_CSVLOG_STAGERS sets how many blocks are staged at once; a wrong value is one clear error."""
    monkeypatch.setattr(csvlog_blocks, "BLOCK_BYTES", 4096)
    log = tmp_path / "pg.csv"
    _random_log(log, 120, seed=5)
    made: list[object] = []

    class Counted(pgaudit_stage.CsvlogStager):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(pgaudit_stage, "CsvlogStager", Counted)
    monkeypatch.setenv(pgaudit_stage.ENV_STAGERS, "2")
    assert _same_both_ways(tmp_path, log) > 500
    assert len(made) == 2  # one per stager thread, each with its own DuckDB
    monkeypatch.setenv(pgaudit_stage.ENV_STAGERS, "zero")
    with init_workspace(tmp_path / "bad") as ws, pytest.raises(KansaError, match="KANSA_CSVLOG_STAGERS"):
        ingest_pgaudit_columnar(ws, log)
