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

from datetime import date, datetime, timedelta

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
_DOW = "date_diff('day', " + _MONDAY + ", {d}) % 7"  # 0 = Monday, whatever the engine's numbering

# Both grains in one pass. The events are read twice, each time into a table much smaller than
# they are: per (actor, day, owner) every sum the features need, and per (actor, week, person)
# the weekdays that person was touched on. Days come from the first, weeks by summing it again
# (distinct owners per week from its owner column); distinct people per day are the persons whose
# weekday flag is set, per week all of them. An earlier form ran one query per grain, each joining
# every event to its subjects and counting distinct people per period: the same join twice.
_TEMPLATE = """
WITH ev AS (
    SELECT e.event_id, e.actor_id, CAST(e.ts AS DATE) AS day, hour(e.ts) AS hr, e.action, e.owner_id,
           e.resource, e.ticket, coalesce(e.row_count, 1) AS n_rows
    FROM access_events e
    WHERE e.actor_id IS NOT NULL AND {read_days}
),
pev AS (
    SELECT ev.*, CAST(date_trunc('week', ev.day) AS DATE) AS week FROM ev WHERE ev.day >= DATE '{week_since}'
),
ado AS (
    SELECT actor_id, day, week, owner_id, count(*) AS events,
           sum(CASE WHEN action IN ('view', 'search', 'export', 'print', 'update') THEN n_rows ELSE 0 END)
               AS rows_read,
           sum(CASE WHEN action IN ('export', 'print') THEN n_rows ELSE 0 END) AS rows_exported,
           sum(CASE WHEN ticket IS NULL THEN 1 ELSE 0 END) AS no_ticket,
           sum(CASE WHEN hr < {start_hour} OR hr >= {end_hour} OR {dow_day} >= 5 THEN 1 ELSE 0 END)
               AS off_hours_events
    FROM pev GROUP BY actor_id, day, week, owner_id
),
covered AS (
    SELECT DISTINCT c.actor_id, c.day, c.owner_id
    FROM ado c
    LEFT JOIN actors a ON a.actor_id = c.actor_id
    JOIN assignments s
      ON (s.actor_id = c.actor_id OR (s.actor_id IS NULL AND s.team IS NOT NULL AND s.team = a.team))
     AND (s.owner_id IS NULL OR s.owner_id = c.owner_id)
     AND c.day >= coalesce(s.valid_from, DATE '0001-01-01')
     AND c.day <= coalesce(s.valid_to, DATE '9999-12-31')
    WHERE c.owner_id IS NOT NULL
),
adu AS (
    SELECT o.actor_id, o.day, o.week, o.owner_id, o.events, o.rows_read, o.rows_exported, o.off_hours_events,
           CASE WHEN o.owner_id IS NOT NULL THEN o.events ELSE 0 END AS owner_events,
           CASE WHEN o.owner_id IS NOT NULL AND cv.actor_id IS NULL THEN o.no_ticket ELSE 0 END AS unjustified_events
    FROM ado o
    LEFT JOIN covered cv ON cv.actor_id = o.actor_id AND cv.day = o.day AND cv.owner_id = o.owner_id
),
agg AS (
    SELECT 'day' AS grain, actor_id, day AS period, sum(events) AS events, count(owner_id) AS owners,
           sum(rows_read) AS rows_read, sum(rows_exported) AS rows_exported, sum(owner_events) AS owner_events,
           sum(unjustified_events) AS unjustified_events, sum(off_hours_events) AS off_hours_events
    FROM adu WHERE day >= DATE '{since}' GROUP BY actor_id, day
    UNION ALL
    SELECT 'week' AS grain, actor_id, week AS period, sum(events) AS events, count(DISTINCT owner_id) AS owners,
           sum(rows_read) AS rows_read, sum(rows_exported) AS rows_exported, sum(owner_events) AS owner_events,
           sum(unjustified_events) AS unjustified_events, sum(off_hours_events) AS off_hours_events
    FROM adu GROUP BY actor_id, week
),
wp AS (
    SELECT pev.actor_id, pev.week, {weekday_flags}
    FROM pev JOIN access_subjects x ON x.event_id = pev.event_id{subject_ids}
    GROUP BY pev.actor_id, pev.week, coalesce(x.owner_id, pev.owner_id, ''), x.subject_id
),
wsum AS (
    SELECT actor_id, week, count(*) AS subjects, {weekday_sums} FROM wp GROUP BY actor_id, week
),
days AS (
    SELECT DISTINCT day, week FROM ado WHERE day >= DATE '{since}'
),
subj AS (
    SELECT 'week' AS grain, actor_id, week AS period, subjects FROM wsum
    UNION ALL
    SELECT 'day' AS grain, w.actor_id, d.day AS period, CASE {dow_d} {weekday_pick} END AS subjects
    FROM wsum w JOIN days d ON d.week = w.week
),
recent AS (
    SELECT DISTINCT actor_id, resource FROM pev WHERE resource IS NOT NULL
),
first_touch AS ({first_touch}),
touch AS (
    SELECT actor_id, first_day, CAST(date_trunc('week', first_day) AS DATE) AS first_week
    FROM first_touch WHERE first_day >= DATE '{week_since}'
),
new_res AS (
    SELECT 'day' AS grain, actor_id, first_day AS period, count(*) AS new_resources
    FROM touch WHERE first_day >= DATE '{since}' GROUP BY actor_id, first_day
    UNION ALL
    SELECT 'week' AS grain, actor_id, first_week AS period, count(*) AS new_resources
    FROM touch GROUP BY actor_id, first_week
)
SELECT g.grain, g.actor_id, g.period, g.events,
       coalesce(s.subjects, 0) AS subjects,
       g.owners, g.rows_read, g.rows_exported,
       CASE WHEN g.owner_events > 0 THEN CAST(g.unjustified_events AS DOUBLE) / g.owner_events ELSE 0.0 END
           AS unjustified_share,
       CAST(g.off_hours_events AS DOUBLE) / g.events AS off_hours_share,
       coalesce(n.new_resources, 0) AS new_resources
FROM agg g
LEFT JOIN subj s ON s.grain = g.grain AND s.actor_id = g.actor_id AND s.period = g.period
LEFT JOIN new_res n ON n.grain = g.grain AND n.actor_id = g.actor_id AND n.period = g.period
ORDER BY g.grain, g.period, g.actor_id
"""

_FIRST_TOUCH = """
    SELECT ev.actor_id, ev.resource, min(ev.day) AS first_day
    FROM ev JOIN recent r ON r.actor_id = ev.actor_id AND r.resource = ev.resource
    GROUP BY ev.actor_id, ev.resource
"""

GRAINS = ("day", "week")


def monday(day: date) -> date:
    """The Monday of ``day``'s week: the label of its week period."""
    return day - timedelta(days=day.weekday())


def _ts_range(first: date, last: date) -> str:
    """Bounds on the raw timestamp that hold every event of local days [first, last] in any time zone
    (offsets are within a day of UTC). The local-day tests above decide; these only let the engine
    skip the stored blocks of other days instead of converting every event's time to a local date,
    which made the cost of a one-day run grow with the whole log."""
    lo = (first - timedelta(days=1)).isoformat()
    hi = (last + timedelta(days=2)).isoformat()
    return f" AND e.ts >= TIMESTAMPTZ '{lo} 00:00:00+00' AND e.ts < TIMESTAMPTZ '{hi} 00:00:00+00'"


def features_sql(
    since: date, until: date, dialect: str = "duckdb", first_touch_table: str | None = None,
    event_ids: tuple[int, int] | None = None, local_midnights: tuple[datetime, datetime] | None = None,
) -> str:
    """The feature query for both grains, in ``dialect`` (duckdb, spark, ...): column ``grain`` then
    ``actor_id``, ``period`` and ``FEATURES``.

    Day rows for days in [since, until]; week rows for the weeks that hold them (labelled by their
    Monday, the first one complete from its Monday even when ``since`` falls later in it). Events up
    to ``until`` are read (history tells which resources are new). With ``first_touch_table``
    (columns actor_id, resource, day: the first day each actor touched each resource, kept up to date
    by the caller) history is not read: only events from the Monday of ``since``'s week are.
    ``event_ids`` (lowest, highest), when given, must hold the ids of every event read: the people
    looked up are read for those ids only (``access_subjects`` has no time, and ids grow with the
    log, so the engine skips the blocks of other days instead of reading every person ever touched).
    ``local_midnights`` (with ``first_touch_table``): the instants starting the Monday of ``since``'s
    week and the day after ``until`` in the zone of the engine's session; the events are then chosen
    by their timestamp alone, the same events as by their local day without converting each one's
    time to a date (a fifth of a block's CPU at 50 M events).
    """
    week_since = monday(since)
    read_days = f"CAST(e.ts AS DATE) <= DATE '{until.isoformat()}'"
    if first_touch_table is None:
        first_touch = _FIRST_TOUCH
    else:
        if local_midnights is not None:
            read_days = (f"e.ts >= TIMESTAMPTZ '{local_midnights[0].isoformat()}' "
                         f"AND e.ts < TIMESTAMPTZ '{local_midnights[1].isoformat()}'")
        else:
            read_days += f" AND CAST(e.ts AS DATE) >= DATE '{week_since.isoformat()}'" + _ts_range(week_since, until)
        first_touch = (f"SELECT actor_id, resource, day AS first_day FROM {first_touch_table} "
                       f"WHERE day >= DATE '{week_since.isoformat()}' AND day <= DATE '{until.isoformat()}'")
    dow_ev = _DOW.format(d="pev.day")
    sql = _TEMPLATE.format(
        read_days=read_days,
        subject_ids="" if event_ids is None else f" AND x.event_id BETWEEN {int(event_ids[0])} AND {int(event_ids[1])}",
        first_touch=first_touch,
        since=since.isoformat(),
        week_since=week_since.isoformat(),
        until=until.isoformat(),
        start_hour=DAY_START_HOUR,
        end_hour=DAY_END_HOUR,
        dow_day=_DOW.format(d="day"),
        dow_d=_DOW.format(d="d.day"),
        weekday_flags=", ".join(f"max(CASE WHEN {dow_ev} = {i} THEN 1 ELSE 0 END) AS d{i}" for i in range(7)),
        weekday_sums=", ".join(f"sum(d{i}) AS n{i}" for i in range(7)),
        weekday_pick=" ".join(f"WHEN {i} THEN w.n{i}" for i in range(7)),
    )
    if dialect == "duckdb":
        return sql
    return str(sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)[0])


def feature_sql(
    since: date, until: date, period: str = "day", dialect: str = "duckdb", first_touch_table: str | None = None
) -> str:
    """One grain of ``features_sql``: rows ``actor_id``, ``period``, ``FEATURES`` for periods from ``since``
    (a week from its Monday), ordered by period and actor."""
    if period not in GRAINS:
        raise ValueError(f"period must be one of {', '.join(GRAINS)}")
    cols = ", ".join(("actor_id", "period", *FEATURES))
    sql = (f"SELECT {cols} FROM ({features_sql(since, until, first_touch_table=first_touch_table)}) f "
           f"WHERE f.grain = '{period}' ORDER BY period, actor_id")
    if dialect == "duckdb":
        return sql
    return str(sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)[0])
