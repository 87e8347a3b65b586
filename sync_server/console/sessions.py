"""Console sessions: a random token in a cookie, only its SHA-256 in the database, with an idle and
an absolute expiry, and the session's CSRF token beside it.

A session ends when it has not been used for ``idle`` or was made more than ``lifetime`` ago,
when its user signs out, is removed, gets a new role or a new password.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from a2d.timeutil import iso, parse

from ..db import Database

#: the last-used time is written at most this often (not on every page view)
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Session:
    token_hash: str
    username: str
    csrf: str
    created_at: str
    last_seen_at: str


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta
    lifetime: timedelta

    def alive(self, s: Session, now: datetime) -> bool:
        return now - parse(s.last_seen_at) < self.idle and now - parse(s.created_at) < self.lifetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create(db: Database, username: str, address: str, now: datetime) -> tuple[str, Session]:
    """A new session: ``(the token for the cookie, the stored session)``."""
    token = secrets.token_urlsafe(32)
    s = Session(token_hash(token), username, secrets.token_urlsafe(32), iso(now), iso(now))
    db.transact(
        lambda tx: tx.run(
            "INSERT INTO console_sessions (token_hash, username, csrf, created_at, last_seen_at, address)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (s.token_hash, username, s.csrf, s.created_at, s.last_seen_at, address[:100]),
        )
    )
    return token, s


def find(db: Database, token: str, life: Lifetime, now: datetime) -> Session | None:
    """The live session of ``token``; an expired one is deleted and ``None``."""
    if not token or len(token) > 100:
        return None
    digest = token_hash(token)
    rows = db.query(
        "SELECT token_hash, username, csrf, created_at, last_seen_at FROM console_sessions WHERE token_hash = ?",
        (digest,),
    )
    if not rows:
        return None
    s = Session(*(str(x) for x in rows[0]))
    if not life.alive(s, now):
        end(db, token)
        return None
    if now - parse(s.last_seen_at) >= TOUCH_EVERY:
        db.transact(
            lambda tx: tx.run(
                "UPDATE console_sessions SET last_seen_at = ? WHERE token_hash = ?", (iso(now), digest)
            )
        )
    return s


def end(db: Database, token: str) -> bool:
    """Delete the session of ``token``; whether there was one."""
    digest = token_hash(token)
    return bool(
        db.transact(lambda tx: tx.run("DELETE FROM console_sessions WHERE token_hash = ?", (digest,)))
    )


def prune(db: Database, life: Lifetime, now: datetime) -> int:
    """Delete every expired session; how many went."""
    idle, oldest = iso(now - life.idle), iso(now - life.lifetime)
    return int(
        db.transact(
            lambda tx: tx.run(
                "DELETE FROM console_sessions WHERE last_seen_at < ? OR created_at < ?", (idle, oldest)
            )
        )
    )
