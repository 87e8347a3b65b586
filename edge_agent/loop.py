"""The ingest loop: one thread that owns its sources' sockets (MQTT) and the SQLite write connection.

Each turn it waits on every source's socket, reads what has arrived (parsing and decoding each
message as it comes), commits the batch once the sockets are drained or ``batch_max`` is
reached, and then sends the PUBACKs. Keeping all of this on one thread avoids handing every
message and every acknowledgement across threads, which costs more than the work itself.

Every ``check_s`` it starts a housekeeping pass (retention, size caps, giving space back) and runs
it one short step per turn. While the disk is full it keeps reading (keep-alive pings and their
answers go on) but commits and acknowledges nothing; it looks again every ``store.full_check_s``.

The loop is given its sources (:class:`edge_agent.ingest.Source`: MQTT subscriptions, or a fake);
it does not build them. Other threads write through :meth:`IngestLoop.call`, whose queue is
:class:`a2d.sqlwriter.Jobs`: the loop runs the queued jobs once a turn, between two reads.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TypeVar

from a2d.sqlwriter import Jobs

from .housekeeping import Housekeeper
from .ingest import Ingest, Source

log = logging.getLogger(__name__)


T = TypeVar("T")


class IngestLoop:
    HEARTBEAT_SECONDS = 5.0

    def __init__(
        self,
        ingest: Ingest,
        sources: Sequence[Source],
        batch_max: int = 1000,
        housekeeper: Housekeeper | None = None,
        check_s: float = 300.0,
    ) -> None:
        self.ingest = ingest
        self.sources = list(sources)
        self.batch_max = batch_max
        self.housekeeper = housekeeper
        self.check_s = check_s
        for src in self.sources:
            src.attach(ingest.add, ingest.set_connected)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._calls = Jobs(wake=self._wake)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        #: time.monotonic() of the loop's last turn (it turns at least once a second)
        self.last_turn = time.monotonic()

    # any thread -----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="a2d-ingest", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Commit and acknowledge what has been read, disconnect, end the thread."""
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._wake_r.close()
        self._wake_w.close()

    def call(self, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` on the loop's thread (the only thread that may write the database).

        The returned future holds its result, or its exception; it is cancelled if the loop
        stops first.
        """
        future = self._calls.submit(fn)
        if not self.alive:
            future.cancel()
        return future

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass

    # the loop's thread ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # the agent's main thread reports it and exits non-zero
            self.error = exc
            log.exception("the ingest loop failed")
        finally:
            self._shutdown()

    def _loop(self) -> None:
        ingest = self.ingest
        next_beat = time.monotonic()
        next_check = time.monotonic()
        while not self._stopping.is_set():
            self.last_turn = time.monotonic()
            for src in self.sources:
                src.connect_if_due()
            readers: dict[int, Source] = {}
            for src in self.sources:
                fd = src.fileno()
                if fd is not None:
                    readers[fd] = src
            writers = [fd for fd, src in readers.items() if src.wants_write()]
            busy = (ingest.pending and not ingest.full) or (self.housekeeper and self.housekeeper.busy)
            timeout = 0.0 if busy else 1.0
            # while full, read on anyway: ingest holds up to its limit and leaves the rest with the broker
            limit = self.batch_max if ingest.full else self.batch_max - ingest.pending
            wake = self._wake_r.fileno()
            r, w, _ = select.select([*readers, wake], writers, [], timeout)
            for fd in w:
                if fd in readers:
                    readers[fd].write()
            arrived = 0
            for fd in r:
                if fd == wake:
                    self._drain_wake()
                elif fd in readers:
                    arrived += readers[fd].read(limit)
            if ingest.pending and (arrived == 0 or ingest.pending >= self.batch_max):
                self._flush()
            self._calls.run_pending()
            for src in self.sources:
                src.tick()
            now = time.monotonic()
            if now >= next_beat:
                ingest.heartbeat()
                next_beat = now + self.HEARTBEAT_SECONDS
            ingest.tick()
            if self.housekeeper is not None:
                if now >= next_check:
                    self.housekeeper.start()
                    next_check = now + self.check_s
                self.housekeeper.step()

    def _flush(self) -> None:
        self.ingest.flush()
        for src in self.sources:
            src.send_acks()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _shutdown(self) -> None:
        try:
            self._flush()
            self._calls.close()  # calls from now on are cancelled; those queued run now
            self._calls.run_pending()
        finally:
            for src in self.sources:
                src.close()
