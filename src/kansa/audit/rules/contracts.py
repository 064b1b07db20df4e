"""Rules from the contract and HR registry: who may touch an owner's data at all, and until when.

``unregistered_subcontractor`` (re-entrustment without approval, seed case: data entry passed to
firms, one abroad, that no contract allowed). For an owner X on day D the organisations allowed
are X itself, the entrustee of every contract X entrusted (covering X, valid on D) and the
subcontractors that contract allows. A side contract between the entrustee and its own
subcontractor does not count: only the owner's consent makes a subcontractor legitimate (APPI
Art. 25, supervision of entrustees). An actor acts for its employer, or for the organisation it is
placed at by an agency; if neither is allowed, the rule fires on the first day the actor touches
X's data. Owners with no contract in the registry are not judged (the registry cannot speak).

``after_end``: access after the actor's employment ended (``actors.valid_to``), or by an
organisation whose every contract for that owner had ended. Fires on the first such day per actor,
owner and reason; the detail counts the days and events up to the audited day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding
from kansa.audit.localday import local_clock
from kansa.audit.rules.common import ANY_DATA_SQL, EPOCH, evidence, fetch
from kansa.audit.rules.state import last_day, midnight, refresh

# Organisations allowed for (owner, day): the owner, entrustees of the owner's own contracts
# valid that day, and the subcontractors those contracts allow. {valid} narrows the contracts.
_ALLOWED = """
    WITH c AS (
        SELECT * FROM contracts
        WHERE entrustor_id = {owner}
          AND (owners IS NULL OR len(owners) = 0 OR list_contains(owners, {owner}))
          {valid}
    )
    SELECT {owner}
    UNION ALL SELECT entrustee_id FROM c
    UNION ALL SELECT unnest(coalesce(allowed_subcontractors, [])) FROM c
"""
_VALID_ON = ("AND {day} BETWEEN coalesce(valid_from, DATE '0001-01-01') AND coalesce(valid_to, DATE '9999-12-31')")


def _acting_orgs(alias: str = "a") -> str:
    return f"[o FOR o IN [{alias}.org_id, {alias}.placed_at] IF o IS NOT NULL]"


# Which actor touched which owner's data on which day: the one thing both rules need from the
# events. Kept in the workspace and refreshed only for new days (``state``), so that "the first
# day" is found in a table of actor-owner-days, not in the whole event log.
TOUCH_TABLE = "audit_contract_touch_v1"
_TOUCH_DDL = (f"CREATE TABLE IF NOT EXISTS {TOUCH_TABLE} (actor_id VARCHAR NOT NULL, owner_id VARCHAR NOT NULL, "
              "day DATE NOT NULL)")
_TOUCH_INSERT = f"""
    INSERT INTO {TOUCH_TABLE}
    SELECT DISTINCT e.actor_id, e.owner_id, {{day}}
    FROM access_events e SEMI JOIN actors a ON a.actor_id = e.actor_id
    WHERE e.ts < ? AND e.ts >= {{lo}} AND e.owner_id IS NOT NULL AND e.action IN ({ANY_DATA_SQL})
      AND coalesce(e.outcome, 'success') <> 'failure'
"""


def _touches(con: duckdb.DuckDBPyConnection, cutoff: datetime, since: date | None) -> None:
    day = local_clock(con, cutoff).day("e.ts")
    refresh(con, TOUCH_TABLE, _TOUCH_DDL, since, cutoff, [(_TOUCH_INSERT.replace("{day}", day), [cutoff])])


def _events_sql(cond: str, day: str, contracts_only: bool = True) -> str:
    """First flagged day per actor and owner (on or after the first judged day), with that day's events."""
    judged = ("AND (a.org_id IS NOT NULL OR a.placed_at IS NOT NULL) "
              "AND EXISTS (SELECT 1 FROM contracts k WHERE k.entrustor_id = t.owner_id)") if contracts_only else ""
    return f"""
        WITH days AS (
            SELECT t.actor_id, t.owner_id, t.day, {_acting_orgs()} AS orgs, a.org_id, a.placed_at
            FROM {TOUCH_TABLE} t JOIN actors a USING (actor_id)
            WHERE t.day < CAST(? AS DATE) {judged}
        ),
        flagged AS (SELECT * FROM days d WHERE {cond}),
        first AS (SELECT actor_id, owner_id, min(day) AS day FROM flagged GROUP BY ALL HAVING min(day) >= ?)
        SELECT f.actor_id, f.owner_id, f.day, any_value(d.org_id), any_value(d.placed_at), any_value(d.orgs),
               count(ev.event_id) AS n_events,
               list(ev.event_id ORDER BY ev.event_id) AS ids,
               (SELECT list(DISTINCT o.country) FROM organisations o
                 WHERE list_contains(any_value(d.orgs), o.org_id)) AS countries
        FROM first f
        JOIN days d ON d.actor_id = f.actor_id AND d.owner_id = f.owner_id AND d.day = f.day
        JOIN access_events ev ON ev.actor_id = f.actor_id AND ev.owner_id = f.owner_id
             AND {day} = f.day AND ev.ts >= ? AND ev.ts < ?
             AND ev.action IN ({ANY_DATA_SQL}) AND coalesce(ev.outcome, 'success') <> 'failure'
        GROUP BY f.actor_id, f.owner_id, f.day ORDER BY f.day, f.actor_id, f.owner_id
    """


def _params(cutoff: datetime, since: date | None) -> list[Any]:
    first = since if since is not None else date.min
    return [last_day(cutoff) + timedelta(days=1), first,
            midnight(since, cutoff) if since is not None else EPOCH, cutoff]


def _allowed(day: str, valid: bool) -> str:
    return _ALLOWED.format(owner="d.owner_id", valid=_VALID_ON.format(day=day) if valid else "")


def unregistered_subcontractor(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None, since: date | None = None
) -> list[Finding]:
    """The first access by staff of an organisation no contract of the owner allows (first days from ``since``)."""
    _touches(con, cutoff, since)
    # Not allowed that day, and not by a contract that merely ended (that is after_end's case).
    cond = (f"NOT EXISTS (SELECT 1 FROM ({_allowed('d.day', True)}) x(org) WHERE list_contains(d.orgs, x.org)) "
            f"AND NOT EXISTS (SELECT 1 FROM ({_ALLOWED.format(owner='d.owner_id', valid='AND valid_to < d.day')}) "
            "y(org) WHERE list_contains(d.orgs, y.org))")
    out = []
    for actor, owner, day, org, placed, _orgs, n_events, evs, countries in fetch(
        con, _events_sql(cond, local_clock(con, cutoff).day("ev.ts")), _params(cutoff, since)
    ):
        abroad = sorted(str(c) for c in countries or [] if c and str(c).upper() != "JP")
        who = org if not placed else f"{org} → {placed}"
        where_ja = f"(国外: {', '.join(abroad)}、APPI 第28条の越境移転にも該当しうる)" if abroad else ""
        where_en = f" (abroad: {', '.join(abroad)}; also a cross-border transfer, APPI Art. 28)" if abroad else ""
        out.append(
            Finding(
                rule="unregistered_subcontractor",
                actor_id=actor,
                day=day,
                score=9.0 if abroad else 7.0,
                severity="high",
                reason_ja=(
                    f"{day} に {who} 所属の担当者が {owner} のデータに初めてアクセス。{owner} の委託契約はこの組織を"
                    f"委託先にも再委託先にも認めていない{where_ja}。"
                ),
                reason_en=(
                    f"First access to {owner}'s data on {day} by staff of {who}, an organisation that none of "
                    f"{owner}'s contracts names as entrustee or allowed subcontractor{where_en}."
                ),
                detail={"owner": owner, "org": org, "placed_at": placed, "countries": sorted(
                    str(c) for c in countries or [] if c), "abroad": bool(abroad), "events": int(n_events)},
                access_events=evidence(evs),
                key=str(owner),
            )
        )
    return out


def after_end(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None, since: date | None = None
) -> list[Finding]:
    """Access after the actor's employment, or every contract allowing its organisation, ended.

    Dated on the first such day; its figures are that day's (a later day must not change them).
    """
    cfg = cfg or RuleConfig("after_end")
    _touches(con, cutoff, since)
    grace = cfg.get("grace_days", 0)
    out: list[Finding] = []
    employment = f"d.day > (SELECT a.valid_to FROM actors a WHERE a.actor_id = d.actor_id) + {int(grace)}"
    contract = (
        f"NOT EXISTS (SELECT 1 FROM ({_allowed('d.day', True)}) x(org) WHERE list_contains(d.orgs, x.org)) "
        f"AND EXISTS (SELECT 1 FROM ({_ALLOWED.format(owner='d.owner_id', valid=f'AND valid_to + {int(grace)} < d.day')}) "
        "y(org) WHERE list_contains(d.orgs, y.org))"
    )
    for kind, cond in (("employment", employment), ("contract", contract)):
        sql = _events_sql(cond, local_clock(con, cutoff).day("ev.ts"), contracts_only=kind == "contract")
        for actor, owner, day, org, placed, orgs, n_events, evs, _countries in fetch(con, sql, _params(cutoff, since)):
            if kind == "employment":
                end = con.execute("SELECT valid_to FROM actors WHERE actor_id = ?", [actor]).fetchone()
                ended = end[0] if end else None
                ja = f"雇用終了日 {ended} の後の {day} に {owner} のデータへアクセス(この日 {n_events} 件)。"
                en = f"Accessed {owner}'s data on {day}, after employment ended on {ended} ({n_events} event(s) that day)."
            else:
                end = con.execute(
                    "SELECT max(valid_to) FROM contracts WHERE entrustor_id = ? AND valid_to < ? "
                    "AND (owners IS NULL OR len(owners) = 0 OR list_contains(owners, ?)) "
                    "AND (list_contains(?, entrustee_id) OR list_has_any(?, coalesce(allowed_subcontractors, [])))",
                    [owner, day, owner, list(orgs), list(orgs)],
                ).fetchone()
                ended = end[0] if end else None
                who = org if not placed else f"{org} → {placed}"
                ja = (f"{who} に {owner} のデータ処理を認める契約は {ended} に終了したが、{day} にアクセス"
                      f"(この日 {n_events} 件)。")
                en = (f"Accessed {owner}'s data on {day}, but every contract allowing {who} to process it ended "
                      f"(last on {ended}); {n_events} event(s) that day.")
            out.append(
                Finding(
                    rule="after_end",
                    actor_id=actor,
                    day=day,
                    score=8.0,
                    severity="high",
                    reason_ja=ja,
                    reason_en=en,
                    detail={"owner": owner, "ended": kind, "end_date": ended, "org": org, "placed_at": placed,
                            "events": int(n_events), "grace_days": grace},
                    access_events=evidence(evs),
                    key=f"{kind}:{owner}",
                )
            )
    return out
