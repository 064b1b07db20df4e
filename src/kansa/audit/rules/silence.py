"""Rule ``audit_silence``: a privileged database session that the audit log says did nothing.

pgaudit cannot reliably audit a superuser: ``SET pgaudit.log = 'none'`` switches it off for the
session, and once it has taken effect nothing of the session is logged (checked on a real server,
docs/formats.md). What remains are the server's own connection lines (``log_connections`` /
``log_disconnections``), which ingest turns into ``login``/``logout`` events with the session id
as resource. A session of a shared or privileged admin account that lasted a while, with no
audit event from that account and address between its login and logout, is a hole in the trail.

Alone such a hole is common and harmless (``\\d``, catalogue reads are not audited), so by default
it is reported only when the endpoint log shows evidence around it on the same terminal: files
going to removable media (high) during the session or within ``window_hours`` after it, or other
files written during the session (medium). Service accounts (connection pools) are left out.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from kansa.audit.config import RuleConfig
from kansa.audit.finding import Finding
from kansa.audit.rules.common import EPOCH, evidence, fetch
from kansa.audit.rules.state import midnight

SILENT_SESSIONS_SQL = """
    WITH s AS (
        SELECT l.event_id AS login_id, o.event_id AS logout_id, l.ts AS t0, o.ts AS t1, l.account,
               l.source_ip, l.resource AS session, coalesce(l.actor_id, o.actor_id, t.actor_id) AS actor_id,
               t.terminal_id AS host
        FROM access_events l
        JOIN access_events o ON o.resource = l.resource AND o.action = 'logout' AND o.ts >= l.ts AND o.ts < ?
                            AND o.ts >= ?
        LEFT JOIN terminals t ON t.address = l.source_ip
        WHERE l.action = 'login' AND l.resource LIKE 'session:%' AND l.ts < ?
          AND coalesce(l.outcome, 'success') <> 'failure'
    )
    SELECT s.* FROM s
    LEFT JOIN accounts acc ON acc.account = s.account AND acc.system = 'db'
    LEFT JOIN actors a ON a.actor_id = coalesce(acc.actor_id, s.actor_id)
    LEFT JOIN actors p ON p.actor_id = s.actor_id
    WHERE (coalesce(acc.shared, FALSE) OR coalesce(a.privileged, FALSE))
      AND coalesce(a.role, p.role, '') <> 'service'
      AND epoch(s.t1 - s.t0) >= ?
      AND NOT EXISTS (SELECT 1 FROM access_events e
                      WHERE e.account = s.account AND e.source_ip IS NOT DISTINCT FROM s.source_ip
                        AND e.ts BETWEEN s.t0 AND s.t1 AND e.action NOT IN ('login', 'logout'))
"""


def audit_silence(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: RuleConfig | None = None, since: date | None = None
) -> list[Finding]:
    """Privileged sessions with no audit line between login and logout, with endpoint evidence.

    A finding is dated by its last evidence, at most ``window`` after the logout, so findings from
    ``since`` need only the sessions that ended after ``since`` less that window.
    """
    cfg = cfg or RuleConfig("audit_silence")
    min_s = cfg.get("min_session_seconds", 30.0)
    window = timedelta(hours=cfg.get("window_hours", 24.0))
    alone = cfg.get("report_alone", False)
    ended_from = (midnight(since, cutoff) if since is not None else EPOCH) - window
    found = fetch(
        con,
        f"""
        WITH silent AS ({SILENT_SESSIONS_SQL}),
        ev AS (
            SELECT s.login_id, x.event_id, x.ts, coalesce(x.to_removable, FALSE) AS removable, x.path
            FROM silent s JOIN endpoint_events x ON x.host = s.host AND x.ts < ?
             AND ((coalesce(x.to_removable, FALSE) AND x.ts BETWEEN s.t0 AND s.t1 + ?)
                  OR (NOT coalesce(x.to_removable, FALSE) AND x.kind IN ('file_copy', 'file_open')
                      AND x.ts BETWEEN s.t0 AND s.t1 + INTERVAL 5 MINUTE))
        )
        SELECT s.login_id, s.logout_id, s.t0, s.t1, s.account, s.source_ip, s.session, s.actor_id, s.host,
               list(ev.event_id ORDER BY ev.ts) FILTER (WHERE ev.removable) AS usb_ids,
               min(ev.ts) FILTER (WHERE ev.removable) AS first_usb,
               list(ev.event_id ORDER BY ev.ts) FILTER (WHERE NOT ev.removable) AS file_ids,
               list(ev.path ORDER BY ev.ts) FILTER (WHERE ev.removable) AS usb_paths
        FROM silent s LEFT JOIN ev USING (login_id)
        GROUP BY ALL ORDER BY s.t0
        """,
        [cutoff, ended_from, cutoff, min_s, cutoff, window],
    )
    out = []
    for login, logout, t0, t1, account, ip, session, actor, host, usb_ids, first_usb, file_ids, paths in found:
        if not usb_ids and not file_ids and not alone:
            continue
        minutes = (t1 - t0).total_seconds() / 60
        # Knowable when the last piece of evidence is: the logout, or the removable write after it.
        day = max(t1, first_usb).date() if first_usb is not None else t1.date()
        if usb_ids:
            sev, score = "high", 9.0
            what_ja = f"その後 {len(usb_ids)} 件のファイルを外部記録媒体へ書き込み({', '.join(map(str, paths[:3]))})"
            what_en = f"then {len(usb_ids)} file(s) written to removable media ({', '.join(map(str, paths[:3]))})"
        elif file_ids:
            sev, score = "medium", 5.0
            what_ja = f"接続中に端末上で {len(file_ids)} 件のファイル書き込み"
            what_en = f"{len(file_ids)} file(s) written on the terminal during the session"
        else:
            sev, score = "low", 2.0
            what_ja, what_en = "端末側の証跡なし", "no endpoint evidence"
        who = actor or f"?{account}"
        out.append(
            Finding(
                rule="audit_silence",
                actor_id=actor,
                day=day,
                score=score,
                severity=sev,
                reason_ja=(
                    f"{t0:%Y-%m-%d %H:%M} から {minutes:.0f} 分間、管理者アカウント {account} が {ip}"
                    f"({host or '端末不明'})から DB に接続したが、監査ログに操作が一件もない。{what_ja}。"
                ),
                reason_en=(
                    f"Admin account {account} was connected from {ip} ({host or 'unknown terminal'}) for "
                    f"{minutes:.0f} min from {t0:%Y-%m-%d %H:%M} with not one audit line; {what_en}."
                ),
                detail={"account": account, "source_ip": ip, "host": host, "session": session,
                        "minutes": round(minutes, 1), "usb_writes": len(usb_ids or []),
                        "file_writes": len(file_ids or []), "who": who},
                access_events=evidence([login, logout]),
                endpoint_events=evidence([*(usb_ids or []), *(file_ids or [])]),
                key=str(session),
            )
        )
    return out
