"""Finding the record that makes the server fail: the sync client's answer to a batch that keeps
getting a 5xx.

A server that is down (no connection, a timeout, 502/503/504 from it or a proxy) is no reason to
set anything aside: the client backs off and sends the same batch again. But a batch that gets
another 5xx (a 500: the server failed on something in it) :data:`STRIKES` times in a row is
split in halves, and each half sent on its own; a half that goes through is acknowledged (the
cursor moves over it), one that fails is split again, down to single records. A record that
still fails alone, :data:`STRIKES` times, is set aside with its reason (the HTTP status and the
server's ``detail``) **only once another record went through** in the meantime: that proves the
server works and this record is what it cannot take. Until then it blocks its stream as before
(the records behind it are sent to find such a witness; they are stored by the server, and the
cursor moves over them only after the blocked record is set aside). If no other record goes
through, or more than :data:`MAX_BLOCKED` records fail alone in a row, the server is failing as a
whole: :class:`StillFailing`, and the stream backs off.

Everything here is in order and at least once: the cursor moves only over records acknowledged
or set aside, and a record the server took may be sent again (it stores it once).

``isolate`` is pure logic over callables, so that tests can drive it without a server.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .outbox import Pending

#: 5xx answers to the same batch (or the same record alone) before it is split (or set aside)
STRIKES = 3
#: records failing alone, with no other record going through, before the server counts as failing
MAX_BLOCKED = 3
#: answers that say the server is away or overloaded, not that a record is bad
SERVER_AWAY = frozenset({502, 503, 504})
#: answers that refuse a record as malformed or too large: it is set aside at once (one by one)
REFUSED = frozenset({400, 413, 422})


@dataclass(frozen=True)
class Answer:
    """The server's answer to one upload: its status, how many records of the batch it
    acknowledged, its ``detail`` (cleaned, short), and whether it asked to come back later."""

    status: int
    acked: int = 0
    detail: str = ""
    retry_after: bool = False

    def took(self, batch: Sequence[Pending]) -> bool:
        return self.status == 200 and self.acked >= len(batch)

    @property
    def suspect(self) -> bool:
        """A server error that something in the batch may have caused (not a server away)."""
        return self.status >= 500 and self.status not in SERVER_AWAY and not self.retry_after

    @property
    def reason(self) -> str:
        return f"HTTP {self.status}: {self.detail}" if self.detail else f"HTTP {self.status}"


class StillFailing(Exception):
    """The batch could not be settled now; the text says why. The stream backs off."""


class ServerAway(Exception):
    """An answer that is not about the records (server away, token refused): the caller's to handle."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.reason)
        self.answer = answer


@dataclass
class Isolation:
    """The callables ``isolate`` works with, all in the sync thread.

    ``post(records)`` uploads and answers (raising the caller's own error when there is no answer);
    ``acked(records)`` moves the cursor over records the server acknowledged; ``set_aside(record,
    reason)`` puts one into ``sync_refused``; ``one_by_one(records)`` handles a refused (4xx) part
    and returns how many went through; ``more(after)`` reads the pending records behind an event id;
    ``pause(seconds)`` waits between the tries of one record alone and returns True to stop.
    """

    post: Callable[[list[Pending]], Answer]
    acked: Callable[[list[Pending]], None]
    set_aside: Callable[[Pending, str], None]
    one_by_one: Callable[[list[Pending]], int]
    more: Callable[[int], list[Pending]]
    pause: Callable[[float], bool]


def isolate(batch: list[Pending], io: Isolation) -> int:
    """Split ``batch`` (which got :data:`STRIKES` suspect answers) until every part is taken or
    is one record failing alone; returns how many records the server acknowledged."""
    parts: deque[list[Pending]] = deque([batch])
    blocked: list[tuple[Pending, str]] = []  # failing alone, waiting for another record to go through
    looked_behind = False
    sent = 0
    while parts:
        part = parts.popleft()
        answer = io.post(part)
        if answer.suspect and len(part) == 1:
            answer = _alone(part, answer, io)
        if answer.took(part) or answer.status in REFUSED:
            for record, reason in blocked:  # the server works: what failed alone is the record's fault
                io.set_aside(record, reason)
            blocked.clear()
            if answer.took(part):
                io.acked(part)
                sent += len(part)
            else:
                sent += io.one_by_one(part)
        elif not answer.suspect:
            raise ServerAway(answer)
        elif len(part) > 1:
            half = len(part) // 2
            parts.extendleft((part[half:], part[:half]))
        else:
            blocked.append((part[0], answer.reason))
            if len(blocked) > MAX_BLOCKED:
                raise StillFailing(
                    f"{len(blocked)} records in a row fail alone and none goes through: {answer.reason}"
                )
        if not parts and blocked and not looked_behind:
            looked_behind = True
            parts.extend(p for p in [io.more(batch[-1].event_id)] if p)
    if blocked:
        record, reason = blocked[0]
        raise StillFailing(
            f"event {record.event_id} fails alone ({reason}); no other record went through yet"
        )
    return sent


def _alone(part: list[Pending], answer: Answer, io: Isolation) -> Answer:
    """Send one record alone again while it gets suspect answers, :data:`STRIKES` tries in all."""
    for strike in range(1, STRIKES):
        if not answer.suspect:
            break
        if io.pause(0.5 * strike):
            raise StillFailing("stopping")
        answer = io.post(part)
    return answer
