"""Rule ``audit_off``: someone changed the database's own audit settings.

Switching the audit trail off has no innocent reason that should go unreviewed.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding
from kansa.audit.rules.common import EPOCH, evidence, fetch
from kansa.audit.rules.state import midnight


def audit_off(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None, since: date | None = None
) -> list[Finding]:
    """Changes to the database's own audit settings (``SET pgaudit.log`` and the like), from ``since``."""
    rows = fetch(
        con,
        """
        SELECT coalesce(actor_id, '?' || coalesce(account, '')) AS who, actor_id, CAST(ts AS DATE) AS day,
               list(event_id ORDER BY event_id) AS ids,
               list(coalesce(statement, resource) ORDER BY event_id) AS what
        FROM access_events
        WHERE ts < ? AND ts >= ? AND action = 'admin'
          AND (lower(coalesce(resource, '')) LIKE 'pgaudit%'
               OR lower(coalesce(statement, '')) LIKE '%pgaudit.%')
        GROUP BY ALL ORDER BY day, who
        """,
        [cutoff, midnight(since, cutoff) if since is not None else EPOCH],
    )
    out = []
    for who, actor, day, ids, what in rows:
        texts = [str(w) for w in what if w]
        off = any(("none" in t.lower()) or ("''" in t) or ("reset" in t.lower()) for t in texts)
        sample = texts[0][:120] if texts else "pgaudit"
        out.append(
            Finding(
                rule="audit_off",
                actor_id=actor,
                day=day,
                score=10.0 if off else 5.0,
                severity="high" if off else "medium",
                reason_ja=f"{day} に監査ログ設定(pgaudit)を変更: {sample}" + ("(記録停止)" if off else ""),
                reason_en=f"Changed the database audit settings (pgaudit) on {day}: {sample}"
                + (" (logging switched off)" if off else ""),
                detail={"statements": texts[:10], "switched_off": off, "account": who},
                access_events=evidence(ids),
                key=str(who),
            )
        )
    return out

