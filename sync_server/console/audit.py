"""The audit log: who changed what, when, from where. Every change the console makes writes one
row through :func:`write` (inside the transaction of the change) or :func:`record` (on its own).
Admins read it at ``/console/audit``; nothing deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..db import Database, Tx

#: the longest text a column takes; longer is cut (a log, not a store for whatever was sent)
MAX_TEXT = 500


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user (or ``cli`` on the command line) and the address it came from."""

    name: str
    address: str = ""


CLI = Actor("cli", "local")


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    actor: str
    action: str
    target: str
    detail: str
    address: str


def _clean(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)[:MAX_TEXT]


def write(tx: Tx, actor: Actor, action: str, target: str, detail: str, now: str) -> None:
    """One row, in the caller's transaction ``tx``."""
    tx.run(
        "INSERT INTO console_audit (at, actor, action, target, detail, address) VALUES (?, ?, ?, ?, ?, ?)",
        (now, _clean(actor.name), _clean(action), _clean(target), _clean(detail), _clean(actor.address)),
    )


def record(db: Database, actor: Actor, action: str, target: str, detail: str, now: str) -> None:
    """One row in a transaction of its own (for events that change nothing else, e.g. a lockout)."""
    db.transact(lambda tx: write(tx, actor, action, target, detail, now))


def entries(db: Database, limit: int = 200, before: int | None = None) -> list[Entry]:
    """The newest ``limit`` rows (older than ``before``, a seq, when given), newest first."""
    cols = "SELECT seq, at, actor, action, target, detail, address FROM console_audit"
    rows = (
        db.query(cols + " WHERE seq < ? ORDER BY seq DESC LIMIT ?", (before, limit))
        if before is not None
        else db.query(cols + " ORDER BY seq DESC LIMIT ?", (limit,))
    )
    return [Entry(int(r[0]), *(str(x) for x in r[1:])) for r in rows]
