"""The audit component's own tables: findings, the events behind them, and triage notes.

Findings are derived data: a run replaces the findings it is responsible for (days up to its
``until``) and leaves triage alone, so an analyst's verdict survives a re-run as long as the
finding (same rule, actor, day and key) comes back with the same id.
"""

from __future__ import annotations

import hashlib

from kansa.model.migrations import Migration
from kansa.model.workspace import Workspace

AUDIT_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "findings, evidence, triage",
        [
            """
            CREATE TABLE findings (
                finding_id  VARCHAR PRIMARY KEY,   -- stable: hash of rule, actor, day, key
                rule        VARCHAR NOT NULL,
                actor_id    VARCHAR,
                day         DATE NOT NULL,          -- local day the finding is about
                score       DOUBLE NOT NULL,
                severity    VARCHAR NOT NULL,       -- high | medium | low
                reason_ja   VARCHAR NOT NULL,
                reason_en   VARCHAR NOT NULL,
                detail      JSON,                   -- the numbers the rule compared
                created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE finding_evidence (
                finding_id  VARCHAR NOT NULL,
                event_id    BIGINT NOT NULL,
                kind        VARCHAR NOT NULL        -- access | endpoint
            )
            """,
            """
            CREATE TABLE triage (
                finding_id  VARCHAR NOT NULL,
                ts          TIMESTAMPTZ NOT NULL,
                verdict     VARCHAR NOT NULL,       -- open | benign | confirmed | escalated
                note        VARCHAR,
                by_user     VARCHAR
            )
            """,
        ],
    )
]


def ensure_tables(ws: Workspace) -> None:
    ws.ensure_component("audit", AUDIT_MIGRATIONS)


def finding_id(rule: str, actor: str | None, day: str, key: str = "") -> str:
    raw = "\x1f".join((rule, actor or "", day, key)).encode("utf-8")
    return "F-" + hashlib.sha256(raw).hexdigest()[:12]
