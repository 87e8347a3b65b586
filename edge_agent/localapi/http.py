"""HTTP/1.1 as the local API speaks it: requests, responses, errors, the router, the request head.

Only what kiosks and ``curl`` need: a request line, headers (at most :data:`MAX_HEAD_BYTES`, no
line folding), a body with a ``Content-Length`` (no chunks), keep-alive. Handlers take a
:class:`Request` and return a :class:`Response` or raise :class:`HttpError`; every error is
``{"error": "<one sentence>"}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

#: the request line and headers together, at most (a kiosk sends a few hundred bytes)
MAX_HEAD_BYTES = 8192
MAX_HEADERS = 64
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


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
    #: the kiosk whose token came with the request ("" on a public route)
    kiosk_id: str = ""

    def json(self) -> Any:
        """The body as JSON (``HttpError`` 400 if it is not)."""
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(400, "the body is not valid JSON") from exc


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, doc: Any, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def error(cls, exc: HttpError) -> Response:
        return cls.json(exc.status, {"error": exc.message}, exc.headers)

    def encode(self, *, head_only: bool, close: bool, server: str) -> bytes:
        """The response as bytes on the wire (no body for HEAD and 304)."""
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        body = b"" if self.status == 304 else self.body
        lines = [f"HTTP/1.1 {self.status} {reason}", f"Server: {server}",
                 f"Date: {format_datetime(datetime.now(UTC), usegmt=True)}"]  # fmt: skip
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        if close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head if head_only else head + body


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    handler: Handler
    #: open to anyone (no kiosk token); such a handler must be quick, it runs on the event loop
    public: bool = False


class Router:
    """``add("GET", "/v1/polls/{poll_id}/results", fn)``; a ``{name}`` matches one path segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], dict[str, Route]]] = []

    def add(self, method: str, template: str, handler: Handler, *, public: bool = False) -> None:
        pattern = re.compile("^" + re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
        for existing, methods in self._routes:
            if existing.pattern == pattern.pattern:
                methods[method] = Route(handler, public)
                return
        self._routes.append((pattern, {method: Route(handler, public)}))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        for pattern, methods in self._routes:
            m = pattern.match(path)
            if m is None:
                continue
            if method not in methods:
                allow = ", ".join(sorted(methods))
                raise HttpError(405, f"{method} is not allowed here; use {allow}", {"Allow": allow})
            return methods[method], {k: unquote(v) for k, v in m.groupdict().items()}
        raise HttpError(404, f"there is no {path[:200]}")


@dataclass(frozen=True)
class Head:
    """A parsed request line and its headers."""

    method: str
    target: str
    version: str
    headers: Message

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in (self.headers.get("Connection") or "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


def parse_head(data: bytes) -> Head:
    """The head of a request, without its final empty line (``HttpError`` 400 if it is no HTTP)."""
    text = data.decode("latin-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1]:
        raise HttpError(400, "this is not an HTTP/1.1 request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(505, "this API speaks HTTP/1.1")
    if len(lines) - 1 > MAX_HEADERS:
        raise HttpError(431, f"more than {MAX_HEADERS} headers")
    headers = Message()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.match(name):
            raise HttpError(400, "a header line is malformed")
        headers[name] = value.strip(" \t")
    return Head(method, target, version, headers)


def content_length(headers: Message) -> int:
    """The body's length (``HttpError`` 411 for chunks, 400 for a bad value)."""
    if headers.get("Transfer-Encoding"):
        raise HttpError(411, "send the body with a Content-Length, not in chunks")
    values = headers.get_all("Content-Length") or ["0"]
    if len(set(values)) != 1 or not values[0].isdigit():
        raise HttpError(400, "the Content-Length is not a number")
    return int(values[0])
