"""Schema migrations, one row per version with the DDL of each backend.

Each backend applies, in one transaction, the versions its ``schema_migrations`` table does not
list yet and records them there. Append new versions; never edit an applied one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._live import BACKFILL_POSTGRES, BACKFILL_SQLITE


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: str
    postgres: str

    def statements(self, backend: str) -> list[str]:
        script = self.sqlite if backend == "sqlite" else self.postgres
        return [s.strip() for s in script.split(";") if s.strip()]


#: what differs between the two dialects in otherwise identical DDL
_DIALECTS: dict[str, dict[str, str]] = {
    "sqlite": {
        "BIGINT": "INTEGER",
        "DOUBLE": "REAL",
        "SERIAL_PK": "INTEGER PRIMARY KEY",
        "RECORDS_SEQ": "",
        "RECORDS_SEQ_INDEX": "",
    },
    "postgres": {
        "BIGINT": "BIGINT",
        "DOUBLE": "DOUBLE PRECISION",
        "SERIAL_PK": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        # PostgreSQL has no rowid: an identity column keeps the arrival order of records
        "RECORDS_SEQ": "seq BIGINT GENERATED ALWAYS AS IDENTITY,",
        "RECORDS_SEQ_INDEX": "CREATE INDEX records_seq ON records (seq);",
    },
}


def both(version: int, name: str, template: str) -> Migration:
    """A migration written once, with ``{BIGINT}``-style slots filled in per dialect."""
    return Migration(
        version,
        name,
        sqlite=template.format(**_DIALECTS["sqlite"]),
        postgres=template.format(**_DIALECTS["postgres"]),
    )


#: migration 7's tables (its backfill of the tallies differs per backend: see ._live)
_LIVE = """
CREATE TABLE live_questions (
    id TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    opens_at TEXT NOT NULL,
    closes_at TEXT NOT NULL,
    started_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    closed_by TEXT
);
CREATE INDEX live_questions_closes ON live_questions (closes_at);
CREATE TABLE poll_tallies (
    poll_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    votes {BIGINT} NOT NULL,
    PRIMARY KEY (poll_id, answer)
)
"""

MIGRATIONS: tuple[Migration, ...] = (
    both(
        1,
        "devices, records, heartbeats, admin token",
        """
        CREATE TABLE devices (
            device_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            token_set_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE records (
            {RECORDS_SEQ}
            device_id TEXT NOT NULL,
            record_id TEXT NOT NULL,
            stream TEXT NOT NULL,
            ts TEXT NOT NULL,
            payload TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (device_id, record_id)
        );
        {RECORDS_SEQ_INDEX}
        CREATE TABLE heartbeats_latest (
            device_id TEXT PRIMARY KEY,
            received_at TEXT NOT NULL,
            heartbeat TEXT NOT NULL
        );
        CREATE TABLE heartbeats (
            seq {SERIAL_PK},
            device_id TEXT NOT NULL,
            received_at TEXT NOT NULL,
            heartbeat TEXT NOT NULL
        );
        CREATE INDEX heartbeats_device ON heartbeats (device_id, seq);
        CREATE TABLE server_secrets (
            name TEXT PRIMARY KEY,
            secret_hash TEXT NOT NULL,
            set_at TEXT NOT NULL
        )
        """,
    ),
    both(
        2,
        "signed bundles, the current one per target and kind, and the ones they replaced",
        """
        CREATE TABLE bundles (
            target TEXT NOT NULL,
            kind TEXT NOT NULL,
            version TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size {BIGINT} NOT NULL,
            document TEXT NOT NULL,
            published_at TEXT NOT NULL,
            PRIMARY KEY (target, kind)
        );
        CREATE TABLE bundle_history (
            seq {SERIAL_PK},
            target TEXT NOT NULL,
            kind TEXT NOT NULL,
            version TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size {BIGINT} NOT NULL,
            document TEXT,
            published_at TEXT NOT NULL,
            replaced_at TEXT NOT NULL
        );
        CREATE INDEX bundle_history_target ON bundle_history (target, kind, seq)
        """,
    ),
    both(
        3,
        "hourly aggregates of canonical measurements, for open data",
        """
        CREATE TABLE measurements_hourly (
            device_id TEXT NOT NULL,
            sensor TEXT NOT NULL,
            quantity TEXT NOT NULL,
            unit TEXT NOT NULL,
            channel TEXT NOT NULL,
            hour TEXT NOT NULL,
            sensor_name TEXT NOT NULL,
            readings {BIGINT} NOT NULL,
            value_sum {DOUBLE} NOT NULL,
            value_min {DOUBLE} NOT NULL,
            value_max {DOUBLE} NOT NULL,
            PRIMARY KEY (device_id, sensor, quantity, unit, channel, hour)
        );
        CREATE INDEX measurements_hourly_hour ON measurements_hourly (hour, quantity)
        """,
    ),
    both(
        4,
        "sites of devices; bundle targets, counters and the server's public signing keys",
        """
        ALTER TABLE devices ADD COLUMN site TEXT NOT NULL DEFAULT '';
        ALTER TABLE bundles ADD COLUMN counter {BIGINT} NOT NULL DEFAULT 0;
        ALTER TABLE bundle_history ADD COLUMN counter {BIGINT} NOT NULL DEFAULT 0;
        UPDATE bundles SET target = CASE WHEN target = '*' THEN 'all' ELSE 'device:' || target END;
        UPDATE bundle_history SET target = CASE WHEN target = '*' THEN 'all' ELSE 'device:' || target END;
        CREATE TABLE bundle_counters (
            kind TEXT PRIMARY KEY,
            assigned {BIGINT} NOT NULL,
            published {BIGINT} NOT NULL
        );
        CREATE TABLE signing_keys (
            key_id TEXT PRIMARY KEY,
            public_key TEXT NOT NULL,
            added_at TEXT NOT NULL,
            retire_at TEXT
        )
        """,
    ),
    both(
        5,
        "spans of late records (by arrival number and event time), for retention counted from the event",
        """
        CREATE TABLE record_spans (
            id {SERIAL_PK},
            stream TEXT NOT NULL,
            first_arrival {BIGINT} NOT NULL,
            last_arrival {BIGINT} NOT NULL,
            min_ts TEXT NOT NULL,
            max_ts TEXT NOT NULL
        );
        CREATE INDEX record_spans_stream ON record_spans (stream, min_ts)
        """,
    ),
    both(
        6,
        "the role a device was provisioned for (edge, kiosk, edge+kiosk, ...)",
        """
        ALTER TABLE devices ADD COLUMN role TEXT NOT NULL DEFAULT ''
        """,
    ),
    Migration(
        7,
        "live questions; town-wide vote tallies per poll and answer, kept at upload",
        sqlite=_LIVE.format(**_DIALECTS["sqlite"]) + ";" + BACKFILL_SQLITE,
        postgres=_LIVE.format(**_DIALECTS["postgres"]) + ";" + BACKFILL_POSTGRES,
    ),
    both(
        8,
        "what each kiosk's screen showed last, from its agent's heartbeat (proof of display)",
        """
        CREATE TABLE kiosk_displays (
            device_id TEXT NOT NULL,
            kiosk_id TEXT NOT NULL,
            page TEXT NOT NULL,
            frames {BIGINT} NOT NULL,
            hash TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            reported_at TEXT NOT NULL,
            mode TEXT NOT NULL,
            wall INTEGER NOT NULL,
            seen_at TEXT NOT NULL,
            report_at TEXT NOT NULL,
            drawn_at TEXT NOT NULL,
            PRIMARY KEY (device_id, kiosk_id)
        )
        """,
    ),
    both(
        9,
        "the console: staff accounts, their sessions, failed logins, the audit log",
        """
        CREATE TABLE console_users (
            username TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            sites TEXT NOT NULL DEFAULT '',
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            password_set_at TEXT NOT NULL
        );
        CREATE TABLE console_sessions (
            token_hash TEXT PRIMARY KEY,
            username TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            address TEXT NOT NULL
        );
        CREATE INDEX console_sessions_user ON console_sessions (username);
        CREATE TABLE console_login_failures (
            subject TEXT PRIMARY KEY,
            failures {BIGINT} NOT NULL,
            last_failure_at TEXT NOT NULL,
            locked_until TEXT NOT NULL
        );
        CREATE TABLE console_audit (
            seq {SERIAL_PK},
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT NOT NULL,
            address TEXT NOT NULL
        )
        """,
    ),
    both(
        10,
        "the console's content drafts: one per publish target, with a revision that only grows",
        """
        CREATE TABLE content_drafts (
            target TEXT PRIMARY KEY,
            revision {BIGINT} NOT NULL,
            document TEXT NOT NULL,
            base TEXT NOT NULL,
            saved_at TEXT NOT NULL,
            saved_by TEXT NOT NULL
        )
        """,
    ),
    both(
        11,
        "kiosk usage: the counters of each kiosk's daily report (sessions, screens, languages) per site",
        """
        CREATE TABLE kiosk_usage (
            device_id TEXT NOT NULL,
            record_id TEXT NOT NULL,
            day TEXT NOT NULL,
            site TEXT NOT NULL,
            metric TEXT NOT NULL,
            item TEXT NOT NULL,
            n {BIGINT} NOT NULL,
            PRIMARY KEY (device_id, record_id, metric, item)
        );
        CREATE INDEX kiosk_usage_day ON kiosk_usage (day, site)
        """,
    ),
    both(
        12,
        "help calls: the state of each kiosk help request the agents sent (the console's /console/help)",
        """
        CREATE TABLE help_calls (
            device_id TEXT NOT NULL,
            request_id TEXT NOT NULL,
            site TEXT NOT NULL DEFAULT '',
            kiosk_id TEXT NOT NULL DEFAULT '',
            topic TEXT NOT NULL DEFAULT '',
            opened_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open',
            closed_at TEXT,
            closed_by TEXT,
            agent_closed_at TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (device_id, request_id)
        );
        CREATE INDEX help_calls_state ON help_calls (state, opened_at);
        CREATE INDEX help_calls_unsent ON help_calls (state, agent_closed_at)
        """,
    ),
    both(
        13,
        "the console: each soil sensor's dry threshold for the watering list",
        """
        CREATE TABLE soil_thresholds (
            sensor TEXT PRIMARY KEY,
            dry_percent {DOUBLE} NOT NULL,
            set_by TEXT NOT NULL,
            set_at TEXT NOT NULL
        )
        """,
    ),
)

#: the ``schema_migrations`` table itself (the same text works on both backends)
MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
