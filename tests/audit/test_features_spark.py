"""The behaviour features are one SQL query: Spark (transpiled by sqlglot) computes what DuckDB does."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from typing import Any

import pandas as pd
import pytest
from audit_world import START, Builder, at, normal_days, registry

from kansa.audit.features import FEATURES, feature_sql
from kansa.model.workspace import Workspace, init_workspace

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime (default-jre-headless)", allow_module_level=True)

TABLES = {
    "access_events": "SELECT event_id, ts, actor_id, action, resource, owner_id, ticket, row_count FROM access_events",
    "access_subjects": "SELECT * FROM access_subjects",
    "actors": "SELECT actor_id, role, team FROM actors",
    "assignments": "SELECT * FROM assignments",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = init_workspace(tmp_path_factory.mktemp("spark") / "ws")
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 13)
    b.access(at(5, 22), "op1", "export", "pref-a", [], rows=700, resource="app/export")  # off hours, new resource
    b.access(at(6, 10), "op2", "view", "city-b", ["C1", "C2"])  # no assignment for city-b
    b.access(at(6, 10, 5), "op2", "view", "city-b", ["C2"], resource="app/other")
    b.access(at(7, 11), "op3", "view", "city-b", ["C9"])
    ws.con.execute("UPDATE access_events SET ticket = 'T-1' WHERE actor_id = 'op3' AND owner_id = 'city-b'")
    b.access(at(12, 9), "mnt1", "search", None, [], rows=None)  # a Saturday: off hours all day
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def spark(world: Workspace) -> Iterator[Any]:
    """One local Spark session for the module, with the workspace's tables registered as views."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("kansa-features-test")
        .config("spark.sql.session.timeZone", "Asia/Tokyo")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    for name, sql in TABLES.items():
        session.createDataFrame(world.con.execute(sql).df()).createOrReplaceTempView(name)
    yield session
    session.stop()


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["period"] = pd.to_datetime(df["period"]).dt.date
    for col in FEATURES:
        df[col] = df[col].astype(float).round(9)
    return df.sort_values(["period", "actor_id"]).reset_index(drop=True)[["actor_id", "period", *FEATURES]]


@pytest.mark.parametrize("period", ["day", "week"])
def test_spark_computes_the_same_features_as_duckdb(world: Workspace, spark: Any, period: str) -> None:
    since, until = START, at(13, 0).date()
    if period == "week":
        since = date.fromordinal(since.toordinal() - since.weekday())
    duck = _normalise(world.con.execute(feature_sql(since, until, period)).df())
    sql = feature_sql(since, until, period, dialect="spark")
    assert "DATEDIFF" in sql.upper()  # it is the translated text that runs, not the DuckDB one
    sparked = _normalise(spark.sql(sql).toPandas())
    pd.testing.assert_frame_equal(duck, sparked, check_dtype=False)
    # the features are not trivially equal: the planted behaviour shows in them
    op1 = duck[(duck.actor_id == "op1") & (duck.rows_exported > 0)]
    assert len(op1) == 1 and op1.iloc[0]["off_hours_share"] > 0 and op1.iloc[0]["new_resources"] >= 1
    op2 = duck[(duck.actor_id == "op2") & (duck.owners == 2)]
    assert len(op2) == 1 and 0 < op2.iloc[0]["unjustified_share"] < 1
    op3 = duck[(duck.actor_id == "op3") & (duck.owners == 2)]
    assert len(op3) == 1 and op3.iloc[0]["unjustified_share"] == 0  # a ticket justifies it
