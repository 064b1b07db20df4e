"""Behaviour features per actor-day and actor-week, written once as SQL that runs on DuckDB and Spark.

The behaviour detector compares what a person did on a day with what they and their peers
usually do. The numbers it compares are plain aggregates over the access model, so they are
written as one SQL query in DuckDB's dialect and translated for other engines with sqlglot
(the way Splink keeps one model for several backends). On one machine DuckDB computes them in
the workspace; where the events outgrow a machine the very same query runs on Spark over the
same tables (``feature_sql(..., dialect="spark")``), and a test checks both give equal numbers.

Only portable constructs are used: no FILTER clauses, no list functions, no DuckDB-only date
parts; day-of-week is counted from a known Monday so that engines' different weekday numbering
cannot disagree. Days and hours are local: DuckDB's connection TimeZone and Spark's
``spark.sql.session.timeZone`` must both be the workspace zone.

Features (one row per actor and period):
- ``events``: access events of any kind;
- ``subjects``: distinct people (owner, record id) touched;
- ``owners``: distinct data owners (clients) whose data was touched;
- ``rows_read`` / ``rows_exported``: rows returned by data actions / by exports and prints;
- ``unjustified_share``: share of owner-data events with neither a ticket nor an assignment
  for that owner valid that day (the actor's own or the team's);
- ``off_hours_share``: share of events before 07:00, from 20:00, or on a Saturday or Sunday;
- ``new_resources``: resources (tables, screens, files) the actor had never touched before.
"""

from __future__ import annotations

from datetime import date

import sqlglot

FEATURES: tuple[str, ...] = (
    "events",
    "subjects",
    "owners",
    "rows_read",
    "rows_exported",
    "unjustified_share",
    "off_hours_share",
    "new_resources",
)
COUNT_FEATURES: tuple[str, ...] = ("events", "subjects", "owners", "rows_read", "rows_exported", "new_resources")
SHARE_FEATURES: tuple[str, ...] = ("unjustified_share", "off_hours_share")

DAY_START_HOUR = 7
DAY_END_HOUR = 20  # events from this hour on are off hours
_MONDAY = "DATE '1970-01-05'"

# {period} is the bucket an event falls in: its local day, or the Monday of its week.
_TEMPLATE = """
WITH ev AS (
    SELECT e.event_id, e.actor_id, CAST(e.ts AS DATE) AS day, hour(e.ts) AS hr, e.action, e.owner_id,
           e.resource, e.ticket, coalesce(e.row_count, 1) AS n_rows
    FROM access_events e
    WHERE e.actor_id IS NOT NULL AND CAST(e.ts AS DATE) <= DATE '{until}'{lower}
),
pev AS (
    SELECT ev.*, {period} AS period FROM ev WHERE {period} >= DATE '{since}'
),
scope AS (
    SELECT DISTINCT actor_id, day, owner_id FROM pev WHERE owner_id IS NOT NULL
),
covered AS (
    SELECT DISTINCT c.actor_id, c.day, c.owner_id
    FROM scope c
    LEFT JOIN actors a ON a.actor_id = c.actor_id
    JOIN assignments s
      ON (s.actor_id = c.actor_id OR (s.actor_id IS NULL AND s.team IS NOT NULL AND s.team = a.team))
     AND (s.owner_id IS NULL OR s.owner_id = c.owner_id)
     AND c.day >= coalesce(s.valid_from, DATE '0001-01-01')
     AND c.day <= coalesce(s.valid_to, DATE '9999-12-31')
),
recent AS (
    SELECT DISTINCT actor_id, resource FROM pev WHERE resource IS NOT NULL
),
first_touch AS ({first_touch}),
new_res AS (
    SELECT actor_id, {first_period} AS period, count(*) AS new_resources
    FROM first_touch WHERE {first_period} >= DATE '{since}'
    GROUP BY actor_id, {first_period}
),
subj AS (
    SELECT pev.actor_id, pev.period,
           count(DISTINCT concat(coalesce(x.owner_id, pev.owner_id, ''), '|', x.subject_id)) AS subjects
    FROM pev JOIN access_subjects x ON x.event_id = pev.event_id
    GROUP BY pev.actor_id, pev.period
),
agg AS (
    SELECT pev.actor_id, pev.period,
           count(*) AS events,
           count(DISTINCT pev.owner_id) AS owners,
           sum(CASE WHEN pev.action IN ('view', 'search', 'export', 'print', 'update')
                    THEN pev.n_rows ELSE 0 END) AS rows_read,
           sum(CASE WHEN pev.action IN ('export', 'print') THEN pev.n_rows ELSE 0 END) AS rows_exported,
           sum(CASE WHEN pev.owner_id IS NOT NULL THEN 1 ELSE 0 END) AS owner_events,
           sum(CASE WHEN pev.owner_id IS NOT NULL AND pev.ticket IS NULL AND cv.actor_id IS NULL
                    THEN 1 ELSE 0 END) AS unjustified_events,
           sum(CASE WHEN pev.hr < {start_hour} OR pev.hr >= {end_hour}
                      OR date_diff('day', {monday}, pev.day) % 7 >= 5
                    THEN 1 ELSE 0 END) AS off_hours_events
    FROM pev
    LEFT JOIN covered cv ON cv.actor_id = pev.actor_id AND cv.day = pev.day AND cv.owner_id = pev.owner_id
    GROUP BY pev.actor_id, pev.period
)
SELECT g.actor_id, g.period, g.events,
       coalesce(s.subjects, 0) AS subjects,
       g.owners, g.rows_read, g.rows_exported,
       CASE WHEN g.owner_events > 0 THEN CAST(g.unjustified_events AS DOUBLE) / g.owner_events ELSE 0.0 END
           AS unjustified_share,
       CAST(g.off_hours_events AS DOUBLE) / g.events AS off_hours_share,
       coalesce(n.new_resources, 0) AS new_resources
FROM agg g
LEFT JOIN subj s ON s.actor_id = g.actor_id AND s.period = g.period
LEFT JOIN new_res n ON n.actor_id = g.actor_id AND n.period = g.period
ORDER BY g.period, g.actor_id
"""

_PERIODS = {
    "day": ("ev.day", "first_day"),
    "week": ("CAST(date_trunc('week', ev.day) AS DATE)", "CAST(date_trunc('week', first_day) AS DATE)"),
}


_FIRST_TOUCH = """
    SELECT ev.actor_id, ev.resource, min(ev.day) AS first_day
    FROM ev JOIN recent r ON r.actor_id = ev.actor_id AND r.resource = ev.resource
    GROUP BY ev.actor_id, ev.resource
"""


def feature_sql(
    since: date, until: date, period: str = "day", dialect: str = "duckdb", first_touch_table: str | None = None
) -> str:
    """The feature query for periods starting in [since, until], in ``dialect`` (duckdb, spark, ...).

    Events up to ``until`` are read (history is needed to know which resources are new); rows are
    produced only for periods from ``since``. A week period is labelled by its Monday. With
    ``first_touch_table`` (columns actor_id, resource, day: the first day each actor touched each
    resource, kept up to date by the caller) history is not read: only events from ``since`` are.
    """
    if period not in _PERIODS:
        raise ValueError(f"period must be one of {', '.join(_PERIODS)}")
    bucket, first_bucket = _PERIODS[period]
    if first_touch_table is None:
        lower, first_touch = "", _FIRST_TOUCH
    else:
        lower = f" AND CAST(e.ts AS DATE) >= DATE '{since.isoformat()}'"
        first_touch = (f"SELECT actor_id, resource, day AS first_day FROM {first_touch_table} "
                       f"WHERE day >= DATE '{since.isoformat()}' AND day <= DATE '{until.isoformat()}'")
    sql = _TEMPLATE.format(
        lower=lower,
        first_touch=first_touch,
        period=bucket,
        first_period=first_bucket,
        since=since.isoformat(),
        until=until.isoformat(),
        start_hour=DAY_START_HOUR,
        end_hour=DAY_END_HOUR,
        monday=_MONDAY,
    )
    if dialect == "duckdb":
        return sql
    return str(sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)[0])
