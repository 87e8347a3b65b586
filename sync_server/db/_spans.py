"""Spans of late records: how retention finds records whose event is old although they arrived lately,
without an index written with every record.

Retention counts from a record's event time (``ts``). Most records arrive within minutes of their
event, in the order of their arrival numbers (rowid / seq): for those the binary search over the
arrival order that ``prune_records`` does is enough (at most :data:`LATE` later than their event
time would want). A record uploaded more than :data:`LATE` after its event (a device catching up
after an outage) is *late*: for each stream of an upload that holds late records the backend notes
one span ``(stream, first arrival, last arrival, min ts, max ts)`` in ``record_spans``, in the
transaction of the insert. Pruning reads the spans whose ``min_ts`` lies before the cutoff and
deletes inside their arrival range only; a span whose ``max_ts`` is before the cutoff goes too.

One row per late upload and stream instead of one index entry per record: an upload on time
costs nothing, a catch-up of 5000 records one small insert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from operator import itemgetter

from a2d import timeutil

#: a record that arrives this long after its event time is late (and gets into a span)
LATE = timedelta(hours=1)

_STREAM, _TS, _RECEIVED = itemgetter(2), itemgetter(3), itemgetter(5)


def late(rows: Sequence[tuple[str, str, str, str, str, str]]) -> list[tuple[str, str, str]]:
    """``(stream, min ts, max ts)`` of each stream of ``rows`` (:data:`RecordRow`) holding a late record.

    An upload is one stream at one ``received_at`` (the edge uploads stream by stream), so the
    common case takes two passes in C and no Python loop over the rows.
    """
    if not rows:
        return []
    if len(set(map(_STREAM, rows))) == 1:
        groups: dict[str, Sequence[tuple[str, str, str, str, str, str]]] = {rows[0][2]: rows}
    else:
        groups = {}
        for row in rows:
            groups.setdefault(row[2], []).append(row)  # type: ignore[attr-defined]
    out = []
    for stream, part in groups.items():
        times = list(map(_TS, part))
        low = min(times)
        if low < _late_before(min(map(_RECEIVED, part))):
            out.append((stream, low, max(times)))
    return out


def _late_before(received_at: str) -> str:
    """Event times before this are late for a record received at ``received_at``."""
    try:
        return timeutil.iso(timeutil.parse(received_at) - LATE)
    except (ValueError, OverflowError):
        return "9999"  # an arrival time we cannot read: count the records as late, to be safe
