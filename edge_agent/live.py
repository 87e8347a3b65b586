"""The agent's end of the server's live stream: one connection, kept open, reconnected with back-off.

The agent opens no port for the server: it keeps one ``GET /api/v1/devices/{id}/live`` open (a
server-sent-events stream, see docs/sync-api.md) and stores what arrives (:mod:`.livestore`),
so that kiosks read live questions from the agent's own file (``GET /v1/live``), offline too.
The snapshot also names this device's help requests that staff closed on the server's console:
they are closed here in the same transaction (:func:`.localapi.helpdesk.close_from_server`).

The stream ends normally after a few minutes (the server closes it; we connect again at once),
or it breaks: no answer, a refused token, a restart of the server, a network cut. Then we wait
and try again, longer each time (1 s doubling to :data:`MAX_BACKOFF_S`, each wait jittered by
±50 %), logging the failure once and the recovery once. A stream that stays silent for
:data:`SILENT_S` (the server sends a keep-alive line every 15 s) counts as broken. ``stop()`` ends
a connection that is waiting for data at once by shutting its socket down.

Only agents with ``[sync]`` run this thread; it needs no setting of its own.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import httpx

from a2d import syncwire, timeutil
from a2d.livewire import LiveError, Snapshot
from a2d.logs import Once

from . import livestore
from .localapi import helpdesk
from .worker import Worker

log = logging.getLogger(__name__)

#: the longest wait between two attempts, and the silence after which a stream counts as broken
MAX_BACKOFF_S = 30.0
SILENT_S = 45.0
#: the largest event taken (a snapshot of 20 questions and their totals is a few kB)
MAX_EVENT_BYTES = 256 * 1024

WriteOnWriter = Callable[[Callable[[sqlite3.Connection], Any]], "Future[Any]"]


def live_path(device_id: str) -> str:
    return f"{syncwire.API}/devices/{device_id}/live"


class _Broken(Exception):
    """The stream could not be opened or broke; the text says how."""


def events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """``(event, data)`` of each server-sent event in ``lines``; a comment (``: keep-alive``) is
    ``("", "")``, so that the caller sees the stream is alive. Fields other than ``event`` and
    ``data`` are skipped."""
    name, size = "", 0
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield name or "message", "\n".join(data)
            name, data, size = "", [], 0
        elif line.startswith(":"):
            yield "", ""
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                size += len(value)
                if size > MAX_EVENT_BYTES:
                    raise _Broken(f"an event of more than {MAX_EVENT_BYTES} bytes")
                data.append(value)


class LiveClient(Worker):
    """See the module docstring. ``connect()`` makes the HTTP client (the sync client's: its token,
    TLS and pin); ``polls()`` names the pack polls whose town totals the agent wants."""

    thread_name = "a2d-live"

    def __init__(
        self,
        device_id: str,
        base_url: str,
        connect: Callable[[], httpx.Client],
        write: WriteOnWriter,
        *,
        polls: Callable[[], list[str]] = list,
        clock: Callable[[], str] = timeutil.utc_now,
        max_backoff_s: float = MAX_BACKOFF_S,
        silent_s: float = SILENT_S,
    ) -> None:
        super().__init__()
        self.device_id = device_id
        self.base_url = base_url
        self.connect = connect
        self.write = write
        self.polls = polls
        self.clock = clock
        self.max_backoff_s = max_backoff_s
        self.silent_s = silent_s
        self.failures = 0
        #: snapshots stored since the start (tests and status read it)
        self.received = 0
        #: whether the stream is open now
        self.connected = False
        self._once = Once(log)
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()

    def stop(self, timeout: float = 20) -> None:
        self._stop.set()
        self._cut()
        super().stop(timeout)

    def _cut(self) -> None:
        """Wake a read that waits on the network: shut the stream's socket down."""
        with self._lock:
            sock = self._socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def backoff(self, failures: int) -> float:
        base = min(self.max_backoff_s, 2.0 ** min(failures - 1, 10))
        return base * random.uniform(0.5, 1.5)

    def _run(self) -> None:
        with self.connect() as http:
            while not self._stop.is_set():
                try:
                    self._listen(http)
                except _Broken as exc:
                    self.connected = False
                    if self._stop.is_set():
                        return
                    self.failures += 1
                    self._once.failed("stream", "live stream from %s: %s; trying again with back-off",
                                      self.base_url, exc)  # fmt: skip
                    self._stop.wait(self.backoff(self.failures))
                    continue
                except Exception:  # noqa: BLE001 - the live thread must outlive any single surprise
                    self.connected = False
                    log.exception("live stream failed")
                    self.failures += 1
                    self._stop.wait(self.backoff(self.failures))
                    continue
                self.connected = False
                self._stop.wait(
                    random.uniform(0.2, 1.0)
                )  # the server ended it (as it does every few minutes)

    def _listen(self, http: httpx.Client) -> None:
        """One connection: store each snapshot until the server ends the stream or it breaks."""
        polls = sorted(set(self.polls()))
        timeout = httpx.Timeout(http.timeout.connect or 15.0, read=self.silent_s)
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        params = {"polls": ",".join(polls)} if polls else {}
        try:
            with http.stream("GET", live_path(self.device_id), params=params, headers=headers,
                             timeout=timeout) as r:  # fmt: skip
                if r.status_code != 200:
                    r.read()
                    raise _Broken(_refusal(r))
                self._hold(r)
                try:
                    for name, data in events(r.iter_lines()):
                        if self._stop.is_set():
                            return
                        if name == "live":
                            self._take(data)
                        elif name == "refused":
                            raise _Broken(f"the server refused the stream: {data[:200]}")
                        if sorted(set(self.polls())) != polls:
                            return  # the content pack changed: ask about its polls
                finally:
                    self._hold(None)
        except httpx.HTTPError as exc:
            raise _Broken(f"{type(exc).__name__}: {exc}") from None

    def _hold(self, r: httpx.Response | None) -> None:
        sock = None
        if r is not None:
            stream = r.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
        with self._lock:
            self._socket = sock if isinstance(sock, socket.socket) else None
        self.connected = r is not None

    def _take(self, data: str) -> None:
        try:
            snap = Snapshot.from_json(json.loads(data))
        except (ValueError, LiveError) as exc:
            raise _Broken(f"the server sent a live snapshot we cannot read: {exc}") from None
        heard = self.clock()

        def keep(db: sqlite3.Connection) -> list[str]:
            livestore.keep(db, snap, heard)
            return helpdesk.close_from_server(db, snap.help_closed, heard)

        closed = self.write(keep).result(timeout=30)
        if closed:
            log.info("help request(s) %s closed by staff on the server", ", ".join(closed))
        self.received += 1
        if self.failures:
            self.failures = 0
        self._once.recovered("stream", "live stream from %s works again", self.base_url)
        log.debug("live snapshot: %d open question(s)", len(snap.questions))


def _refusal(r: httpx.Response) -> str:
    if r.status_code in (401, 403):
        return f"the server refused this device's token (HTTP {r.status_code})"
    if r.status_code == 404:
        return "the server has no live stream (HTTP 404: an older server?)"
    try:
        detail = r.json().get("detail", "")
    except (ValueError, AttributeError):
        detail = ""
    return f"HTTP {r.status_code}" + (f": {str(detail)[:200]}" if detail else "")
