"""The admin's side of one claim: prove the code to the device, check its proof, send the bundle.

:func:`claim` talks :mod:`.claimproto` to one device address. It sends the bundle only after the
device proved it knows the code too (its confirmation), so a fake ``_a2d-setup._tcp`` advert on the
LAN gets at most one guess at the code and never the bundle. Every refusal is a
:class:`ClaimError` with a sentence the admin can act on.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

from a2d import claimwire
from a2d.errors import KnownError

from . import claimproto as proto
from .spake2 import PakeError, Session, seal, unseal


class ClaimError(KnownError):
    """The claim did not go through; the message says why."""


Bundle = bytes | Callable[[], bytes]


def claim(
    host: str, port: int, serial: str, code: str, bundle: Bundle, *, timeout: float = proto.SESSION_S
) -> None:
    """Send ``bundle`` to the device ``serial`` at ``host:port`` if it knows ``code``.

    ``bundle`` may be a function that makes it: it is called only once the device proved the code
    (the admin's side registers the device at the server then, not for a mistyped code)."""
    if not claimwire.valid_code(code):
        raise ClaimError(f"a claim code is {claimwire.CODE_DIGITS} digits, as the device's screen shows it")
    if isinstance(bundle, bytes):
        _check_size(bundle)
    deadline = time.monotonic() + timeout
    try:
        conn = socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic()))
    except OSError as exc:
        raise ClaimError(f"cannot reach the device at {host}:{port}: {exc}") from None
    try:
        with conn:
            _talk(conn, serial, code, bundle, deadline)
    except proto.ProtocolError as exc:
        raise ClaimError(f"the claim broke off: {exc}") from None


def _check_size(bundle: bytes) -> None:
    if len(bundle) > proto.MAX_BUNDLE_BYTES:
        raise ClaimError(
            f"the bundle is {len(bundle)} bytes; a device takes at most {proto.MAX_BUNDLE_BYTES}"
        )


def _answer(conn: socket.socket, deadline: float, key: str) -> bytes:
    message = proto.receive(conn, proto.MAX_SMALL, deadline)
    if "error" in message:
        raise ClaimError(f"the device refused: {str(message['error'])[:300]}")
    return proto.unb64(message, key)


def _talk(conn: socket.socket, serial: str, code: str, bundle: Bundle, deadline: float) -> None:
    run = Session("admin", code, serial)
    proto.send(conn, {"v": proto.VERSION, "serial": serial, "pA": proto.b64(run.share)}, deadline)
    try:
        keys = run.finish(_answer(conn, deadline, "pB"))
    except PakeError as exc:
        raise ClaimError(f"the device's key exchange is broken: {exc}") from None
    proto.send(conn, {"cA": proto.b64(keys.mine)}, deadline)
    if not keys.confirms(_answer(conn, deadline, "cB")):
        raise ClaimError(
            f"the device answering as {serial} does not know the code: it is not the device whose screen you read"
        )
    if not isinstance(bundle, bytes):
        bundle = bundle()
        _check_size(bundle)
    proto.send(conn, {"bundle": proto.b64(seal(keys.key, proto.BUNDLE_PURPOSE, bundle))}, deadline)
    message = proto.receive(conn, proto.MAX_SMALL, deadline)
    if "error" in message:
        raise ClaimError(f"the device refused the bundle: {str(message['error'])[:300]}")
    try:
        result = json.loads(unseal(keys.key, proto.RESULT_PURPOSE, proto.unb64(message, "result")))
    except (PakeError, ValueError) as exc:
        raise ClaimError(f"the device's answer did not authenticate: {exc}") from None
    if not isinstance(result, dict) or result.get("ok") is not True:
        error = result.get("error") if isinstance(result, dict) else None
        raise ClaimError(str(error or "the device did not install the bundle")[:300])
