"""Rules on removable media: the USB path by which the seed case's lists left the building.

``usb_after_download``: a write to removable media shortly after the same person's export.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import duckdb

from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding
from kansa.audit.rules.common import EXPORT_SQL, evidence, fetch

USB_WINDOW = timedelta(hours=24)


def usb_after_download(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None
) -> list[Finding]:
    """A write to removable media by an actor who exported personal data shortly before."""
    cfg = cfg or RuleConfig("usb_after_download")
    window = timedelta(hours=cfg.get("window_hours", USB_WINDOW.total_seconds() / 3600))
    rows = fetch(
        con,
        f"""
        WITH usb AS (
            SELECT x.event_id, x.ts,
                   coalesce(x.actor_id, acc.actor_id, t.actor_id) AS actor_id, x.path, x.bytes
            FROM endpoint_events x
            LEFT JOIN accounts acc ON acc.system = 'endpoint' AND acc.account = x.account
            LEFT JOIN terminals t ON t.terminal_id = x.host
            WHERE x.ts < ? AND coalesce(x.to_removable, FALSE)
        )
        SELECT u.actor_id, CAST(u.ts AS DATE) AS day,
               list(DISTINCT u.event_id) AS usb_ids, list(DISTINCT e.event_id) AS exp_ids,
               count(DISTINCT u.event_id) AS n_usb, count(DISTINCT e.event_id) AS n_exp,
               list(DISTINCT e.owner_id) FILTER (WHERE e.owner_id IS NOT NULL) AS owners
        FROM usb u JOIN access_events e
          ON e.actor_id = u.actor_id AND e.action IN ({EXPORT_SQL})
         AND e.ts <= u.ts AND e.ts >= u.ts - ?
        WHERE u.actor_id IS NOT NULL
        GROUP BY ALL ORDER BY day, u.actor_id
        """,
        [cutoff, window],
    )
    out = []
    for actor, day, usb_ids, exp_ids, n_usb, n_exp, owners in rows:
        exp_rows = con.execute(
            "SELECT coalesce(sum(coalesce(row_count, 1)), 0) FROM access_events WHERE list_contains(?, event_id)",
            [list(exp_ids)],
        ).fetchone()
        n_rows = int(exp_rows[0]) if exp_rows else 0
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

