"""Staff accounts: who may sign in to the console, with which role and for which sites.

Roles, from most to least: ``admin`` (everything, users, audit log, publishing), ``editor``
(content drafts), ``lotse`` (help calls of their sites), ``viewer`` (reading). ``sites`` limits an
editor or a Lotse to some sites; empty means all. The database holds only argon2id hashes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from a2d.errors import KnownError

from ..db import Database, Tx
from . import audit, passwords

ROLES = ("admin", "editor", "lotse", "viewer")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SITE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

_USER = "SELECT username, role, sites, created_at, password_set_at FROM console_users"


class AccountError(KnownError, ValueError):
    """A user name, role or site that cannot be used, or a user that does not exist."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    sites: tuple[str, ...] = ()
    created_at: str = ""
    password_set_at: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"username": self.username, "role": self.role, "sites": list(self.sites),
                "created_at": self.created_at, "password_set_at": self.password_set_at}  # fmt: skip

    def sees_site(self, site: str) -> bool:
        """Whether the user's scope covers ``site`` (no sites: all of them)."""
        return not self.sites or site in self.sites


def _user(row: Sequence[object]) -> User:
    sites = tuple(s for s in str(row[2]).split(",") if s)
    return User(str(row[0]), str(row[1]), sites, str(row[3]), str(row[4]))


def check_name(username: str) -> str:
    if not _NAME.match(username):
        raise AccountError(
            f"a user name is 1 to 64 lower-case letters, digits, '.', '_' or '-', not {username!r:.70}"
        )
    return username


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"the role is one of {', '.join(ROLES)}, not {role!r:.40}")
    return role


def check_sites(sites: Sequence[str]) -> str:
    for s in sites:
        if not _SITE.match(s) or len(s) > 63:
            raise AccountError(f"a site is a slug like rathaus or ov-zell-weierbach, not {s!r:.70}")
    return ",".join(sorted(set(sites)))


def users(db: Database) -> list[User]:
    return [_user(r) for r in db.query(_USER + " ORDER BY username")]


def find(db: Database, username: str) -> User | None:
    rows = db.query(_USER + " WHERE username = ?", (username,))
    return _user(rows[0]) if rows else None


def password_hash(db: Database, username: str) -> str | None:
    rows = db.query("SELECT password_hash FROM console_users WHERE username = ?", (username,))
    return str(rows[0][0]) if rows else None


def add(db: Database, username: str, role: str, password: str, now: str, actor: audit.Actor,
        sites: Sequence[str] = ()) -> User:  # fmt: skip
    """Create a user; :class:`AccountError` if the name is taken (nothing changes then)."""
    check_name(username)
    check_role(role)
    joined = check_sites(sites)
    digest = passwords.hash_password(password)

    def insert(tx: Tx) -> bool:
        n = tx.run(
            "INSERT INTO console_users (username, role, sites, password_hash, created_at, password_set_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING",
            (username, role, joined, digest, now, now),
        )
        if n == 1:
            audit.write(
                tx, actor, "user.add", username, f"role {role}" + (f", sites {joined}" if joined else ""), now
            )
        return n == 1

    if not db.transact(insert):
        raise AccountError(f"there is a user {username!r} already")
    return User(username, role, tuple(s for s in joined.split(",") if s), now, now)


def _change(db: Database, username: str, action: str, detail: str, now: str, actor: audit.Actor,
            statement: str, params: tuple[object, ...], end_sessions: bool) -> None:  # fmt: skip
    def change(tx: Tx) -> bool:
        if tx.run(statement, params) != 1:
            return False
        if end_sessions:
            tx.run("DELETE FROM console_sessions WHERE username = ?", (username,))
        audit.write(tx, actor, action, username, detail, now)
        return True

    if not db.transact(change):
        raise AccountError(f"there is no user {username!r}")


def remove(db: Database, username: str, now: str, actor: audit.Actor) -> None:
    """Delete the user and end all their sessions."""
    _change(db, username, "user.remove", "", now, actor,
            "DELETE FROM console_users WHERE username = ?", (username,), True)  # fmt: skip


def set_role(db: Database, username: str, role: str, now: str, actor: audit.Actor,
             sites: Sequence[str] | None = None) -> None:  # fmt: skip
    """A new role (and, given, new sites); the user's sessions end so that the change applies at once."""
    check_role(role)
    if sites is None:
        _change(db, username, "user.set-role", f"role {role}", now, actor,
                "UPDATE console_users SET role = ? WHERE username = ?", (role, username), True)  # fmt: skip
        return
    joined = check_sites(sites)
    _change(db, username, "user.set-role", f"role {role}, sites {joined or 'all'}", now, actor,
            "UPDATE console_users SET role = ?, sites = ? WHERE username = ?", (role, joined, username), True)  # fmt: skip


def reset_password(db: Database, username: str, password: str, now: str, actor: audit.Actor) -> None:
    """A new password; every session of the user ends."""
    digest = passwords.hash_password(password)
    _change(db, username, "user.reset-password", "", now, actor,
            "UPDATE console_users SET password_hash = ?, password_set_at = ? WHERE username = ?",
            (digest, now, username), True)  # fmt: skip


def admins(db: Database) -> int:
    return int(db.query("SELECT count(*) FROM console_users WHERE role = 'admin'")[0][0])
