"""Schema migrations, one row per version with the DDL of each backend.

Each backend applies, in one transaction, the versions its ``schema_migrations`` table does not
list yet and records them there. Append new versions; never edit an applied one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: str
    postgres: str

    def statements(self, backend: str) -> list[str]:
        script = self.sqlite if backend == "sqlite" else self.postgres
        return [s.strip() for s in script.split(";") if s.strip()]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "devices, records, heartbeats, admin token",
        sqlite="""
        CREATE TABLE devices (
            device_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            token_set_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE records (
            device_id TEXT NOT NULL,
            record_id TEXT NOT NULL,
            stream TEXT NOT NULL,
            ts TEXT NOT NULL,
            payload TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (device_id, record_id)
        );
        CREATE TABLE heartbeats_latest (
            device_id TEXT PRIMARY KEY,
            received_at TEXT NOT NULL,
            heartbeat TEXT NOT NULL
        );
        CREATE TABLE heartbeats (
            seq INTEGER PRIMARY KEY,
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
        postgres="""
        CREATE TABLE devices (
            device_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            token_set_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE records (
            seq BIGINT GENERATED ALWAYS AS IDENTITY,
            device_id TEXT NOT NULL,
            record_id TEXT NOT NULL,
            stream TEXT NOT NULL,
            ts TEXT NOT NULL,
            payload TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (device_id, record_id)
        );
        CREATE INDEX records_seq ON records (seq);
        CREATE TABLE heartbeats_latest (
            device_id TEXT PRIMARY KEY,
            received_at TEXT NOT NULL,
            heartbeat TEXT NOT NULL
        );
        CREATE TABLE heartbeats (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
)

#: the ``schema_migrations`` table itself (the same text works on both backends)
MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
