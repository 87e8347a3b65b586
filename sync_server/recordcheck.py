"""What a record must be before the database sees it, so that a refusal can name the record.

A record the server cannot store is refused before the insert with a 4xx whose detail names it
(``records[3] (record_id 'cs:up:5f1c...'): ...``), instead of failing the whole batch deep in the
database with a 500 that the device would retry forever:

* its stream is one of :data:`a2d.syncwire.STREAMS` (each has a retention promise);
* its ``ts`` is an ISO 8601 time; it is stored in the one UTC form (``2026-06-02T08:15:31.412883Z``),
  so that retention can compare times as text;
* its payload holds no NUL character (``\\u0000`` in the JSON text): PostgreSQL's text and jsonb
  refuse it.

The checks cost little on the upload's hot path (the upload loop makes them in line): a search for
a backslash (``memchr``; a payload without one has no escape at all), and for the time the match
of the form the edge writes, its hour checked against the calendar once. The nesting of a payload
is bounded by the JSON readers and writer (see :data:`a2d.syncwire.MAX_PAYLOAD_DEPTH`): counting
brackets on every record would cost the upload more than all the other checks together.
"""

from __future__ import annotations

import re

from a2d import syncwire, timeutil


class RecordRefused(Exception):
    """One record of a batch cannot be stored: ``detail`` names it and says why; ``status`` is the
    answer's HTTP status (422, or 400 for a payload nested too deep, which is a malformed body)."""

    def __init__(self, index: int | None, record_id: str, reason: str, status: int = 422) -> None:
        # index None: no single record is to blame, the refusal is the batch's
        self.detail = (
            reason if index is None else f"records[{index}] (record_id {record_id!r:.120}): {reason}"
        )
        self.status = status
        super().__init__(self.detail)


#: the form the edge writes; anything else goes through timeutil.normalise
_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z")
#: an escaped NUL in JSON text: ``\u0000`` after an even number of backslashes
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_STREAMS = frozenset(syncwire.STREAMS)


#: ``2026-06-02T08`` -> ``2026-06-02T08:00:00Z`` for the hours seen so far, each checked against
#: the calendar once (02-30 and hour 24 never get in); emptied when it grows large
HOURS: dict[str, str] = {}
#: the tests the upload loop makes itself, in line, before it calls :func:`check` (see there)
CANONICAL = _CANONICAL.fullmatch
STREAMS = _STREAMS


def _real_hour(prefix: str) -> bool:
    """Whether ``2026-06-02T08`` is an hour of the calendar; the known ones go into :data:`HOURS`."""
    if prefix in HOURS:
        return True
    try:
        timeutil.parse(f"{prefix}:00:00Z")
    except ValueError:
        return False
    if len(HOURS) > 100_000:
        HOURS.clear()
    HOURS[prefix] = f"{prefix}:00:00Z"
    return True


def event_time(ts: str) -> str:
    """``ts`` in the one UTC form; ``ValueError`` if it is no ISO 8601 time."""
    if _CANONICAL.fullmatch(ts) and _real_hour(ts[:13]):
        return ts
    return timeutil.normalise(ts)


def has_nul(text: str) -> bool:
    """Whether JSON text holds a NUL character (written ``\\u0000``, the only way JSON can)."""
    return "\\u0000" in text and _NUL.search(text) is not None


def check(index: int, record: syncwire.Record, payload: str) -> str:
    """Refuse the record (:class:`RecordRefused`) unless it can be stored; returns its time in UTC.

    The upload loop calls this only when a quicker, stricter test in line fails (a time not in
    the one form or of an hour not in :data:`HOURS`, an unknown stream, a backslash in the payload);
    here each is looked at precisely, and worded.
    """
    if record.stream not in _STREAMS:
        raise RecordRefused(
            index,
            record.record_id,
            f"unknown stream {record.stream!r:.60} (known: {', '.join(syncwire.STREAMS)})",
        )
    try:
        ts = event_time(record.ts)
    except ValueError:
        raise RecordRefused(
            index, record.record_id, f"ts {record.ts!r:.60} is not an ISO 8601 time"
        ) from None
    if has_nul(payload):
        raise RecordRefused(index, record.record_id, "the payload holds a NUL character (\\u0000)")
    return ts


def deep_reason() -> str:
    return f"the payload nests deeper than the {syncwire.MAX_PAYLOAD_DEPTH} levels the server's JSON writer takes"
