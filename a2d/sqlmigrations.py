"""Schema migrations of an app's own SQLite file: each runs once, in order, recorded in the file.

The edge agent's store and the buttons bridge's spool both keep their schema this way. A
migration is a function of the connection; it runs in its own ``BEGIN IMMEDIATE`` transaction
together with the row that records it, so a crash half-way leaves the file as it was.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence

from . import timeutil

log = logging.getLogger(__name__)

Migration = Callable[[sqlite3.Connection], None]


def apply(db: sqlite3.Connection, migrations: Sequence[tuple[str, Migration]], what: str) -> list[str]:
    """Run the ``(name, function)`` migrations ``db`` has not seen; return their names.

    ``db`` must be in autocommit mode (``isolation_level=None``); ``what`` names the file in logs.
    """
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {r[0] for r in db.execute("SELECT name FROM migrations")}
    applied = []
    for name, fn in migrations:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            fn(db)
            db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, timeutil.utc_now()))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(name)
        log.info("%s: applied migration %s", what, name)
    return applied
