"""The local day and hour by arithmetic equal DuckDB's own casts, daylight saving included."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest

from kansa.audit.localday import ICU_ONLY, local_clock

ZONES = ["Asia/Tokyo", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]


def _con(zone: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    con.execute("CREATE TABLE access_events (ts TIMESTAMPTZ)")
    con.execute("CREATE TABLE endpoint_events (ts TIMESTAMPTZ)")
    return con


@pytest.mark.parametrize("zone", ZONES)
def test_day_and_hour_equal_the_casts_over_two_years(zone: str) -> None:
    con = _con(zone)
    # every 37 minutes over two years crosses each zone's offset changes at many times of day
    con.execute("INSERT INTO access_events SELECT TIMESTAMPTZ '2023-01-01 00:00:00+00' "
                "+ to_minutes(CAST(i * 37 AS BIGINT)) FROM range(28400) r(i)")
    con.execute("INSERT INTO access_events VALUES (NULL)")
    clock = local_clock(con, datetime(2025, 1, 1, tzinfo=ZoneInfo(zone)))
    assert clock.runs  # the arithmetic is in use, not the fallback alone
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE CAST(ts AS DATE) IS DISTINCT FROM {clock.day('ts')}), "
        f"count(*) FILTER (WHERE hour(ts) IS DISTINCT FROM {clock.hour('ts')}), count(*) FROM access_events"
    ).fetchone()
    assert row == (0, 0, 28401)


def test_instants_outside_the_data_fall_back_to_the_cast() -> None:
    con = _con("Europe/Berlin")
    con.execute("INSERT INTO access_events VALUES (TIMESTAMPTZ '2024-03-01 12:00:00+00')")
    clock = local_clock(con, datetime(2024, 3, 5, tzinfo=ZoneInfo("Europe/Berlin")))
    for ts in ("1999-03-28 01:30:00+00", "2024-03-31 01:30:00+00", "2030-10-27 00:59:00+00"):
        got = con.execute(f"SELECT {clock.day('t')} = CAST(t AS DATE), {clock.hour('t')} = hour(t) "
                          f"FROM (SELECT TIMESTAMPTZ '{ts}' AS t)").fetchone()
        assert got == (True, True)


def test_no_data_means_the_cast_itself() -> None:
    con = _con("Asia/Tokyo")
    clock = local_clock(con, datetime(2024, 3, 5, tzinfo=ZoneInfo("Asia/Tokyo")))
    assert clock == ICU_ONLY
    assert clock.day("e.ts") == "CAST(e.ts AS DATE)"
