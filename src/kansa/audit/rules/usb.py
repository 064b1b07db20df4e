"""Rules on removable media: the USB path by which the seed case's lists left the building.

``usb_after_download``: a write to removable media shortly after the same person's export of
personal data (aggregate-only queries such as ``SELECT count(*)`` are not exports: no person's
data leaves with them).

``usb_unexplained``: a file written to removable media that was first written on the same terminal
while a database or application session from that terminal was open, and no export was logged in
that session. The file came out of the data system, yet the data system's log does not say so:
what pgaudit shows for a superuser who switched it off. The file is followed by its name (the
copy keeps it), not by its content, which endpoint logs do not give.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import duckdb

from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding
from kansa.audit.rules.common import EPOCH, EXPORT_SQL, evidence, fetch, statements_where
from kansa.audit.rules.sqlshape import aggregate_only
from kansa.audit.rules.state import midnight

USB_WINDOW = timedelta(hours=24)

# A removable write with the actor it belongs to: the endpoint event's own actor, else the
# endpoint account's owner, else the terminal's assigned user.
USB_SQL = """
    SELECT x.event_id, x.ts, x.host, x.path,
           coalesce(x.actor_id, acc.actor_id, t.actor_id) AS actor_id, t.address,
           lower(regexp_extract(x.path, '[^\\\\/]+$')) AS base
    FROM endpoint_events x
    LEFT JOIN accounts acc ON acc.system = 'endpoint' AND acc.account = x.account
    LEFT JOIN terminals t ON t.terminal_id = x.host
    WHERE x.ts < ? AND x.ts >= ? AND coalesce(x.to_removable, FALSE)
"""


def usb_after_download(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None, since: date | None = None
) -> list[Finding]:
    """A write to removable media by an actor who exported personal data shortly before.

    Only writes from ``since`` are judged, so only exports from ``window`` before it are read.
    """
    cfg = cfg or RuleConfig("usb_after_download")
    window = timedelta(hours=cfg.get("window_hours", USB_WINDOW.total_seconds() / 3600))
    lo = midnight(since, cutoff) if since is not None else EPOCH
    with statements_where(con, cutoff, "_kansa_aggregates", aggregate_only, since=lo - window) as cur:
        found = fetch(
            cur,
            f"""
            WITH usb AS ({USB_SQL}),
            pairs AS (
                SELECT u.actor_id, CAST(u.ts AS DATE) AS day, u.event_id AS usb_id, e.event_id AS exp_id,
                       e.owner_id, coalesce(e.row_count, 1) AS n_rows
                FROM usb u JOIN access_events e
                  ON e.actor_id = u.actor_id AND e.action IN ({EXPORT_SQL})
                 AND e.ts <= u.ts AND e.ts >= u.ts - ?
                 AND (e.statement IS NULL OR e.statement NOT IN (SELECT statement FROM _kansa_aggregates))
                WHERE u.actor_id IS NOT NULL AND e.ts >= ? AND e.ts < ?
            ),
            exp_rows AS (
                SELECT actor_id, day, sum(n_rows) AS n_rows
                FROM (SELECT DISTINCT actor_id, day, exp_id, n_rows FROM pairs) GROUP BY ALL
            )
            SELECT p.actor_id, p.day,
                   list(DISTINCT usb_id) AS usb_ids, list(DISTINCT exp_id) AS exp_ids,
                   count(DISTINCT usb_id) AS n_usb, count(DISTINCT exp_id) AS n_exp,
                   list(DISTINCT owner_id) FILTER (WHERE owner_id IS NOT NULL) AS owners,
                   any_value(r.n_rows) AS n_rows
            FROM pairs p JOIN exp_rows r USING (actor_id, day)
            GROUP BY ALL ORDER BY p.day, p.actor_id
            """,
            [cutoff, lo, window, lo - window, cutoff],
        )
    out = []
    for actor, day, usb_ids, exp_ids, n_usb, n_exp, owners, exp_rows in found:
        n_rows = int(exp_rows or 0)
        owners_s = ", ".join(sorted(str(o) for o in owners or [])) or "-"
        hours = window.total_seconds() / 3600
        score = 5.0 + math.log10(1 + n_rows)
        out.append(
            Finding(
                rule="usb_after_download",
                actor_id=actor,
                day=day,
                score=round(score, 2),
                severity="high",
                reason_ja=(
                    f"{day} に外部記録媒体へ {n_usb} 回書き込み。その前 {hours:.0f} 時間以内に本人が "
                    f"{n_exp} 回のデータ出力({n_rows} 件、{owners_s})を行っている。"
                ),
                reason_en=(
                    f"Wrote to removable media {n_usb} time(s) on {day}, within {hours:.0f} h after "
                    f"the same person's {n_exp} export(s) ({n_rows} rows; {owners_s})."
                ),
                detail={"usb_writes": int(n_usb), "exports": int(n_exp), "rows": n_rows,
                        "owners": sorted(str(o) for o in owners or []), "window_hours": hours},
                access_events=evidence(exp_ids),
                endpoint_events=evidence(usb_ids),
            )
        )
    return out


def usb_unexplained(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None, since: date | None = None
) -> list[Finding]:
    """A removable write of a file born on the terminal during a data session that logged no export.

    Only writes from ``since`` are judged: the files they copy were born at most ``window`` before,
    so only sessions ending after that are read (a file's first sighting is still over all history).
    """
    cfg = cfg or RuleConfig("usb_unexplained")
    window = timedelta(hours=cfg.get("window_hours", USB_WINDOW.total_seconds() / 3600))
    lo = midnight(since, cutoff) if since is not None else EPOCH
    sessions_from = lo - window - timedelta(minutes=5)
    with statements_where(con, cutoff, "_kansa_aggregates", aggregate_only, since=sessions_from) as cur:
        found = fetch(
            cur,
            f"""
            WITH usb AS ({USB_SQL}),
            sessions AS (   -- data sessions: a login with its logout, or else the span of a day's events
                SELECT l.event_id AS login_id, l.ts AS t0, o.ts AS t1, l.source_ip, l.account,
                       coalesce(l.actor_id, o.actor_id) AS actor_id, o.event_id AS logout_id
                FROM access_events l JOIN access_events o
                  ON o.resource = l.resource AND o.action = 'logout' AND o.ts >= l.ts AND o.ts < ? AND o.ts >= ?
                WHERE l.action = 'login' AND l.resource LIKE 'session:%' AND l.ts < ?
                  AND coalesce(l.outcome, 'success') <> 'failure'
            ),
            local AS (      -- files written on a terminal, not to removable media (first sighting of a name)
                SELECT x.host, lower(regexp_extract(x.path, '[^\\\\/]+$')) AS base, min(x.ts) AS ts,
                       arg_min(x.event_id, x.ts) AS event_id
                FROM endpoint_events x
                SEMI JOIN (SELECT DISTINCT host, base FROM usb) k
                  ON k.host = x.host AND k.base = lower(regexp_extract(x.path, '[^\\\\/]+$'))
                WHERE x.ts < ? AND NOT coalesce(x.to_removable, FALSE) AND x.path IS NOT NULL
                  AND x.kind IN ('file_copy', 'file_open')
                GROUP BY ALL
            ),
            born AS (
                SELECT u.event_id AS usb_id, u.ts AS usb_ts, u.actor_id, u.host, u.path, f.event_id AS file_id,
                       s.login_id, s.logout_id, s.t0, s.t1, s.source_ip, s.account
                FROM usb u
                JOIN local f ON f.host = u.host AND f.base = u.base AND f.ts <= u.ts AND f.ts >= u.ts - ?
                JOIN sessions s ON s.source_ip = u.address AND f.ts BETWEEN s.t0 AND s.t1 + INTERVAL 5 MINUTE
                WHERE NOT EXISTS (
                    SELECT 1 FROM access_events e
                    WHERE e.source_ip = s.source_ip AND e.ts BETWEEN s.t0 AND s.t1 AND e.action IN ({EXPORT_SQL})
                      AND (e.statement IS NULL OR e.statement NOT IN (SELECT statement FROM _kansa_aggregates))
                )
            )
            SELECT actor_id, CAST(usb_ts AS DATE) AS day, list(DISTINCT usb_id) AS usb_ids,
                   list(DISTINCT file_id) AS file_ids, list(DISTINCT login_id) AS logins,
                   list(DISTINCT logout_id) AS logouts, list(DISTINCT path) AS paths,
                   list(DISTINCT account) AS accounts, list(DISTINCT host) AS hosts
            FROM born GROUP BY ALL ORDER BY day, actor_id
            """,
            [cutoff, lo, cutoff, sessions_from, cutoff, cutoff, window],
        )
    out = []
    for actor, day, usb_ids, file_ids, logins, logouts, paths, accounts, hosts in found:
        names = ", ".join(sorted(str(p) for p in paths)[:5])
        accts = ", ".join(sorted(str(a) for a in accounts if a))
        out.append(
            Finding(
                rule="usb_unexplained",
                actor_id=actor,
                day=day,
                score=8.0,
                severity="high",
                reason_ja=(
                    f"{day} に外部記録媒体へ {len(usb_ids)} 件のファイル({names})を書き込み。これらのファイルは端末 "
                    f"{', '.join(map(str, hosts))} 上で DB 接続({accts})中に作られたが、その接続ではデータ出力が"
                    "一件も記録されていない。"
                ),
                reason_en=(
                    f"Wrote {len(usb_ids)} file(s) to removable media on {day} ({names}); they were created on "
                    f"{', '.join(map(str, hosts))} while a database session ({accts}) from that terminal was open, "
                    "and that session logged no export."
                ),
                detail={"files": sorted(str(p) for p in paths), "accounts": sorted(str(a) for a in accounts if a),
                        "hosts": sorted(str(h) for h in hosts), "sessions": len(logins),
                        "window_hours": window.total_seconds() / 3600},
                access_events=evidence([*logins, *logouts]),
                endpoint_events=evidence([*usb_ids, *file_ids]),
            )
        )
    return out
