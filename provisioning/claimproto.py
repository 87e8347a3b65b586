"""The claim conversation on the wire: framed JSON messages over one TCP connection.

Each message is a 4-byte big-endian length and that many bytes of a JSON object (UTF-8); bytes
travel as base64. The admin (A) opens the connection; the device (B) answers::

    A → B  {"v": 1, "serial": S, "pA": <share>}             hello (at most 4 KiB)
    B → A  {"pB": <share>}                                  or {"error": "..."}: locked, busy, not me
    A → B  {"cA": <confirmation>}
    B → A  {"cB": <confirmation>}                            or {"error": "wrong code", "tries_left": n}
    A → B  {"bundle": seal(Ke, "a2d-claim bundle", bundle)}  (at most MAX_BUNDLE_BYTES)
    B → A  {"result": seal(Ke, "a2d-claim result", {"ok": true} | {"ok": false, "error": "..."})}

Shares and confirmations are :mod:`.spake2`'s. A confirms first: a device that answers a wrong
``cA`` has learnt nothing it could test offline, and counts the wrong code before it answers. A
checks ``cB`` before it sends the bundle, so a device that does not know the code (a fake advert)
never gets it. Neither the code nor any key is ever sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import socket
import struct
import time
from typing import Any

VERSION = 1
#: the largest hello, confirmation or answer
MAX_SMALL = 4096
#: the largest sealed bundle the device accepts (a bundle is configs, a token and keys: kilobytes)
MAX_BUNDLE_BYTES = 4 * 1024 * 1024
#: the whole conversation, from connect to result, on either side
SESSION_S = 30.0
BUNDLE_PURPOSE = b"a2d-claim bundle"
RESULT_PURPOSE = b"a2d-claim result"
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """The other side broke the protocol, was too slow, or closed the connection; the message says which."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(message: dict[str, Any], key: str) -> bytes:
    value = message.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"the message has no {key!r}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{key!r} is not base64") from None


def send(sock: socket.socket, message: dict[str, Any], deadline: float) -> None:
    body = json.dumps(message).encode()
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        sock.sendall(_HEADER.pack(len(body)) + body)
    except TimeoutError:
        raise ProtocolError("the other side did not take the message in time") from None
    except OSError as exc:
        raise ProtocolError(f"the connection broke: {exc}") from None


def _read_exactly(sock: socket.socket, n: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    left = n
    while left:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProtocolError("the other side was too slow")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(left, 65536))
        except TimeoutError:
            raise ProtocolError("the other side was too slow") from None
        except OSError as exc:
            raise ProtocolError(f"the connection broke: {exc}") from None
        if not chunk:
            raise ProtocolError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket, limit: int, deadline: float) -> dict[str, Any]:
    """The next message, at most ``limit`` bytes, before ``deadline`` (``time.monotonic``)."""
    (size,) = _HEADER.unpack(_read_exactly(sock, _HEADER.size, deadline))
    if size > limit:
        raise ProtocolError(f"a message of {size} bytes is over the limit of {limit}")
    try:
        message = json.loads(_read_exactly(sock, size, deadline))
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("a message is not JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message is not a JSON object")
    return message
