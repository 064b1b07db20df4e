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
    ),
    Migration(
        2,
        "incremental state, suppressions",
        [
            # per detector: the last local day whose findings are computed (a daily run starts after it)
            """
            CREATE TABLE audit_state (
                rule        VARCHAR PRIMARY KEY,
                last_day    DATE NOT NULL,
                updated_at  TIMESTAMPTZ NOT NULL
            )
            """,
            # an analyst's dismissal with a reason: findings of this actor (and rule, and key) about
            # days up to ``expires`` are kept but hidden, so a known benign pattern stops alerting
            """
            CREATE TABLE suppressions (
                suppression_id VARCHAR PRIMARY KEY,
                actor_id    VARCHAR NOT NULL,
                rule        VARCHAR,               -- NULL: every rule
                key         VARCHAR,               -- NULL: any key (e.g. any owner)
                created_at  TIMESTAMPTZ NOT NULL,
                expires     DATE NOT NULL,
                note        VARCHAR NOT NULL,
                by_user     VARCHAR,
                ledger_leaf BIGINT                 -- the journal entry that records the dismissal
            )
            """,
            # behaviour features per actor and period (grain day or week), kept so a daily run
            # computes only the new day's and scores it against the stored history
            """
            CREATE TABLE behaviour_features (
                grain       VARCHAR NOT NULL,      -- day | week (a week is labelled by its Monday)
                actor_id    VARCHAR NOT NULL,
                period      DATE NOT NULL,
                events      BIGINT NOT NULL,
                subjects    BIGINT NOT NULL,
                owners      BIGINT NOT NULL,
                rows_read   BIGINT NOT NULL,
                rows_exported BIGINT NOT NULL,
                unjustified_share DOUBLE NOT NULL,
                off_hours_share DOUBLE NOT NULL,
                new_resources BIGINT NOT NULL
            )
            """,
            "ALTER TABLE findings ADD COLUMN key VARCHAR DEFAULT ''",
            "ALTER TABLE findings ADD COLUMN suppressed_by VARCHAR",
        ],
    ),
]


def ensure_tables(ws: Workspace) -> None:
    ws.ensure_component("audit", AUDIT_MIGRATIONS)


def finding_id(rule: str, actor: str | None, day: str, key: str = "") -> str:
    raw = "\x1f".join((rule, actor or "", day, key)).encode("utf-8")
    return "F-" + hashlib.sha256(raw).hexdigest()[:12]
