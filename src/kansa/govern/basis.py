"""What every govern view stands on: the day it judges, the events that count as touching data,
and the organisations a person acts for.

Kept apart so that chains, access and the data map judge the same events the same way: a view
that counted logins as reads, or forgot agency temps, would disagree with its neighbours.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final

from kansa.model.workspace import Workspace

# Actions that read or change the owner's records. Logins, DDL and "other" say nothing about whose
# data was seen, so they neither prove use of an entitlement nor count as reading without one.
DATA_ACTIONS: Final = ("view", "search", "export", "update", "insert", "delete", "print")
DATA_ACTIONS_SQL: Final = ", ".join(f"'{a}'" for a in DATA_ACTIONS)
EXPORT_ACTIONS_SQL: Final = "'export', 'print'"

# An agency temp acts for the organisation they are placed at, and is still employed by the
# agency: either may be the one a contract names, so both are kept.
ACTING_ORGS_SQL: Final = "list_distinct([o FOR o IN [a.org_id, a.placed_at] IF o IS NOT NULL])"
# The one organisation shown for a person: where they work, not who pays them.
SHOWN_ORG_SQL: Final = "coalesce(a.placed_at, a.org_id)"

FAR_PAST: Final = date(1, 1, 1)
FAR_FUTURE: Final = date(9999, 12, 31)


def judged_day(ws: Workspace, on: date | None) -> date:
    """The day a view judges: the one asked for, else the last local day the logs reach.

    The logs, not the wall clock: a workspace of last year's logs judged "today" would show every
    expired contract and no access at all.
    """
    if on is not None:
        return on
    row = ws.con.execute("SELECT CAST(max(ts) AS DATE) FROM access_events").fetchone()
    if row is not None and row[0] is not None:
        return row[0]  # type: ignore[no-any-return]
    return datetime.now(ws.timezone).date()


def end_of(ws: Workspace, day: date) -> datetime:
    """The first instant after ``day`` in the workspace's time zone (events before it are judged)."""
    nxt = day + timedelta(days=1)
    return datetime(nxt.year, nxt.month, nxt.day, tzinfo=ws.timezone)


def start_of(ws: Workspace, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ws.timezone)


# Who touched whose data on which local day, with how many events: the one aggregate over the
# event log every view needs. Parameters: window start, window end (instants).
TOUCHES_SQL: Final = f"""
    SELECT e.actor_id, e.owner_id, CAST(e.ts AS DATE) AS day, count(*) AS events,
           min(e.ts) AS first_ts, max(e.ts) AS last_ts
    FROM access_events e
    WHERE e.owner_id IS NOT NULL AND e.action IN ({DATA_ACTIONS_SQL})
      AND coalesce(e.outcome, 'success') <> 'failure' AND e.ts >= ? AND e.ts < ?
    GROUP BY ALL
"""
