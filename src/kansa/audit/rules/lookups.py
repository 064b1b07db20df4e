"""Look-ups and whether a task explains them, computed in stages that DuckDB can spill.

A look-up is a record view naming at most a handful of people. Whether a task explains the
person looked up depends on four facts: a covering assignment of the actor or the actor's team
that day for the event's owner (``any_scope``), whether one of them is a standing duty without a
subject list (``open_scope``), whether the person is on a covering list (``listed``), and whether
the look-up cited a ticket or was followed that day by a business action on the person (``acted``).

The first three depend only on (actor, day, owner, person), not on the event, so they are
computed once per such group. The earlier form was one query of common table expressions that
joined every look-up to itself (``listed`` keyed by event) and kept the shared expressions in
memory; under a 3 GB limit it ran out of memory at ten million events. Here every stage is a temp
table built by one join against a small side (assignments, actions) or one GROUP BY, which
DuckDB spills to the workspace's spill folder when the memory limit is reached.

Tables made on the cursor (all temp, dropped by ``drop``):

* ``{p}_look``: one row per (look-up event, person): event_id, ts, day, actor_id, team, owner_id,
  ticketed, subject_id, subj_owner;
* ``{p}_acts``: the actors' business actions per person and day, with the last one's time;
* ``{p}_group``: one row per (actor, day, owner, person) with all_acted, any_scope, open_scope, listed.

``OFF`` is the condition of an unexplained look-up on a row of ``{p}_group``; on a single event,
``acted`` replaces all_acted (``event_flags``).

``count_people`` (curiosity's per actor-day counts) needs no ``{p}_group``: it leaves only
``{p}_days`` (actor_id, day, n_off, n_looked).
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from kansa.audit.localday import local_clock

# Unexplained: inside some task scope, not on a covering list, and either no standing duty
# covers it or it was not acted upon.
OFF = "(g.any_scope AND NOT g.listed AND (NOT g.open_scope OR NOT g.all_acted))"


def build(
    cur: duckdb.DuckDBPyConnection, prefix: str, cutoff: datetime, lo: datetime, id_lo: int, id_hi: int,
    max_subjects: int, events_where: str = "", params: list[object] | None = None,
) -> None:
    """Make the three tables for look-ups in [``lo``, ``cutoff``) on ``cur`` (which holds ``_kansa_cover``).

    ``events_where`` (with ``params``) narrows the events by a condition on ``e`` (e.g. only the
    events naming a watched person); it must hold for all or none of one event's rows.
    """
    _look_and_acts(cur, prefix, cutoff, lo, id_lo, id_hi, max_subjects, events_where, params)
    _build_groups(cur, prefix)


def _look_and_acts(
    cur: duckdb.DuckDBPyConnection, prefix: str, cutoff: datetime, lo: datetime, id_lo: int, id_hi: int,
    max_subjects: int, events_where: str = "", params: list[object] | None = None,
) -> None:
    """``{prefix}_look`` and ``{prefix}_acts`` (see the module's docstring)."""
    extra = f" AND ({events_where})" if events_where else ""
    clock = local_clock(cur, cutoff)
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {prefix}_look AS
        SELECT e.event_id, e.ts, {clock.day('e.ts')} AS day, e.actor_id, a.team, e.owner_id,
               e.ticket IS NOT NULL AS ticketed, x.subject_id, coalesce(x.owner_id, e.owner_id) AS subj_owner
        FROM access_events e JOIN access_subjects x USING (event_id) LEFT JOIN actors a ON a.actor_id = e.actor_id
        WHERE e.ts < ? AND e.ts >= ? AND x.event_id BETWEEN ? AND ? AND e.action = 'view'
          AND e.actor_id IS NOT NULL AND e.owner_id IS NOT NULL AND coalesce(a.role, '') <> 'service'{extra}
        """,
        [cutoff, lo, id_lo, id_hi, *(params or [])],
    )
    # a view naming more people is a search result or a bulk read, not a look-up
    cur.execute(
        f"DELETE FROM {prefix}_look WHERE event_id IN "
        f"(SELECT event_id FROM {prefix}_look GROUP BY event_id HAVING count(*) > {int(max_subjects)})"
    )
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {prefix}_acts AS
        SELECT w.actor_id, y.subject_id, coalesce(y.owner_id, w.owner_id) AS subj_owner,
               {clock.day('w.ts')} AS day, max(w.ts) AS last_ts
        FROM access_events w JOIN access_subjects y USING (event_id)
        WHERE w.ts < ? AND w.ts >= ? AND y.event_id BETWEEN ? AND ?
          AND w.action IN ('update', 'insert', 'delete', 'print', 'export')
        GROUP BY ALL
        """,
        [cutoff, lo, id_lo, id_hi],
    )


# Covering assignments per (actor, day, owner) of a ``keys`` relation (actor_id, team, day,
# owner_id): the actor's own or the team's, as two equi-joins on ``_kansa_cover``; shared by the
# per-group path and the per-person count so that both read the same cover.
_COVERING = """
        SELECT k.actor_id, k.day, k.owner_id, s.assignment_id
        FROM keys k JOIN _kansa_cover s ON s.actor_id = k.actor_id AND s.day = k.day
        WHERE s.owner_id IS NULL OR s.owner_id = k.owner_id
        UNION ALL
        SELECT k.actor_id, k.day, k.owner_id, s.assignment_id
        FROM keys k JOIN _kansa_cover s ON s.team = k.team AND s.day = k.day
        WHERE s.actor_id IS NULL AND (s.owner_id IS NULL OR s.owner_id = k.owner_id)
"""


def _build_groups(cur: duckdb.DuckDBPyConnection, prefix: str) -> None:
    """``{prefix}_group`` from ``{prefix}_look`` and ``{prefix}_acts``."""
    # per (actor, day, owner, person): were all its look-ups acted upon?
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {prefix}_g0 AS
        SELECT l.actor_id, l.team, l.day, l.owner_id, l.subj_owner, l.subject_id,
               bool_and(l.ticketed OR coalesce(t.last_ts >= l.ts, FALSE)) AS all_acted
        FROM {prefix}_look l
        LEFT JOIN {prefix}_acts t ON t.actor_id = l.actor_id AND t.subject_id = l.subject_id
                                 AND t.subj_owner = l.subj_owner AND t.day = l.day
        GROUP BY ALL
        """
    )
    # covering assignments per (actor, day, owner): the actor's own or the team's (two equi-joins)
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {prefix}_cov AS
        WITH keys AS (SELECT DISTINCT actor_id, team, day, owner_id FROM {prefix}_g0)
        {_COVERING}
        """
    )
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {prefix}_scope AS
        SELECT c.actor_id, c.day, c.owner_id,
               bool_or(NOT EXISTS (SELECT 1 FROM assignment_subjects q WHERE q.assignment_id = c.assignment_id))
                   AS open_scope
        FROM {prefix}_cov c GROUP BY ALL
        """
    )
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {prefix}_group AS
        SELECT g.actor_id, g.day, g.owner_id, g.subj_owner, g.subject_id, g.all_acted,
               sc.actor_id IS NOT NULL AS any_scope, coalesce(sc.open_scope, FALSE) AS open_scope,
               coalesce(bool_or(q.subject_id IS NOT NULL), FALSE) AS listed
        FROM {prefix}_g0 g
        LEFT JOIN {prefix}_scope sc ON sc.actor_id = g.actor_id AND sc.day = g.day AND sc.owner_id = g.owner_id
        LEFT JOIN {prefix}_cov c ON c.actor_id = g.actor_id AND c.day = g.day AND c.owner_id = g.owner_id
        LEFT JOIN assignment_subjects q ON q.assignment_id = c.assignment_id AND q.owner_id = g.owner_id
                                       AND q.subject_id = g.subject_id
        GROUP BY ALL
        """
    )
    for table in ("g0", "cov", "scope"):
        cur.execute(f"DROP TABLE {prefix}_{table}")


def count_people(
    cur: duckdb.DuckDBPyConnection, prefix: str, cutoff: datetime, lo: datetime, id_lo: int, id_hi: int,
    max_subjects: int,
) -> None:
    """Temp table ``{prefix}_days``: per actor-day of [``lo``, ``cutoff``), the people looked up within a
    task scope (``n_looked``) and those of them unexplained (``n_off``: ``OFF`` for any of their groups).

    The same counts as grouping ``{prefix}_group`` by person, without building it: every flag of
    ``OFF`` is constant within an (actor, day, owner, person) group except ``all_acted``, and a
    group's "not all acted" is "some look-up of it was not acted upon", so the person's verdict is
    an OR over their look-up rows directly. Those rows meet three small sides by equi-joins (the
    scope per actor-day-owner with its covering assignments, each listed person's assignments, the
    day's actions) and one GROUP BY per person follows; ``listed`` is an overlap of two short lists
    instead of a join to every covering assignment and a GROUP BY to fold it back (two GROUP BYs
    over one row per look-up and person fewer, 2026-12-02).
    """
    _look_and_acts(cur, prefix, cutoff, lo, id_lo, id_hi, max_subjects)
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {prefix}_scope AS
        WITH keys AS (SELECT DISTINCT l.actor_id, l.team, l.day, l.owner_id FROM {prefix}_look l),
        cov AS ({_COVERING})
        SELECT c.actor_id, c.day, c.owner_id,
               bool_or(NOT EXISTS (SELECT 1 FROM assignment_subjects q WHERE q.assignment_id = c.assignment_id))
                   AS open_scope,
               list(DISTINCT c.assignment_id) AS covering
        FROM cov c GROUP BY ALL
        """
    )
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {prefix}_days AS
        WITH qs AS (SELECT owner_id, subject_id, list(assignment_id) AS lists FROM assignment_subjects GROUP BY ALL),
        p AS (
            SELECT l.actor_id, l.day, l.subj_owner, l.subject_id,
                   bool_or(NOT coalesce(list_has_any(sc.covering, qs.lists), FALSE)
                           AND (NOT sc.open_scope OR NOT (l.ticketed OR coalesce(t.last_ts >= l.ts, FALSE)))) AS off
            FROM {prefix}_look l
            JOIN {prefix}_scope sc ON sc.actor_id = l.actor_id AND sc.day = l.day AND sc.owner_id = l.owner_id
            LEFT JOIN qs ON qs.owner_id = l.owner_id AND qs.subject_id = l.subject_id
            LEFT JOIN {prefix}_acts t ON t.actor_id = l.actor_id AND t.subject_id = l.subject_id
                                     AND t.subj_owner = l.subj_owner AND t.day = l.day
            GROUP BY l.actor_id, l.day, l.subj_owner, l.subject_id
        )
        SELECT actor_id, day, count(*) FILTER (WHERE off) AS n_off, count(*) AS n_looked FROM p GROUP BY ALL
        """
    )
    for table in ("look", "acts", "scope"):
        cur.execute(f"DROP TABLE {prefix}_{table}")


def event_flags(prefix: str, where: str = "TRUE") -> str:
    """SQL of the look-up rows (narrowed by ``where`` on ``l``) with their group's flags and the
    event's own ``acted`` and ``off`` (unexplained)."""
    return f"""
        SELECT l.*, g.any_scope, g.open_scope, g.listed,
               l.ticketed OR coalesce(t.last_ts >= l.ts, FALSE) AS acted,
               g.any_scope AND NOT g.listed
                   AND (NOT g.open_scope OR NOT (l.ticketed OR coalesce(t.last_ts >= l.ts, FALSE))) AS off
        FROM {prefix}_look l
        JOIN {prefix}_group g ON g.actor_id = l.actor_id AND g.day = l.day AND g.owner_id = l.owner_id
                             AND g.subj_owner = l.subj_owner AND g.subject_id = l.subject_id
        LEFT JOIN {prefix}_acts t ON t.actor_id = l.actor_id AND t.subject_id = l.subject_id
                                 AND t.subj_owner = l.subj_owner AND t.day = l.day
        WHERE {where}
    """


def drop(cur: duckdb.DuckDBPyConnection, prefix: str) -> None:
    for table in ("look", "acts", "group"):
        cur.execute(f"DROP TABLE IF EXISTS {prefix}_{table}")
