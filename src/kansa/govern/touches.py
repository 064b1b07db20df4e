"""Every actor-owner-day of the event log, judged against the chains: by whom, under which link.

One table answers both "which link carried this access" (chains) and "was this person entitled
that day" (access). A day of access is judged by the best reason there is for it, in this order:
the owner's own staff; a link in force whose whole path is approved; a link in force with an
unapproved step; a link whose path had ended (the contract expired and access went on); a link
not yet in force; nothing at all. Judging per day, not per event, keeps the table as small as
people × owners × days however many events there are.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from kansa.govern.basis import ACTING_ORGS_SQL, SHOWN_ORG_SQL, TOUCHES_SQL, end_of, start_of
from kansa.govern.links import LINKS_VIEW
from kansa.model.workspace import Workspace

TOUCH_TABLE: Final = "_govern_touch"
# Rank of each reason: the lowest rank a day reaches is its verdict.
CLASSES: Final = ("owner", "entitled", "unapproved", "after_end", "before_start", "no_contract", "unknown_actor")

_SQL = f"""
CREATE OR REPLACE TEMP TABLE {TOUCH_TABLE} AS
WITH t AS ({TOUCHES_SQL}),
ta AS (
    SELECT t.*, a.actor_id IS NOT NULL AS known, coalesce({ACTING_ORGS_SQL}, []) AS orgs,
           {SHOWN_ORG_SQL} AS org, a.valid_from AS employed_from, a.valid_to AS employed_to,
           a.team, a.role
    FROM t LEFT JOIN actors a ON a.actor_id = t.actor_id
),
m AS (
    SELECT ta.actor_id, ta.owner_id, ta.day,
           arg_min(l.link_id, r.rank) AS link_id, min(r.rank) AS rank
    FROM ta JOIN {LINKS_VIEW} l ON l.owner_id = ta.owner_id AND list_contains(ta.orgs, l.entrustee_id),
    LATERAL (SELECT CASE
        WHEN ta.day BETWEEN l.path_from AND l.path_to AND l.path_approved THEN 1
        WHEN ta.day BETWEEN l.path_from AND l.path_to THEN 2
        WHEN ta.day > l.path_to THEN 3
        ELSE 4 END AS rank) r
    GROUP BY ALL
)
SELECT ta.*, m.link_id,
       CASE WHEN NOT ta.known THEN 'unknown_actor'
            WHEN list_contains(ta.orgs, ta.owner_id) THEN 'owner'
            ELSE coalesce(['entitled', 'unapproved', 'after_end', 'before_start'][m.rank], 'no_contract')
       END AS class
FROM ta LEFT JOIN m ON m.actor_id IS NOT DISTINCT FROM ta.actor_id AND m.owner_id = ta.owner_id AND m.day = ta.day
"""


def judge_touches(ws: Workspace, since: date | None, until: date) -> None:
    """Fill ``_govern_touch`` for local days ``since``..``until`` (all history when ``since`` is None).

    Needs ``_govern_links`` registered. Only days up to ``until`` are read: a judgement of a day
    never depends on what the logs say later.
    """
    lo = start_of(ws, since) if since is not None else start_of(ws, date(1900, 1, 1))
    ws.con.execute(_SQL, [lo, end_of(ws, until)])
