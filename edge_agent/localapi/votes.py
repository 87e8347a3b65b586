"""Kiosk votes: stored as events so they reach the sync server like every other event.

A vote is one row of ``events`` with source ``kiosk``, kind ``vote``, stream ``feedback`` and
the key ``vote:<id>`` (the kiosk's UUID), so a vote sent again is stored once. ``decoded`` holds
the vote's fields (kiosk, poll, choice, time, language) and nothing about the citizen;
``device_name`` names the kiosk. Like a press on a feedback button, a vote carries one canonical
``button_press`` measurement whose channel is ``<poll_id>:<choice>``, so the server's open-data
feedback tallies count kiosk answers per poll and choice. The ``feedback`` stream is never
thinned by the full-disk policy.
"""

from __future__ import annotations

import json
import sqlite3

from a2d.localapi import Vote

from .. import eventrow
from ..eventrow import EventRow

SOURCE = "kiosk"
KIND = "vote"
STREAM = "feedback"

#: kiosk votes and the votes of mapped feedback buttons (source ``button``, see
#: :mod:`edge_agent.buttonvotes`); only counted ones (a button's presses inside its cooldown are not)
_COUNTS = (
    "SELECT json_extract(decoded, '$.choice'), COUNT(*) FROM events"
    " WHERE stream = ? AND source IN ('kiosk', 'button') AND kind = ? AND counted = 1"
    " AND json_extract(decoded, '$.poll_id') = ? GROUP BY 1 ORDER BY 1"
)


def key(vote_id: str) -> str:
    return f"vote:{vote_id}"


def channel(vote: Vote) -> str:
    """The answer as the open-data tallies name it: poll and choice."""
    return f"{vote.poll_id}:{vote.choice}"


def store(db: sqlite3.Connection, vote: Vote, now: str) -> bool:
    """Insert ``vote`` (on the writer thread, inside its transaction); ``False`` if it was there."""
    row = EventRow(
        id=None,
        key=key(vote.id),
        source=SOURCE,
        kind=KIND,
        stream=STREAM,
        dev_eui=None,
        device_name=vote.kiosk_id,
        application=None,
        received_at=now,
        stored_at=now,
        f_cnt=None,
        f_port=None,
        codec=None,
        decoded=json.dumps(vote.as_json(), ensure_ascii=False, separators=(",", ":")),
        decode_errors="[]",
        measurements=json.dumps(
            [{"quantity": "button_press", "value": 1, "unit": "count", "channel": channel(vote)}],
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        raw=None,
        meta="{}",
    )
    return db.execute(eventrow.INSERT, row.params()).rowcount == 1


def counts(db: sqlite3.Connection, poll_id: str) -> dict[str, int]:
    """Counted votes per choice of one poll, as stored on this device: the kiosks' and the feedback
    buttons' (a press inside its button's cooldown is kept but not counted)."""
    return {str(choice): int(n) for choice, n in db.execute(_COUNTS, (STREAM, KIND, poll_id))}
