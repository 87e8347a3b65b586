"""Signing in: the password checked, failures counted, lockouts kept, everything audited.

The answer never tells whether a user exists: a wrong name and a wrong password fail alike (in
about the same time: :func:`passwords.verify`), and names that do not exist lock out alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from a2d.timeutil import iso, parse

from ..db import Database, Tx
from . import accounts, audit, passwords
from .lockout import Rule, address_subject, user_subject


@dataclass(frozen=True)
class Outcome:
    user: accounts.User | None  # set when the login succeeded
    locked_s: float = 0.0  # > 0: refused without looking at the password, for about this long


def _locked_for(db: Database, subjects: tuple[str, ...], now: datetime) -> float:
    rows = db.query("SELECT locked_until FROM console_login_failures WHERE subject IN (?, ?)", subjects)
    until = max((parse(str(r[0])) for r in rows), default=now)
    return max(0.0, (until - now).total_seconds())


def _fail(tx: Tx, subject: str, rule: Rule, now: datetime) -> float:
    """Count one failure of ``subject``; the lockout it now has (seconds)."""
    rows = tx.rows(
        "SELECT failures, last_failure_at FROM console_login_failures WHERE subject = ?", (subject,)
    )
    failures = 1
    if rows and (now - parse(str(rows[0][1]))).total_seconds() < rule.forget_s:
        failures = int(rows[0][0]) + 1
    lock = rule.lock_seconds(failures)
    tx.run(
        "INSERT INTO console_login_failures (subject, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures,"
        " last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until",
        (subject, failures, iso(now), iso(now + timedelta(seconds=lock))),
    )
    return lock


def attempt(db: Database, rule: Rule, username: str, password: str, address: str, now: datetime) -> Outcome:
    """Check a login; on success the user (the caller makes the session), else why not."""
    name = username.strip().lower()[:200]
    subjects = (user_subject(name), address_subject(address))
    actor = audit.Actor(name or "-", address)
    locked = _locked_for(db, subjects, now)
    if locked > 0:
        audit.record(db, actor, "login.refused", name, f"locked out for {locked:.0f} s more", iso(now))
        return Outcome(None, locked)
    user = accounts.find(db, name) if accounts._NAME.match(name) else None
    if passwords.verify(accounts.password_hash(db, name) if user else None, password) and user:

        def welcome(tx: Tx) -> None:
            tx.run("DELETE FROM console_login_failures WHERE subject = ?", (subjects[0],))
            audit.write(tx, actor, "login", name, "", iso(now))

        db.transact(welcome)
        return Outcome(user)

    def count(tx: Tx) -> float:
        lock = max(_fail(tx, s, rule, now) for s in subjects)
        audit.write(tx, actor, "login.failed", name, "wrong user name or password", iso(now))
        if lock > 0:
            audit.write(tx, actor, "login.lockout", name, f"locked out for {lock:.0f} s", iso(now))
        return lock

    return Outcome(None, db.transact(count))
