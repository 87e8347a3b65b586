"""The wall's reads from its edge agent, every ``wall.poll_s`` seconds, on a thread of their own.

Each round takes the open live questions the kiosk's agent client keeps (it asks the agent's
``GET /v1/live`` every few seconds on its own thread) and asks, for every current question, its results (``GET /v1/polls/{id}/results``: this site's counts and the town's); the
forecast only every :data:`FORECAST_S` (it changes once an hour). One round of a wall with four
questions is five small GETs every 2 s, well inside the agent's rate limit for one token (a burst
of 30, then 5 a second; more than :data:`MAX_RESULTS_PER_ROUND` questions are read in turns). A
:class:`Snapshot` that differs from the last one is handed to
``on_change``; an unchanged agent costs the screen nothing.

While the agent is unreachable the last answers stay (the header says since when), and the failure
is logged once, not every round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol

from a2d.contentpack import ContentPack
from a2d.livewire import LiveQuestion
from a2d.logs import Once

from .questions import Question, current, current_polls, from_live

log = logging.getLogger(__name__)

THREAD_NAME = "a2d-wall-feed"
FORECAST_S = 60.0
#: results read per round at most: with the live read, 9 GETs in 2 s stay under the agent's 5 a
#: second for one token; a wall with more questions reads them in turns (each within a few rounds)
MAX_RESULTS_PER_ROUND = 8


class WallSource(Protocol):
    """What the wall asks of its agent: :class:`kiosk.client.AgentClient` (HTTP) and
    :class:`kiosk.fakeagent.FakeAgent` (in memory) both answer it."""

    @property
    def online(self) -> bool: ...

    def content(self) -> ContentPack | None: ...

    def forecast(self) -> dict[str, Any] | None: ...

    def live(self) -> list[LiveQuestion]:
        """The live questions open now (the client keeps the last ones while the agent is away)."""
        ...

    def results_doc(self, poll_id: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Snapshot:
    """What the agent said in one round; equal snapshots draw the same wall."""

    pack: ContentPack | None = None
    questions: tuple[Question, ...] = ()
    results: Mapping[str, dict[str, Any] | None] = field(default_factory=dict)
    forecast: dict[str, Any] | None = None
    online: bool = False
    #: local time of the agent's last answer (the header's "Stand"), None: never
    at: datetime | None = None

    def same(self, other: Snapshot) -> bool:
        """Equal but for the time of the last answer to the minute (the header shows minutes)."""
        return replace(self, at=None) == replace(other, at=None) and _minute(self.at) == _minute(other.at)


def _minute(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at is not None else ""


class Feed:
    """Reads the agent (:meth:`read` once, or :meth:`start` a thread that reads every ``poll_s``)."""

    def __init__(
        self,
        agent: WallSource,
        *,
        poll_s: float = 2.0,
        now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.agent = agent
        self.poll_s = poll_s
        self._now = now
        self._clock = clock
        self._once = Once(log)
        self._last = Snapshot()
        self._next_forecast = 0.0
        self._offset = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    @property
    def last(self) -> Snapshot:
        return self._last

    def read(self) -> Snapshot:
        """One round: the agent's answers, with the last known ones where it gave none."""
        last, agent = self._last, self.agent
        pack = agent.content()
        live = [from_live(q) for q in agent.live()]
        today: date = self._now().date()
        questions = tuple(current(live, current_polls(pack, today)))
        results: dict[str, dict[str, Any] | None] = {q.id: last.results.get(q.id) for q in questions}
        for q in self._turn(questions):
            doc = agent.results_doc(q.id)
            if doc is not None:
                results[q.id] = doc
        forecast = last.forecast
        if self._clock() >= self._next_forecast:
            forecast = agent.forecast() or forecast
            self._next_forecast = self._clock() + FORECAST_S
        online = agent.online
        if online:
            self._once.recovered("agent", "the wall reads its edge agent again")
        else:
            self._once.failed(
                "agent", "the wall cannot read its edge agent; it shows the last numbers it had"
            )
        at = self._now() if online else last.at
        self._last = Snapshot(pack, questions, results, forecast, online, at)
        self.rounds += 1
        return self._last

    def _turn(self, questions: tuple[Question, ...]) -> tuple[Question, ...]:
        """The questions whose results this round reads: all of them, or the next
        :data:`MAX_RESULTS_PER_ROUND` in turn when there are more."""
        if len(questions) <= MAX_RESULTS_PER_ROUND:
            return questions
        start = self._offset % len(questions)
        self._offset = start + MAX_RESULTS_PER_ROUND
        return (questions + questions)[start : start + MAX_RESULTS_PER_ROUND]

    def start(self, on_change: Callable[[Snapshot], None]) -> None:
        """Read every ``poll_s`` on a thread; ``on_change`` (on that thread) gets each new snapshot."""
        if self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            shown = self._last
            while not self._stop.is_set():
                started = self._clock()
                try:
                    snap = self.read()
                except Exception as exc:  # noqa: BLE001 - a bad answer must not end the wall's reads
                    self._once.failed("round", "the wall's read of its agent failed: %r", exc)
                else:
                    self._once.recovered("round", "the wall's reads work again")
                    if not snap.same(shown):
                        shown = snap
                        on_change(snap)
                self._stop.wait(max(0.0, self.poll_s - (self._clock() - started)))

        self._thread = threading.Thread(target=run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
