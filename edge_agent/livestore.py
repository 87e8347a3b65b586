"""Live questions and town-wide totals as the agent keeps them in its SQLite file.

What the server's live stream last said is kept here (written on the agent's writer thread), so
that an agent restarted without its server still serves a question that is still open, and a
kiosk's ``GET /v1/live`` reads a table instead of waiting on the network.

- ``live_questions``: the open questions the server sent last (its whole list for this device:
  a question the server no longer lists was closed early and goes). Whether one is open *now* is
  decided when it is read, by its times, so it closes on time offline too.
- ``live_town``: per poll, the town-wide counts the server sent last and when. They stay after a
  question closed, so its results stay on the walls.
- ``live_state``: when the agent last heard from the server.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from a2d import timeutil
from a2d.livewire import LiveError, LiveQuestion, Snapshot, Town

#: town totals kept at most (the newest by time); a poll's row goes when this many newer ones came
MAX_TOWN_ROWS = 500

SCHEMA = """
CREATE TABLE live_questions (
    id TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    opens_at TEXT NOT NULL,
    closes_at TEXT NOT NULL
);
CREATE TABLE live_town (
    poll_id TEXT PRIMARY KEY,
    counts TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE live_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    heard_at TEXT NOT NULL
)
"""


def create(db: sqlite3.Connection) -> None:
    """The tables (the store's migration ``m011_live_questions``)."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def keep(db: sqlite3.Connection, snap: Snapshot, heard_at: str) -> None:
    """Make ``snap`` what the agent knows (on the writer thread, in its transaction)."""
    db.execute("DELETE FROM live_questions")
    db.executemany(
        "INSERT INTO live_questions (id, document, opens_at, closes_at) VALUES (?, ?, ?, ?)",
        [
            (q.id, json.dumps(q.as_json(), ensure_ascii=False), q.opens_at, q.closes_at)
            for q in snap.questions
        ],
    )
    db.executemany(
        "INSERT INTO live_town (poll_id, counts, at) VALUES (?, ?, ?) ON CONFLICT (poll_id) DO UPDATE SET"
        " counts = excluded.counts, at = excluded.at",
        [(poll, json.dumps(dict(t.counts)), t.at) for poll, t in snap.town.items()],
    )
    db.execute(
        "DELETE FROM live_town WHERE poll_id NOT IN (SELECT poll_id FROM live_town ORDER BY at DESC LIMIT ?)",
        (MAX_TOWN_ROWS,),
    )
    heard(db, heard_at)


def heard(db: sqlite3.Connection, at: str) -> None:
    db.execute(
        "INSERT INTO live_state (id, heard_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET heard_at = excluded.heard_at",
        (at,),
    )


def open_questions(db: sqlite3.Connection, now: datetime) -> list[LiveQuestion]:
    """The questions kept that are open at ``now``, newest first (a row that no longer parses is skipped)."""
    out = []
    for (doc,) in db.execute("SELECT document FROM live_questions ORDER BY opens_at DESC, id"):
        try:
            q = LiveQuestion.from_json(json.loads(doc))
        except (ValueError, LiveError):
            continue
        if q.is_open(now):
            out.append(q)
    return out


def question(db: sqlite3.Connection, poll_id: str) -> LiveQuestion | None:
    """A kept question by id, open or not (None if the agent does not hold it)."""
    row = db.execute("SELECT document FROM live_questions WHERE id = ?", (poll_id,)).fetchone()
    try:
        return None if row is None else LiveQuestion.from_json(json.loads(row[0]))
    except (ValueError, LiveError):
        return None


def town(db: sqlite3.Connection, poll_id: str) -> Town | None:
    row = db.execute("SELECT counts, at FROM live_town WHERE poll_id = ?", (poll_id,)).fetchone()
    if row is None:
        return None
    try:
        return Town.from_json({"counts": json.loads(row[0]), "at": row[1]})
    except (ValueError, LiveError):
        return None


def heard_at(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT heard_at FROM live_state WHERE id = 1").fetchone()
    return None if row is None else str(row[0])


class NewestQuestion:
    """The feedback buttons' ``@live`` answer (:data:`edge_agent.buttonvotes.LiveResolver`): the
    newest question open at the press's time, as ``[question id, answer id, …]``.

    Asked on the ingest writer's thread, while its transaction is open, so it reads through a
    connection of its own (WAL: it sees what the live thread committed), opened on first use.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def __call__(self, at: str) -> list[str] | None:
        if self._db is None:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        try:
            questions = open_questions(self._db, timeutil.parse(at))
        except (sqlite3.Error, ValueError):  # no table yet, or a time that does not parse: no answer
            return None
        return [questions[0].id, *questions[0].answer_ids()] if questions else None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
