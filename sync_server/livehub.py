"""What every device's live stream is fed from: one look at the database a second, shared.

Questions are started by other processes too (``a2d server poll live`` writes straight into the
database), so the server cannot wait to be told. While at least one device listens, :class:`LiveHub`
reads the open questions and the tallies of the polls its listeners care about once every
``every_s`` (two small indexed reads, whatever the number of listeners); when that differs from the
last read, its version goes up and every stream wakes and sends its device what changed for it.
A question closing by its time is such a change too: it drops out of the read. The same read
takes the help calls staff closed on the console whose agents have not closed them yet
(:func:`.helpcalls.closed_on_server`): each device's stream names its own.

The hub bounds the streams: :data:`PER_DEVICE` per device (a second one while the first has not yet
noticed its connection is gone), and ``max_streams`` overall (half of ``server.max_connections``,
since each open stream holds one of uvicorn's request slots). It is closed first when the server
shuts down, so that open streams end at once instead of holding the shutdown up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from starlette.concurrency import run_in_threadpool

from a2d import livewire
from a2d.livewire import LiveError, LiveQuestion, Snapshot, Town
from a2d.logs import Once

from . import helpcalls
from .db import Database, DatabaseError

log = logging.getLogger(__name__)

#: streams one device may hold at once
PER_DEVICE = 2
#: pack polls one stream may ask the town-wide totals of (``?polls=``), and all streams together
MAX_POLLS_PER_STREAM = 20
MAX_POLLS = 500


class StreamRefused(Exception):
    """No stream for this request: ``status`` (429 per device, 503 overall) and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class State:
    """One read of the database: the open questions and the tallies, numbered."""

    version: int
    questions: tuple[LiveQuestion, ...]
    tallies: dict[str, dict[str, int]]
    at: str
    #: per device, its help requests closed on the console that its agent has not closed yet
    help_closed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def snapshot(self, site: str, polls: Iterable[str], device: str = "") -> Snapshot:
        """What ``device`` at ``site`` that asked about ``polls`` is sent."""
        mine = tuple(q for q in self.questions if q.for_site(site))[: livewire.MAX_QUESTIONS]
        town: dict[str, Town] = {}
        for q in mine:
            counts = {a: self.tallies.get(q.id, {}).get(a, 0) for a in q.answer_ids()}
            town[q.id] = Town(counts, sum(counts.values()), self.at)
        for poll in polls:
            if poll not in town and poll in self.tallies:
                counts = dict(self.tallies[poll])
                town[poll] = Town(counts, sum(counts.values()), self.at)
        return Snapshot(mine, town, self.at, self.help_closed.get(device, ()))


class LiveHub:
    """See the module docstring. :meth:`run` is the reading task; :meth:`stream` one device's feed."""

    def __init__(self, db: Database, *, every_s: float = 1.0, max_streams: int = 500) -> None:
        self.db = db
        self.every_s = every_s
        self.max_streams = max_streams
        self.closed = False
        self._state = State(0, (), {}, livewire.stamp(datetime.now(UTC)))
        self._key: object = None
        self._changed = asyncio.Event()
        self._listening = asyncio.Event()
        self._per_device: Counter[str] = Counter()
        self._polls: Counter[str] = Counter()
        self._once = Once(log)
        self._read_lock = asyncio.Lock()

    @property
    def streams(self) -> int:
        return sum(self._per_device.values())

    @property
    def state(self) -> State:
        return self._state

    def close(self) -> None:
        """End every stream now (their next wake sees ``closed``) and stop reading."""
        self.closed = True
        self._changed.set()
        self._listening.set()

    async def run(self) -> None:
        """Read while someone listens; sleep otherwise. Ends when the hub is closed."""
        while not self.closed:
            if not self._per_device:
                self._listening.clear()
                await self._listening.wait()
                continue
            await self.refresh()
            await asyncio.sleep(self.every_s)

    async def refresh(self) -> None:
        """Read the database now; wake the streams if anything changed."""
        async with self._read_lock:
            try:
                questions, tallies, at, closed = await run_in_threadpool(self._read, list(self._polls))
            except DatabaseError as exc:
                self._once.failed("read", "live questions: cannot read the database (%s); streams wait", exc)
                return
            self._once.recovered("read", "live questions: the database reads again")
            key = orjson.dumps(
                [[q.as_json() for q in questions], tallies, closed], option=orjson.OPT_SORT_KEYS
            )
            if key == self._key:
                return
            self._key = key
            self._state = State(self._state.version + 1, questions, tallies, at, closed)
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    def _read(
        self, polls: list[str]
    ) -> tuple[tuple[LiveQuestion, ...], dict[str, dict[str, int]], str, dict[str, tuple[str, ...]]]:
        at = livewire.stamp(datetime.now(UTC))
        questions = []
        for row in self.db.live_questions(at, limit=200):
            try:
                questions.append(LiveQuestion.from_json(row.as_json()))
            except LiveError as exc:  # stored by hand or by a newer a2d: not sent, said once
                self._once.failed(f"bad:{row.id}", "live question %s cannot be sent: %s", row.id, exc)
        tallies = self.db.poll_tallies([q.id for q in questions] + polls)
        return tuple(questions), tallies, at, helpcalls.closed_on_server(self.db)

    def check(self, device_id: str) -> None:
        """:class:`StreamRefused` if ``device_id`` would get no stream now (nothing is taken)."""
        if self.closed:
            raise StreamRefused(503, "the server is shutting down")
        if self._per_device[device_id] >= PER_DEVICE:
            raise StreamRefused(429, f"this device holds {PER_DEVICE} live streams already")
        if self.streams >= self.max_streams:
            self._once.failed(
                "full", "live streams: %d open, the most allowed; refusing new ones", self.max_streams
            )
            raise StreamRefused(503, "the server holds as many live streams as it may; try again later")

    @contextlib.asynccontextmanager
    async def listener(self, device_id: str, polls: list[str]) -> AsyncIterator[None]:
        """Hold a stream slot for ``device_id`` (:class:`StreamRefused` when there is none)."""
        self.check(device_id)
        polls = polls[:MAX_POLLS_PER_STREAM] if len(self._polls) < MAX_POLLS else []
        self._per_device[device_id] += 1
        self._polls.update(polls)
        first = len(self._per_device) == 1 and self._per_device[device_id] == 1
        try:
            if first or any(p not in self._state.tallies for p in polls):
                await self.refresh()  # the hub was asleep, or these polls are new to it
            self._listening.set()
            yield
        finally:
            self._per_device[device_id] -= 1
            if self._per_device[device_id] <= 0:
                del self._per_device[device_id]
            self._polls.subtract(polls)
            self._polls += Counter()  # drop the polls nobody asks about any more
            if self.streams < self.max_streams:
                self._once.recovered("full", "live streams: below the cap again")

    async def wait(self, version: int, timeout: float) -> bool:
        """Wait until the state is newer than ``version`` (True) or ``timeout`` passed (False)."""
        if self._state.version != version or self.closed:
            return True
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except TimeoutError:
            return False
        return True
