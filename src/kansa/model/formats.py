"""Facts about outside file formats that both a reader and the simulator's writer must agree on.

Kept in the model so that the ingest reader and the world simulator share one definition
instead of two copies that could drift apart.
"""

from __future__ import annotations

# PostgreSQL 15 csvlog columns, in order (26; the server documentation's "Using CSV-Format Log Output").
CSVLOG_COLUMNS: tuple[str, ...] = (
    "log_time", "user_name", "database_name", "process_id", "connection_from", "session_id",
    "session_line_num", "command_tag", "session_start_time", "virtual_transaction_id",
    "transaction_id", "error_severity", "sql_state_code", "message", "detail", "hint",
    "internal_query", "internal_query_pos", "context", "query", "query_pos", "location",
    "application_name", "backend_type", "leader_pid", "query_id",
)  # fmt: skip
