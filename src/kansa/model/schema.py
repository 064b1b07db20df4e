"""The shared access model as DuckDB tables.

One schema answers "who touched whose personal data, when and why". Every capability reads these
tables; only ingest writes events. Capabilities keep their own tables in their own components
(see ``model.migrations``), never by editing these.

Event ids are one sequence across access and endpoint events and equal the event's position in
the ledger (leaf index, from 0), so that an inclusion proof names an event by its id.
"""

from __future__ import annotations

from kansa.model.migrations import Migration

# The event tables' columns as migration 3 leaves them: no key, the NOT NULLs of migration 1.
ACCESS_EVENTS_COLUMNS = """
    event_id BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL, actor_id VARCHAR, account VARCHAR,
    action VARCHAR NOT NULL, resource VARCHAR, columns VARCHAR[], owner_id VARCHAR, purpose VARCHAR,
    ticket VARCHAR, terminal VARCHAR, source_ip VARCHAR, outcome VARCHAR, row_count BIGINT, bytes BIGINT,
    statement VARCHAR, source_system VARCHAR NOT NULL, batch_id BIGINT NOT NULL, source_file VARCHAR,
    source_line BIGINT
"""
ENDPOINT_EVENTS_COLUMNS = """
    event_id BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL, actor_id VARCHAR, account VARCHAR, host VARCHAR,
    kind VARCHAR NOT NULL, device VARCHAR, path VARCHAR, bytes BIGINT, to_removable BOOLEAN,
    source_system VARCHAR NOT NULL, batch_id BIGINT NOT NULL, source_file VARCHAR, source_line BIGINT
"""


def _rebuilt(table: str, columns: str) -> list[str]:
    """Statements that replace ``table`` by a copy with ``columns`` (same names and order), rows in
    event id order, so that the ledger reads every row back as it was sealed."""
    return [
        f"CREATE TABLE {table}_v3 ({columns})",
        f"INSERT INTO {table}_v3 SELECT * FROM {table} ORDER BY event_id",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_v3 RENAME TO {table}",
    ]


MODEL_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "access model",
        [
            """
            CREATE TABLE organisations (
                org_id      VARCHAR PRIMARY KEY,
                name        VARCHAR NOT NULL,      -- as the organisation writes itself (often Japanese)
                name_en     VARCHAR,
                kind        VARCHAR NOT NULL,      -- vocab.ORG_KINDS
                sector      VARCHAR,               -- business | public_body
                country     VARCHAR DEFAULT 'JP'
            )
            """,
            """
            CREATE TABLE contracts (
                contract_id             VARCHAR PRIMARY KEY,
                entrustor_id            VARCHAR NOT NULL,   -- who hands the data over
                entrustee_id            VARCHAR NOT NULL,   -- who processes it
                owners                  VARCHAR[],          -- data owners whose data the contract covers
                categories              VARCHAR[],
                purposes                VARCHAR[],
                allowed_subcontractors  VARCHAR[],          -- org ids the entrustee may pass work to
                valid_from              DATE,
                valid_to                DATE,               -- NULL: open-ended
                security_terms          VARCHAR[]           -- e.g. no_removable_media, onsite_only
            )
            """,
            """
            CREATE TABLE actors (
                actor_id    VARCHAR PRIMARY KEY,   -- a person (or a service) acting on data
                display_name VARCHAR,
                role        VARCHAR NOT NULL,      -- vocab.ROLES
                org_id      VARCHAR,               -- employer
                placed_at   VARCHAR,               -- org the actor works for when placed by an agency
                team        VARCHAR,
                privileged  BOOLEAN DEFAULT FALSE, -- holds admin rights somewhere
                valid_from  DATE,
                valid_to    DATE                   -- employment end; NULL: still employed
            )
            """,
            """
            CREATE TABLE accounts (
                system      VARCHAR NOT NULL,      -- app, db, endpoint, or a source-specific name
                account     VARCHAR NOT NULL,      -- the name that system logs
                actor_id    VARCHAR,               -- NULL: a shared account (resolved by terminal and time)
                shared      BOOLEAN DEFAULT FALSE,
                PRIMARY KEY (system, account)
            )
            """,
            """
            CREATE TABLE terminals (
                terminal_id VARCHAR PRIMARY KEY,   -- host name as endpoint logs write it
                address     VARCHAR,               -- the IP the databases and apps see
                actor_id    VARCHAR,               -- assigned user, NULL for shared machines
                location    VARCHAR
            )
            """,
            """
            CREATE TABLE assignments (
                assignment_id VARCHAR PRIMARY KEY, -- campaign, ticket, standing duty
                actor_id    VARCHAR,               -- NULL: the whole team works it
                team        VARCHAR,
                owner_id    VARCHAR,
                dataset     VARCHAR,
                kind        VARCHAR,               -- campaign | ticket | duty | maintenance
                purpose     VARCHAR,
                valid_from  DATE,
                valid_to    DATE
            )
            """,
            """
            CREATE TABLE assignment_subjects (
                assignment_id VARCHAR NOT NULL,    -- call list lines, case files named by a ticket
                owner_id    VARCHAR NOT NULL,
                subject_id  VARCHAR NOT NULL
            )
            """,
            """
            CREATE TABLE datasets (
                dataset_id  VARCHAR PRIMARY KEY,   -- owner_id/name/version
                owner_id    VARCHAR NOT NULL,
                name        VARCHAR NOT NULL,
                version     VARCHAR,
                categories  VARCHAR[],
                valid_from  DATE,
                valid_to    DATE,
                records     BIGINT,
                source_file VARCHAR,
                digest      VARCHAR
            )
            """,
            """
            CREATE TABLE access_events (
                event_id    BIGINT PRIMARY KEY,    -- one sequence across access and endpoint events; ledger.leaf_index_of maps it to a leaf
                ts          TIMESTAMPTZ NOT NULL,
                actor_id    VARCHAR,               -- resolved person; NULL when unresolved
                account     VARCHAR,               -- as logged
                action      VARCHAR NOT NULL,      -- vocab.ACTIONS
                resource    VARCHAR,               -- table, screen, API path, file
                columns     VARCHAR[],
                owner_id    VARCHAR,               -- whose data (entrustor / data owner)
                purpose     VARCHAR,
                ticket      VARCHAR,               -- assignment id the actor gave
                terminal    VARCHAR,
                source_ip   VARCHAR,
                outcome     VARCHAR,
                row_count   BIGINT,
                bytes       BIGINT,
                statement   VARCHAR,               -- SQL or request line, when the source gives one
                source_system VARCHAR NOT NULL,    -- vocab.SOURCE_SYSTEMS
                batch_id    BIGINT NOT NULL,
                source_file VARCHAR,
                source_line BIGINT
            )
            """,
            """
            CREATE TABLE access_subjects (
                event_id    BIGINT NOT NULL,
                owner_id    VARCHAR,
                subject_id  VARCHAR NOT NULL       -- the owner's own record id, never a name
            )
            """,
            """
            CREATE TABLE endpoint_events (
                event_id    BIGINT PRIMARY KEY,    -- one sequence across access and endpoint events; ledger.leaf_index_of maps it to a leaf
                ts          TIMESTAMPTZ NOT NULL,
                actor_id    VARCHAR,
                account     VARCHAR,
                host        VARCHAR,
                kind        VARCHAR NOT NULL,      -- vocab.ENDPOINT_KINDS
                device      VARCHAR,               -- removable device id, when known
                path        VARCHAR,               -- file name, URL or mail recipients
                bytes       BIGINT,
                to_removable BOOLEAN,
                source_system VARCHAR NOT NULL,
                batch_id    BIGINT NOT NULL,
                source_file VARCHAR,
                source_line BIGINT
            )
            """,
            """
            CREATE TABLE ingest_files (
                path        VARCHAR NOT NULL,
                source      VARCHAR NOT NULL,
                head_digest VARCHAR NOT NULL,      -- sha256 of the bytes ingested so far
                bytes_done  BIGINT NOT NULL,       -- offset up to which the file is ingested
                lines_done  BIGINT NOT NULL,
                updated_at  TIMESTAMPTZ NOT NULL
            )
            """,
            """
            CREATE TABLE ingest_batches (
                batch_id    BIGINT PRIMARY KEY,
                source      VARCHAR NOT NULL,
                path        VARCHAR,
                started_at  TIMESTAMPTZ NOT NULL,
                finished_at TIMESTAMPTZ,
                read        BIGINT DEFAULT 0,
                ingested    BIGINT DEFAULT 0,
                quarantined BIGINT DEFAULT 0,
                duplicate   BIGINT DEFAULT 0,
                first_event BIGINT,
                last_event  BIGINT
            )
            """,
            """
            CREATE TABLE quarantine (
                batch_id    BIGINT,
                source      VARCHAR,
                path        VARCHAR NOT NULL,
                line        BIGINT,
                reason      VARCHAR NOT NULL,
                raw         VARCHAR
            )
            """,
            """
            CREATE TABLE tool_audit (
                ts          TIMESTAMPTZ NOT NULL,  -- kansa's own use is audited
                os_user     VARCHAR,
                command     VARCHAR NOT NULL,
                args        VARCHAR,
                outcome     VARCHAR
            )
            """,
            "CREATE INDEX access_events_ts ON access_events(ts)",
            "CREATE INDEX access_subjects_subject ON access_subjects(owner_id, subject_id)",
        ],
    ),
    Migration(
        2,
        "database table owners (registry db_owners.csv)",
        [
            """
            CREATE TABLE db_owners (
                "database"  VARCHAR,               -- empty: any database
                "schema"    VARCHAR NOT NULL,
                "table"     VARCHAR,               -- empty: every table of the schema
                owner_id    VARCHAR NOT NULL
            )
            """,
        ],
    ),
    Migration(
        3,
        "event tables without ART indexes (ids unique by the ingest sequence; ledger verify checks them)",
        [
            # DuckDB keeps an ART index wholly in memory and cannot evict it: on a 10 GB log the
            # event id keys, times and subject keys alone outgrow a 1 GB budget (docs/benchmarks.md,
            # "Memory on a big csvlog"). Nothing needs them: event ids are appended in order, so a
            # look-up by id or by an id range is answered by row-group min/max (zonemaps), as times
            # are for a log read in time order; a subject look-up scans one narrow table.
            # DuckDB cannot drop a PRIMARY KEY in place, so the two event tables are copied.
            "DROP INDEX IF EXISTS access_events_ts",
            "DROP INDEX IF EXISTS access_subjects_subject",
            *_rebuilt("access_events", ACCESS_EVENTS_COLUMNS),
            *_rebuilt("endpoint_events", ENDPOINT_EVENTS_COLUMNS),
        ],
    ),
]
