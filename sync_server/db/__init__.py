"""The server's database, chosen by URL: ``sqlite:///relative.db``, ``sqlite:////absolute/server.db``
(as SQLAlchemy spells them; a bare file path also means SQLite) or ``postgresql://user@host:port/db``.
"""

from __future__ import annotations

from ._base import (
    ALL_DEVICES,
    BundleInfo,
    Database,
    DatabaseError,
    Device,
    DisplayRow,
    RecordRow,
    Refused,
    SigningKey,
    StaleBundle,
    StoredDisplay,
    StoredHeartbeat,
    StoredRecord,
    Tx,
    Unavailable,
)
from ._hourly import BUTTON_PRESS, Hourly, Increment, Reading, Tally, Window, fold
from ._live import LiveRow, Vote

__all__ = [
    "ALL_DEVICES",
    "BUTTON_PRESS",
    "BundleInfo",
    "Database",
    "DatabaseError",
    "Device",
    "Hourly",
    "Increment",
    "LiveRow",
    "Reading",
    "RecordRow",
    "SigningKey",
    "StaleBundle",
    "Refused",
    "DisplayRow",
    "StoredDisplay",
    "StoredHeartbeat",
    "StoredRecord",
    "Tally",
    "Tx",
    "Unavailable",
    "Vote",
    "Window",
    "fold",
    "open_database",
    "sqlite_path",
]


def sqlite_path(url: str) -> str | None:
    """The file an SQLite URL names, ``None`` if the URL is not SQLite's."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :]
    if "://" in url:
        return None
    return url


def open_database(
    url: str, *, create: bool = True, pool_size: int = 8, synchronous: str = "full"
) -> Database:
    """Open (``create``: and make, if missing) the database at ``url``; run :meth:`Database.migrate` next.

    ``pool_size`` bounds PostgreSQL connections, ``synchronous`` is SQLite's durability
    (``full``: an acknowledged upload survives a power cut; ``normal``: a crash or kill -9).
    """
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresDatabase

        return PostgresDatabase(url, pool_size=pool_size)
    path = sqlite_path(url)
    if not path or path == ":memory:":
        raise DatabaseError(
            f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql://user@host:port/db"
        )
    from .sqlite import SQLiteDatabase

    return SQLiteDatabase(path, create=create, synchronous=synchronous)
