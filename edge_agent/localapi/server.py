"""The local API's server: asyncio streams on one thread, the handlers in a small thread pool.

A slow client costs a few kilobytes, not a thread. One thread (``a2d-api``) runs an event loop
that accepts connections, reads each request head and body, applies :class:`.guard.Guard` and
writes the answers; the handlers, which read SQLite or wait for the agent's writer, run in
:data:`WORKERS` threads (``a2d-api-worker``); ``GET /v1/healthz`` (public and quick) runs on the
loop itself, so it answers even while every worker waits.

A listener never waits forever on a client (the Pi has one API for all its kiosks):

- at most :data:`MAX_CONNECTIONS` connections in all and :data:`MAX_PER_CLIENT` per client
  address; beyond that a new connection is closed at once (before any TLS handshake);
- the TLS handshake and then the request head must each arrive within :data:`HEADER_TIMEOUT_S`,
  a body within :data:`BODY_TIMEOUT_S`, an answer must be taken within :data:`WRITE_TIMEOUT_S`;
  a kept-alive connection idle for :data:`IDLE_TIMEOUT_S` is closed;
- a head over :data:`.http.MAX_HEAD_BYTES` is 431, a body over
  :data:`a2d.localapi.MAX_BODY_BYTES` 413 (up to :data:`DRAIN_BYTES` of it is read away first so
  the client hears the answer).

:meth:`JsonServer.close` stops accepting, ends every open connection and waits for the loop's
thread and the workers, so nothing outlives the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlsplit

from a2d import __version__
from a2d.localapi import MAX_BODY_BYTES

from .guard import Guard
from .http import MAX_HEAD_BYTES, Head, HttpError, Request, Response, Router, content_length, parse_head

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 128
#: a kiosk needs one or two; a laptop on the LAN opening hundreds gets these and no more
MAX_PER_CLIENT = 16
HEADER_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 30.0
BODY_TIMEOUT_S = 10.0
WRITE_TIMEOUT_S = 10.0
WORKERS = 4
DRAIN_BYTES = 1 << 20
#: a refused connection is logged once per client and this many seconds
REPEAT_WARNING_S = 3600.0
SERVER = f"a2d-edge/{__version__}"


class JsonServer:
    """Serves a :class:`.http.Router` behind a :class:`.guard.Guard`; HTTPS when given ``tls``."""

    def __init__(
        self, address: tuple[str, int], router: Router, guard: Guard, *, tls: ssl.SSLContext | None = None
    ) -> None:
        host, port = address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind((host, port))
            self._sock.listen(128)
            self._sock.setblocking(False)
        except OSError:
            self._sock.close()
            raise
        self.router, self.guard, self.tls = router, guard, tls
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="a2d-api-worker")
        self._warned: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._open: dict[str, int] = {}

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def scheme(self) -> str:
        return "http" if self.tls is None else "https"

    def start(self) -> None:
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="a2d-api", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the local API's event loop did not start")

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, end every open connection and wait for the threads."""
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if loop is not None and stopping is not None and thread is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended already
                loop.call_soon_threadsafe(stopping.set)
            thread.join(timeout)
        else:
            self._sock.close()
        self._thread = self._loop = None
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._client, sock=self._sock, limit=MAX_HEAD_BYTES)
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await server.wait_closed()

    # --- one connection --------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername") or ("?",)
        ip, local = str(peer[0]), str((writer.get_extra_info("sockname") or ("",))[0])
        if sum(self._open.values()) >= MAX_CONNECTIONS:
            self._refused("", "the local API has %d open connections; closing new ones", MAX_CONNECTIONS)
            writer.transport.abort()
            return
        if self._open.get(ip, 0) >= MAX_PER_CLIENT:
            self._refused(
                ip, "%s holds %d connections to the local API; closing its new ones", ip, MAX_PER_CLIENT
            )
            writer.transport.abort()
            return
        self._tasks.add(task)
        self._open[ip] = self._open.get(ip, 0) + 1
        try:
            if self.tls is not None:
                await writer.start_tls(self.tls, ssl_handshake_timeout=HEADER_TIMEOUT_S)
            first = True
            while await self._exchange(reader, writer, local, first):
                first = False
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(WRITE_TIMEOUT_S):
                    await writer.wait_closed()
        except (TimeoutError, ConnectionError, ssl.SSLError, OSError, asyncio.IncompleteReadError):
            pass  # the client went away, or missed a deadline: end the connection without an answer
        except Exception:  # noqa: BLE001 - one broken connection must not take the API down
            log.exception("the local API failed on a connection from %s", ip)
        finally:
            if not writer.transport.is_closing():
                writer.transport.abort()
            self._tasks.discard(task)
            self._open[ip] -= 1
            if not self._open[ip]:
                del self._open[ip]

    def _refused(self, key: str, message: str, *args: object) -> None:
        """Log a refused connection once per client (or for the cap in all) and hour: a slow client
        that keeps coming back is one line an hour, not one per connection."""
        now = time.monotonic()
        if now - self._warned.get(key, -REPEAT_WARNING_S) < REPEAT_WARNING_S:
            log.debug(message, *args)
            return
        if len(self._warned) > 1000:  # many addresses (IPv6): forget the old ones
            self._warned = {k: t for k, t in self._warned.items() if now - t < REPEAT_WARNING_S}
        self._warned[key] = now
        log.warning(message, *args)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, local: str, first: bool
    ) -> bool:
        """Read one request and answer it; whether the connection stays open for another."""
        start = b""
        if not first:  # a kept-alive connection: wait for the next request, but not forever
            async with asyncio.timeout(IDLE_TIMEOUT_S):
                start = await reader.read(1)
            if not start:
                return False
        try:
            async with asyncio.timeout(HEADER_TIMEOUT_S):
                raw = start + await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            await self._send(
                writer, Response.error(HttpError(431, "the request head is too large")), close=True
            )
            return False
        except asyncio.IncompleteReadError:
            return False
        head: Head | None = None
        try:
            head = parse_head(raw[:-4])
            body = await self._body(reader, writer, head)
        except HttpError as exc:
            await self._send(
                writer, Response.error(exc), close=True, head_only=head is not None and head.method == "HEAD"
            )
            return False
        response = await self._respond(head, body, local)
        keep = head.keep_alive and self._stopping is not None and not self._stopping.is_set()
        await self._send(writer, response, close=not keep, head_only=head.method == "HEAD")
        return keep

    async def _body(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: Head) -> bytes:
        length = content_length(head.headers)
        if length > MAX_BODY_BYTES:
            if length <= DRAIN_BYTES:  # read it away, so that the client is not cut off mid-send
                async with asyncio.timeout(BODY_TIMEOUT_S):
                    while length > 0:
                        chunk = await reader.read(min(length, 65536))
                        if not chunk:
                            break
                        length -= len(chunk)
            raise HttpError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        if not length:
            return b""
        if (head.headers.get("Expect") or "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        async with asyncio.timeout(BODY_TIMEOUT_S):
            return await reader.readexactly(length)

    async def _respond(self, head: Head, body: bytes, local: str) -> Response:
        url = urlsplit(head.target)
        try:
            self.guard.check_host(head.headers, local)
            route, params = self.router.match(head.method, url.path)
            kiosk_id = "" if route.public else self.guard.kiosk(head.headers)
            self.guard.check_json(head.method, head.headers)
            request = Request(head.method, url.path, dict(parse_qsl(url.query)), head.headers, body, params,
                              kiosk_id)  # fmt: skip
            if route.public:
                return route.handler(request)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, route.handler, request)
        except HttpError as exc:
            return Response.error(exc)
        except Exception:  # noqa: BLE001 - one broken request must not take the API down
            log.exception("the local API failed on %s %s", head.method, url.path[:200])
            return Response.json(500, {"error": "the edge agent failed on this request; see its log"})

    async def _send(
        self, writer: asyncio.StreamWriter, response: Response, *, close: bool, head_only: bool = False
    ) -> None:
        writer.write(response.encode(head_only=head_only, close=close, server=SERVER))
        async with asyncio.timeout(WRITE_TIMEOUT_S):
            await writer.drain()
