"""HTTP plumbing for the local API: a small JSON router on the standard library's HTTP server.

A thread (``a2d-api``) accepts connections; each connection gets its own thread
(``a2d-api-conn``), at most :data:`MAX_CONNECTIONS` at once. :meth:`JsonServer.close` stops
accepting, shuts the open connections down and waits for their threads, so nothing outlives
the agent. Handlers take a :class:`Request` and return a :class:`Response` or raise
:class:`HttpError`; unknown paths answer 404, a known path with another method 405, a body
over :data:`a2d.localapi.MAX_BODY_BYTES` 413, and every error is ``{"error": "<one sentence>"}``.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from a2d import __version__
from a2d.localapi import MAX_BODY_BYTES
from a2d.logs import Once

log = logging.getLogger(__name__)

#: connections served at once; more are closed at once (a kiosk needs one or two)
MAX_CONNECTIONS = 32
#: seconds an idle keep-alive connection is kept open
IDLE_TIMEOUT_S = 30.0
#: an oversize body up to this size is read and dropped before the 413; a larger one is cut off
DRAIN_BYTES = 1 << 20


class HttpError(Exception):
    """Answer with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON (``HttpError`` 400 if it is not)."""
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise HttpError(400, "the body is not valid JSON") from None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, doc: Any, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})


Handler = Callable[[Request], Response]


class Router:
    """``add("GET", "/v1/polls/{poll_id}/results", fn)``; a ``{name}`` matches one path segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        pattern = re.compile("^" + re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
        for existing, methods in self._routes:
            if existing.pattern == pattern.pattern:
                methods[method] = handler
                return
        self._routes.append((pattern, {method: handler}))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        for pattern, methods in self._routes:
            m = pattern.match(path)
            if m is None:
                continue
            if method not in methods:
                allow = ", ".join(sorted(methods))
                raise HttpError(405, f"{method} is not allowed here; use {allow}", {"Allow": allow})
            return methods[method], {k: unquote(v) for k, v in m.groupdict().items()}
        raise HttpError(404, f"there is no {path}")


class _RequestHandler(BaseHTTPRequestHandler):
    server: JsonServer
    protocol_version = "HTTP/1.1"
    server_version = f"a2d-edge/{__version__}"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S
    error_content_type = "application/json"
    error_message_format = '{"error": "%(message)s"}'

    def do_GET(self) -> None:  # noqa: N802 - the standard library's naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle("HEAD")

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._handle("OPTIONS")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        try:
            handler, params = self.server.router.match(method, url.path)
            body = self._read_body()
            request = Request(method, url.path, dict(parse_qsl(url.query)), self.headers, body, params)
            response = handler(request)
        except HttpError as exc:
            response = Response.json(exc.status, {"error": exc.message}, exc.headers)
        except Exception:  # noqa: BLE001 - one broken request must not take the API down
            log.exception("the local API failed on %s %s", method, url.path[:200])
            response = Response.json(500, {"error": "the edge agent failed on this request; see its log"})
        self._send(response)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise HttpError(411, "send the body with a Content-Length, not in chunks")
        text = self.headers.get("Content-Length") or "0"
        try:
            length = int(text)
        except ValueError:
            self.close_connection = True
            raise HttpError(400, "the Content-Length is not a number") from None
        if length < 0:
            self.close_connection = True
            raise HttpError(400, "the Content-Length is negative")
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the connection cannot be reused
            if length <= DRAIN_BYTES:  # read it away, so that the client is not cut off mid-send
                while length > 0:
                    chunk = self.rfile.read(min(length, 65536))
                    if not chunk:
                        break
                    length -= len(chunk)
            raise HttpError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        body = b"" if response.status == 304 else response.body
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)


class JsonServer(HTTPServer):
    """Serves a :class:`Router`; one thread per connection, all of them ended by :meth:`close`."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], router: Router) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.router = router
        self._conns: dict[threading.Thread, socket.socket] = {}
        self._lock = threading.Lock()
        self._once = Once(log)
        self._thread: threading.Thread | None = None
        super().__init__(address, _RequestHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="a2d-api", daemon=True
        )
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, end every open connection and wait for the threads."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout)
            self._thread = None
        with self._lock:
            conns = dict(self._conns)
        for sock in conns.values():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in conns:
            t.join(timeout)
        self.server_close()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            busy = len(self._conns) >= MAX_CONNECTIONS
            if not busy:
                t = threading.Thread(
                    target=self._serve_connection, args=(request, client_address), name="a2d-api-conn",
                    daemon=True,
                )  # fmt: skip
                self._conns[t] = request
        if busy:
            self._once.failed(
                "busy", "the local API has %d open connections; closing new ones", MAX_CONNECTIONS
            )
            self.shutdown_request(request)
            return
        self._once.recovered("busy", "the local API accepts connections again")
        t.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except OSError:
            pass  # the client went away, or close() ended the connection
        except Exception:  # noqa: BLE001 - log it, keep serving others
            log.exception("the local API failed on a connection from %s", client_address[0])
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._conns.pop(threading.current_thread(), None)
