"""bulk_pull when the log gives no row count: whole-table COPY/SELECT sized from the datasets table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from audit_world import START, Builder, at, normal_days, registry

from kansa.audit import list_findings, run_audit
from kansa.audit.rules.sqlshape import aggregate_only, whole_table_export
from kansa.model.workspace import Workspace


@pytest.mark.parametrize(
    ("sql", "whole"),
    [
        ("COPY pref_a.taxpayer TO stdout;", True),
        ("copy (select * from pref_a.taxpayer) to '/tmp/x.csv' with csv header", True),
        ("SELECT name, address FROM pref_a.taxpayer", True),
        ("COPY (SELECT * FROM pref_a.t WHERE id BETWEEN 'A1' AND 'A9') TO STDOUT", False),
        ("SELECT count(*) FROM pref_a.taxpayer", False),
        ("SELECT * FROM pref_a.taxpayer LIMIT 100", False),
        ("COPY pref_a.taxpayer FROM stdin", False),
        ("VACUUM ANALYZE pref_a.taxpayer", False),
    ],
)
def test_statement_shapes(sql: str, whole: bool) -> None:
    assert whole_table_export(sql) is whole


def test_unreadable_sql_is_dont_know() -> None:
    assert whole_table_export("GET /api/v1/people?all=1") is None
    assert aggregate_only("SELECT count(*), max(id) FROM t") and not aggregate_only("SELECT * FROM t")


def _db(b: Builder, ts: object, actor: str, sql: str) -> None:
    b.access(ts, actor, "export", "pref-a", [], resource="pref_a.taxpayer", statement=sql)  # type: ignore[arg-type]
    b.ws.con.execute("UPDATE access_events SET row_count = NULL WHERE event_id = ?", [b.next_id - 1])


@pytest.fixture
def world(ws: Workspace) -> Builder:
    registry(ws)
    con = ws.con
    con.execute("INSERT INTO actors (actor_id, role, team) VALUES ('svc-backup', 'service', 'SYS')")
    con.execute("INSERT INTO actors (actor_id, role, team, privileged) VALUES ('mnt2', 'maintainer', 'SYS', TRUE)")
    con.execute("INSERT INTO datasets (dataset_id, owner_id, name, records, valid_from) "
                "VALUES ('pref-a/tax/2024', 'pref-a', 'tax', 8000, ?)", [START])
    # mnt2 has a migration ticket for pref-a on day 9
    con.execute("INSERT INTO assignments VALUES ('MIG-1', 'mnt2', 'SYS', 'pref-a', NULL, 'ticket', 'migration', ?, ?)",
                [START + timedelta(days=9), START + timedelta(days=9)])
    b = Builder(ws)
    normal_days(b, 0, 25)
    for d in range(0, 26):
        _db(b, at(d, 2), "svc-backup", "COPY pref_a.taxpayer TO stdout;")   # nightly backup: its job
        _db(b, at(d, 10), "mnt1", "SELECT count(*) FROM pref_a.taxpayer")  # a health check
    return b


def test_whole_table_export_by_a_person_without_export_task(ws: Workspace, world: Builder) -> None:
    # 07:00 in Tokyo is the previous day in UTC: the finding must carry the local day
    _db(world, at(20, 7), "mnt1", "COPY (SELECT * FROM pref_a.taxpayer) TO STDOUT WITH CSV HEADER")
    _db(world, at(9, 11), "mnt2", "COPY pref_a.taxpayer TO '/srv/migrate/t.csv'")  # under the migration ticket
    run_audit(ws)
    hits = list_findings(ws, rule="bulk_pull")
    assert [(f["actor_id"], f["day"]) for f in hits] == [("mnt1", at(20, 0).date())]
    assert "8000" in str(hits[0]["reason_en"]) and "pref-a" in str(hits[0]["reason_ja"])


def test_backup_and_health_checks_are_quiet(ws: Workspace, world: Builder) -> None:
    run_audit(ws)
    assert list_findings(ws, rule="bulk_pull") == []


def test_unknown_size_falls_back_to_the_configured_rows(ws: Workspace, world: Builder) -> None:
    ws.con.execute("DELETE FROM datasets")
    (ws.root / "audit.yaml").write_text("rules:\n  bulk_pull:\n    unknown_table_rows: 4321\n", encoding="utf-8")
    _db(world, at(20, 21), "mnt1", "SELECT * FROM pref_a.taxpayer")
    run_audit(ws)
    hits = list_findings(ws, rule="bulk_pull")
    assert len(hits) == 1 and "4321" in str(hits[0]["reason_en"])
