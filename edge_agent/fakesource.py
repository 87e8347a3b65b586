"""A source without a broker: given or simulated network-server messages into the ingest loop.

The fake lives next to the real adapter (:mod:`edge_agent.mqtt`), as gpiozero ships its
``MockFactory``: for newcomers at a Python shell, for unit tests, and for ``a2d edge run --fake``.
It behaves like a broker subscription where the loop can tell: messages arrive on a socket the
loop selects on, each is acknowledged only after the ingest committed it, and when the ingest
asks for a redelivery (after a full disk) the messages it left unacknowledged come again.

From a Python shell (a real agent on a real store, no broker)::

    from edge_agent import config
    from edge_agent.agent import Agent
    from edge_agent.fakesource import FakeSource, with_devices

    src = FakeSource()
    cfg = config.parse({"device": {"id": "edge-try", "data_dir": "/tmp/a2d-try"}, "api": {"enabled": False}})
    agent = Agent(with_devices(cfg, src), [src])   # the simulated devices' codecs added to the config
    agent.start()
    src.simulate(6)[-1].result(5)       # six simulated uplinks; wait until the last is committed
    src.feed(topic, payload).result(5)  # or a message of your own (bytes, or a dict sent as JSON)
    agent.stop()                        # then: a2d edge events --config ... shows them

A future from :meth:`FakeSource.feed` is done once its message is committed (QoS 1), or once it
was handed to the ingest (QoS 0, as nothing acknowledges those); it is cancelled if the source
closes first.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

# the developer tools' simulated devices: a fake source stands in for a network server, so it
# speaks their uplinks (the one exception the import contracts make for the agent)
from devtools.uplinks import SimDevice, chirpstack_up, make_devices, tts_up

from .config import DEFAULT_TOPICS, Device, EdgeConfig
from .ingest import Attachable, Inbound, SourceState

log = logging.getLogger(__name__)

Message = tuple[str, bytes]


def simulated_uplinks(devices: list[SimDevice], kind: str = "chirpstack") -> Iterator[Message]:
    """Uplinks of ``devices`` in turn, without end, each built and time-stamped when taken.

    The payload bytes are the real devices' (a WS101 button, an LSE01 soil sensor, a VS133 people
    counter); ids and frame counters are fresh each run, so a restarted run stores its uplinks
    too instead of taking them for redeliveries.
    """
    build = chirpstack_up if kind == "chirpstack" else tts_up
    rng = random.Random()
    for dev in devices:
        dev.f_cnt = rng.randrange(1 << 16)
    for dev in itertools.cycle(devices):
        at = datetime.now(UTC)
        message = build(dev, dev.payload(at), at, rng)
        dev.f_cnt += 1
        yield message


def with_devices(config: EdgeConfig, source: FakeSource) -> EdgeConfig:
    """``config`` with ``[[devices]]`` entries for the source's simulated devices (those it lacks)."""
    return dataclasses.replace(config, devices={**source.devices, **config.devices})


class FakeSource(Attachable):
    """A :class:`edge_agent.ingest.Source` fed from Python instead of a broker.

    ``kind`` chooses the parser (``chirpstack`` or ``tts``); ``qos`` 1 means acknowledged after the
    commit. ``every`` > 0 streams the simulated uplinks, one each ``every`` seconds (the first
    round, one per device, at once), as ``a2d edge run --fake`` does.
    """

    def __init__(
        self,
        name: str = "fake",
        kind: str = "chirpstack",
        *,
        qos: int = 1,
        simulated: int = 3,
        every: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if kind not in DEFAULT_TOPICS:
            raise ValueError(f"kind must be one of {', '.join(DEFAULT_TOPICS)}, not {kind!r}")
        super().__init__()
        self.name = name
        self.kind = kind
        self.qos = qos
        self.every = every
        self.clock = clock
        self.simulated_devices = make_devices(simulated)
        self._uplinks = simulated_uplinks(self.simulated_devices, kind)
        self._next_at: float | None = None
        self.connected = False
        self.received = 0  #: messages handed to the ingest (a redelivery counts again)
        self.acknowledged = 0
        self._lock = threading.Lock()
        self._inbox: deque[tuple[int, str, bytes]] = deque()
        self._futures: dict[int, Future[None]] = {}
        self._delivered: dict[int, tuple[str, bytes]] = {}  # handed out, not yet acknowledged
        self._acks: list[int] = []
        self._redeliver = False
        self._mids = itertools.count(1)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._closed = False

    # any thread ------------------------------------------------------------------------------
    @property
    def devices(self) -> dict[str, Device]:
        """``[[devices]]`` entries for the simulated devices (their codecs), to add to a config."""
        return {d.dev_eui: Device(d.dev_eui, d.codec, d.name) for d in self.simulated_devices}

    def feed(self, topic: str, payload: bytes | Mapping[str, Any]) -> Future[None]:
        """Queue one message as the network server would publish it; see the module's docstring."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        future: Future[None] = Future()
        with self._lock:
            if self._closed:
                future.cancel()
                return future
            mid = next(self._mids)
            self._futures[mid] = future
            self._inbox.append((mid, topic, body))
        self._wake()
        return future

    def simulate(self, count: int = 1) -> list[Future[None]]:
        """Queue the next ``count`` simulated uplinks; their futures, in order."""
        return [self.feed(*next(self._uplinks)) for _ in range(count)]

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # the buffer is full (the loop is woken anyway), or the source is closed
            pass

    # driven by the ingest loop, on its thread ------------------------------------------------
    @property
    def state(self) -> SourceState:
        return SourceState(self.name, self.kind, "fake", DEFAULT_TOPICS[self.kind], self.qos)

    def fileno(self) -> int | None:
        return self._wake_r.fileno() if self.connected else None

    def wants_write(self) -> bool:
        return False

    def connect_if_due(self) -> None:
        if self.connected or self._closed:
            return
        self.connected = True
        self.on_state(self.name, True, None)
        log.info("source %s: a fake %s source (no broker), QoS %d", self.name, self.kind, self.qos)
        if self.every > 0:
            self.simulate(len(self.simulated_devices))
            self._next_at = self.clock() + self.every

    def read(self, limit: int) -> int:
        if not self.attached:
            raise RuntimeError("this FakeSource is not attached to an ingest loop")
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:  # drained (BlockingIOError)
            pass
        with self._lock:
            taken = [self._inbox.popleft() for _ in range(min(limit, len(self._inbox)))]
            more = bool(self._inbox)
        for mid, topic, payload in taken:
            self.received += 1
            if self.qos > 0:
                self._delivered[mid] = (topic, payload)
            self.sink(Inbound(self.name, self.kind, topic, payload, mid, self.qos, self, 0))
            if self.qos == 0:
                self._settle(mid)
        if more:
            self._wake()  # the rest next turn
        return len(taken)

    def write(self) -> None:
        pass

    def ack(self, mid: int, qos: int, conn: int) -> None:
        """The ingest committed message ``mid``; :meth:`send_acks` acknowledges it."""
        if qos > 0:
            self._acks.append(mid)

    def redeliver(self) -> None:
        """After the next acknowledgements, send again what was handed out and never acknowledged."""
        self._redeliver = True

    def send_acks(self) -> None:
        acks, self._acks = self._acks, []
        for mid in acks:
            if self._delivered.pop(mid, None) is not None:
                self.acknowledged += 1
                self._settle(mid)
        if self._redeliver:
            self._redeliver = False
            again = sorted(self._delivered.items(), reverse=True)
            self._delivered.clear()
            with self._lock:
                self._inbox.extendleft((mid, topic, payload) for mid, (topic, payload) in again)
            if again:
                log.info("source %s: sending %d unacknowledged message(s) again", self.name, len(again))
                self._wake()

    def tick(self) -> None:
        """Stream the next simulated uplink when it is due."""
        if self._next_at is None or self.clock() < self._next_at:
            return
        self.simulate()
        self._next_at += self.every

    def close(self) -> None:
        """Stop: what was not acknowledged yet is cancelled (a real broker would keep it)."""
        with self._lock:
            self._closed = True
            pending, self._futures = self._futures, {}
            self._inbox.clear()
        for future in pending.values():
            future.cancel()
        self.connected = False
        self._wake_r.close()
        self._wake_w.close()

    def _settle(self, mid: int) -> None:
        with self._lock:
            future = self._futures.pop(mid, None)
        if future is not None and future.set_running_or_notify_cancel():
            future.set_result(None)
