"""Live questions and the town-wide vote tallies, written once for both backends.

``live_questions`` holds each question as its wire document (:mod:`a2d.livewire`) beside the
columns the queries need: when it opens and closes (``closes_at`` moves forward to the moment
staff close it early), who started it and how, who closed it. ``poll_tallies`` counts the votes of
every poll (pack polls and live questions) over all devices: one row per poll and answer, kept in
the transaction that inserts the ``feedback`` records, for the records that were new only (a
batch sent again counts once). Reading a poll's town-wide totals is then a primary-key look-up,
however many records the server holds (see ``bench``-style figure in docs/live.md).

The functions take an ``execute(statement, params)`` of the backend's connection, so that the
SQL and its handling live here once; the backends pass their own (psycopg wants ``%s``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import orjson

#: ``execute(statement, params)`` of an open connection, returning a cursor
Execute = Callable[[str, Sequence[Any]], Any]


class Vote(NamedTuple):
    """One counted vote of an uploaded ``feedback`` record: poll and answer."""

    device_id: str
    record_id: str
    poll_id: str
    answer: str


class LiveRow(NamedTuple):
    """One row of ``live_questions``."""

    id: str
    document: str  # the question's wire JSON as it was started (its closes_at may be later than closes_at)
    opens_at: str
    closes_at: str
    started_by: str
    started_at: str
    closed_by: str | None

    def as_json(self) -> dict[str, Any]:
        """The wire document with the closing time that holds now."""
        doc: dict[str, Any] = orjson.loads(self.document)
        doc["closes_at"] = self.closes_at
        return doc


ADD = (
    "INSERT INTO live_questions (id, document, opens_at, closes_at, started_by, started_at, closed_by)"
    " VALUES (?, ?, ?, ?, ?, ?, NULL)"
)
_COLUMNS = "id, document, opens_at, closes_at, started_by, started_at, closed_by"
OPEN = (
    f"SELECT {_COLUMNS} FROM live_questions WHERE closes_at > ? AND opens_at <= ?"  # noqa: S608 - our names
    " ORDER BY opens_at DESC, id LIMIT ?"
)
ALL = f"SELECT {_COLUMNS} FROM live_questions ORDER BY opens_at DESC, id LIMIT ?"  # noqa: S608 - our names
ONE = f"SELECT {_COLUMNS} FROM live_questions WHERE id = ?"  # noqa: S608 - our names
CLOSE = "UPDATE live_questions SET closes_at = ?, closed_by = ? WHERE id = ? AND closes_at > ?"
TALLY = (
    "INSERT INTO poll_tallies (poll_id, answer, votes) VALUES (?, ?, ?) ON CONFLICT (poll_id, answer)"
    " DO UPDATE SET votes = poll_tallies.votes + excluded.votes"
)
TALLIES = "SELECT poll_id, answer, votes FROM poll_tallies WHERE poll_id = ?"


def add_votes(execute_many: Callable[[str, Sequence[Sequence[Any]]], Any], votes: Iterable[Vote],
              new: set[tuple[str, str]] | None) -> None:  # fmt: skip
    """Count ``votes`` into the tallies (those of the records in ``new`` only, unless it is None),
    summed per poll and answer first, in key order (two uploads never wait on each other in a ring)."""
    sums: dict[tuple[str, str], int] = {}
    for v in votes:
        if new is None or (v.device_id, v.record_id) in new:
            sums[(v.poll_id, v.answer)] = sums.get((v.poll_id, v.answer), 0) + 1
    if sums:
        execute_many(TALLY, [(poll, answer, n) for (poll, answer), n in sorted(sums.items())])


def tallies(execute: Execute, poll_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """Votes per answer of each poll in ``poll_ids`` (a poll without votes is absent)."""
    out: dict[str, dict[str, int]] = {}
    for poll in dict.fromkeys(poll_ids):
        for poll_id, answer, n in execute(TALLIES, (poll,)).fetchall():
            out.setdefault(str(poll_id), {})[str(answer)] = int(n)
    return out


def rows(cursor: Any) -> list[LiveRow]:
    return [LiveRow(*row) for row in cursor.fetchall()]


#: the migration's backfill: the votes of the feedback records held before the tallies existed
BACKFILL_SQLITE = """
INSERT INTO poll_tallies (poll_id, answer, votes)
SELECT json_extract(payload, '$.decoded.poll_id'), json_extract(payload, '$.decoded.choice'), count(*)
FROM records WHERE stream = 'feedback' AND json_valid(payload)
 AND json_type(payload, '$.decoded.poll_id') = 'text' AND json_type(payload, '$.decoded.choice') = 'text'
 AND coalesce(json_type(payload, '$.counted'), '') <> 'false'
GROUP BY 1, 2
"""
BACKFILL_POSTGRES = """
INSERT INTO poll_tallies (poll_id, answer, votes)
SELECT payload::jsonb -> 'decoded' ->> 'poll_id', payload::jsonb -> 'decoded' ->> 'choice', count(*)
FROM records WHERE stream = 'feedback'
 AND jsonb_typeof(payload::jsonb -> 'decoded' -> 'poll_id') = 'string'
 AND jsonb_typeof(payload::jsonb -> 'decoded' -> 'choice') = 'string'
 AND (payload::jsonb -> 'counted') IS DISTINCT FROM 'false'::jsonb
GROUP BY 1, 2
"""
